/**
 * Pair keys: what this client shares with each peer, from X25519 + HKDF-SHA-256 (wrapKey for room
 * key shares, dmKey for direct messages), or after a successful BB84 session the hybrid
 * HKDF(X25519 secret ‖ QKD key), so security never drops below X25519.
 *
 * The switch to hybrid keys takes two steps: stage() on local success (the candidate keys open
 * things at once, the peer may switch first), commit() on the server's verdict. The keys before the
 * switch stay usable for opening, so nothing in flight across it is lost (candidates()).
 *
 * The identity's other clients (its other tabs) share the hybrid keys through a PairKeyStore
 * (issue 14): the client that ran the session stages and commits them there too; another tab that
 * follows the session takes them on the same verdict (adoptShared), and any tab takes committed
 * keys it finds there, now (a store notification) or later (a reload, a tab opened afterwards).
 * Only non-extractable CryptoKeys go there, and the keys' bytes for the identity's key backup,
 * which the store keeps wrapped at rest; never the QKD key's bytes. The store also keeps the keys
 * of earlier sessions a later one replaced (`past`), tried last, so history sealed under them opens.
 */
import { derivePairKeys, verifyMember, type Identity, type PairKeys } from "@/lib/crypto";
import type { MemberInfo } from "@/lib/protocol";
import type { QkdPairView } from "../bb84-types";
import { pairKeyBoundTo as boundTo, type PairKeyStore, type SharedPairKey, type SharedPairKeys } from "../persist";
import type { RoomView } from "../types";
import type { ClientStateStore } from "./client-state";

/** A key set to try when opening something from a peer, and whether it is the hybrid one. */
export interface PairCandidate {
  keys: PairKeys;
  hybrid: boolean;
}

interface PairEntry {
  peerId: string;
  signingKey: string;
  agreementKey: string;
  keys: Promise<PairKeys>;
  hybrid: boolean;
  /** Hybrid keys of a BB84 session that succeeded here and awaits the server's verdict (decrypt only). */
  pending: { sessionId: string; keys: Promise<PairKeys>; info: QkdPairView } | null;
  /** The keys before the last switch (decrypt only), so messages in flight across it still open. */
  previous: Promise<PairKeys> | null;
  /** Earlier sessions' hybrid keys from the store, bound to the peer's current keys (decrypt only). */
  past: PairKeys[];
  qkd: QkdPairView | null;
}

export interface PairKeyringDeps {
  identity: Identity;
  store: Pick<ClientStateStore, "rooms" | "setRooms">;
  /** The hybrid keys shared with this identity's other clients (tabs). */
  shared: PairKeyStore;
}

/** The store's past keys with a peer that its current public keys still bind. */
function pastKeys(got: SharedPairKeys, peer: { signingKey: string; agreementKey: string }): PairKeys[] {
  return (got.past ?? []).filter((k) => boundTo(k, peer)).map((k) => ({ wrapKey: k.wrapKey, dmKey: k.dmKey, hybrid: true }));
}

/** The public keys of a member that pair keys are derived from. */
export function peerKeys(m: MemberInfo) {
  return { userId: m.userId, signingKey: m.signingKey, agreementKey: m.agreementKey, agreementSig: m.agreementSig };
}

export class PairKeyring {
  private pairs = new Map<string, PairEntry>();
  /** Another client's staged keys per peer (a session awaiting its verdict there): decryption only. */
  private sharedPending = new Map<string, SharedPairKey>();
  /** Store notifications are applied in order; opening something waits for those already notified. */
  private refreshing: Promise<void> = Promise.resolve();
  /** Waiters for the next store notification (adoptShared). */
  private waiters = new Set<() => void>();
  private readonly unwatch: () => void;

  constructor(private readonly deps: PairKeyringDeps) {
    this.unwatch = deps.shared.watch((peerId) => this.refresh(peerId));
  }

  private closed = false;

  /** Stops listening to the shared store (the client closed); a wait for shared keys gives up. */
  close(): void {
    this.closed = true;
    this.unwatch();
    for (const w of [...this.waiters]) w();
  }

  /** The pair's keys (cached per peer; re-derived when the peer's keys differ). */
  keysFor(peer: MemberInfo): Promise<PairKeys> {
    let entry = this.pairs.get(peer.userId);
    if (!entry || entry.signingKey !== peer.signingKey || entry.agreementKey !== peer.agreementKey) {
      entry = this.newEntry(peer, undefined);
      this.pairs.set(peer.userId, entry);
    }
    return entry.keys;
  }

  /**
   * Keys to try when opening something from a peer: the pair's current keys, then the candidate
   * hybrid keys of a session awaiting its verdict, then the keys before the last switch, then those
   * of earlier sessions (newest first). The peer may switch a moment before or after us; nothing in
   * flight across the switch is lost, nor history sealed before it.
   */
  async candidates(peer: MemberInfo): Promise<PairCandidate[]> {
    const current = await this.keysFor(peer);
    await this.refreshing;
    const entry = this.pairs.get(peer.userId);
    const now = (await entry?.keys.catch(() => undefined)) ?? current;
    const out = [{ keys: now, hybrid: now.hybrid }];
    const other = this.sharedPending.get(peer.userId);
    const fromOther = other && boundTo(other, peer) ? Promise.resolve<PairKeys>({ wrapKey: other.wrapKey, dmKey: other.dmKey, hybrid: true }) : undefined;
    for (const p of [entry?.pending?.keys, fromOther, entry?.previous ?? undefined]) {
      if (!p) continue;
      try {
        const k = await p;
        out.push({ keys: k, hybrid: k.hybrid });
      } catch {
        /* a failed derivation is simply not a candidate */
      }
    }
    for (const k of [...(entry?.past ?? [])].reverse()) out.push({ keys: k, hybrid: true });
    return out;
  }

  /** Whether the pair keys with a peer are hybrid; undefined before any were derived. */
  isHybrid(peerId: string): boolean | undefined {
    return this.pairs.get(peerId)?.hybrid;
  }

  /** Local success of a BB84 session: derive the candidate hybrid keys now (used for decryption only). */
  async stage(peer: MemberInfo, sessionId: string, qkdKey: Uint8Array, info: { qber: number | null; keyBits: number }): Promise<void> {
    await this.keysFor(peer); // the entry for the peer's current keys
    const entry = this.pairs.get(peer.userId)!;
    const copy = qkdKey.slice();
    const withBytes = Promise.resolve().then(() => derivePairKeys(this.deps.identity, peerKeys(peer), copy, true));
    const keys = withBytes.then(({ wrapKey, dmKey, hybrid }): PairKeys => ({ wrapKey, dmKey, hybrid }));
    const pendingInfo: QkdPairView = { hardened: true, sessionId, qber: info.qber, keyBits: info.keyBits, at: new Date().toISOString() };
    entry.pending = { sessionId, keys, info: pendingInfo };
    let derived: Awaited<typeof withBytes>;
    try {
      derived = await withBytes;
    } finally {
      copy.fill(0); // the derived AES keys live inside WebCrypto; the raw bytes need not
    }
    // The identity's other tabs may open with them too from now on (decryption only, as here); the
    // store keeps the keys' bytes only wrapped at rest, for the key backup.
    try {
      await this.deps.shared
        .stage(
          {
            peerId: peer.userId,
            signingKey: peer.signingKey,
            agreementKey: peer.agreementKey,
            wrapKey: derived.wrapKey,
            dmKey: derived.dmKey,
            info: pendingInfo,
          },
          derived.bytes,
        )
        .catch(() => undefined);
    } finally {
      derived.bytes.wrapKey.fill(0);
      derived.bytes.dmKey.fill(0);
    }
  }

  /** The server's verdict: the candidate keys become the pair's keys (success) or are dropped. */
  async commit(peerId: string, sessionId: string, success: boolean): Promise<void> {
    const entry = this.pairs.get(peerId);
    if (!entry || entry.pending?.sessionId !== sessionId) return;
    const pending = entry.pending;
    entry.pending = null;
    let keys: PairKeys | null = null;
    if (success) keys = await pending.keys.catch(() => null);
    if (keys) {
      entry.previous = entry.keys;
      entry.keys = Promise.resolve(keys);
      entry.hybrid = true;
      entry.qkd = { ...pending.info, at: new Date().toISOString() };
      this.refreshQkdViews(peerId);
    }
    // Then for the identity's other tabs (after the switch here, so ours is not taken twice).
    await this.deps.shared.commit(peerId, sessionId, success).catch(() => undefined);
  }

  /**
   * The server's success verdict on a session another client of this identity ran (another tab):
   * the keys it shared for that session become the pair's keys here as well. Waits up to `waitMs`
   * for them to be shared; false when they never were (they stay in the other tab only).
   */
  async adoptShared(peer: MemberInfo, sessionId: string, waitMs: number): Promise<boolean> {
    await this.keysFor(peer).catch(() => undefined);
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Listening before reading, so a change between the two is not missed.
      const next = this.nextChange(Math.max(0, deadline - Date.now()));
      const got = await this.deps.shared.get(peer.userId).catch(() => ({}) as { current?: SharedPairKey; pending?: SharedPairKey });
      const k = [got.current, got.pending].find((x) => x && x.info.sessionId === sessionId && boundTo(x, peer));
      if (k || Date.now() >= deadline) next.cancel();
      if (k) {
        this.install(peer.userId, k);
        // The tab that ran it commits too; whichever comes first makes them the store's current keys.
        await this.deps.shared.commit(peer.userId, sessionId, true).catch(() => undefined);
        return true;
      }
      if (Date.now() >= deadline || this.closed) {
        next.cancel();
        return false;
      }
      await next.changed;
    }
  }

  /** Resolves at the next store notification, or after ms (cancel: now). */
  private nextChange(ms: number): { changed: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const changed = new Promise<void>((resolve) => {
      done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
    });
    const timer = setTimeout(done, ms);
    this.waiters.add(done);
    return { changed, cancel: done };
  }

  /** A peer's keys changed in the shared store (this or another client): take committed keys of another session, note staged ones. */
  private refresh(peerId: string) {
    this.refreshing = this.refreshing
      .then(async () => {
        const got = await this.deps.shared.get(peerId).catch(() => ({}) as { current?: SharedPairKey; pending?: SharedPairKey });
        const entry = this.pairs.get(peerId);
        if (got.pending && (!entry || entry.pending?.sessionId !== got.pending.info.sessionId)) this.sharedPending.set(peerId, got.pending);
        else this.sharedPending.delete(peerId);
        if (!entry) return; // keysFor reads the store when the pair is first needed
        await entry.keys.catch(() => undefined);
        entry.past = pastKeys(got, entry);
        if (got.current && boundTo(got.current, entry)) this.install(peerId, got.current);
      })
      .catch(() => undefined);
    for (const w of [...this.waiters]) w();
  }

  /** Makes shared keys the pair's keys (the previous ones stay usable for opening). */
  private install(peerId: string, k: SharedPairKey) {
    const entry = this.pairs.get(peerId);
    if (!entry || !boundTo(k, entry) || entry.qkd?.sessionId === k.info.sessionId) return;
    if (entry.pending?.sessionId === k.info.sessionId) entry.pending = null;
    if (this.sharedPending.get(peerId)?.info.sessionId === k.info.sessionId) this.sharedPending.delete(peerId);
    entry.previous = entry.keys;
    entry.keys = Promise.resolve({ wrapKey: k.wrapKey, dmKey: k.dmKey, hybrid: true });
    entry.hybrid = true;
    entry.qkd = { ...k.info };
    this.refreshQkdViews(peerId);
  }

  /** The member's QKD-hardening as shown in member lists (null unless hardened under its current keys). */
  qkdView(m: MemberInfo): QkdPairView | null {
    const entry = this.pairs.get(m.userId);
    if (!entry || entry.signingKey !== m.signingKey || entry.agreementKey !== m.agreementKey) return null;
    return entry.qkd;
  }

  private newEntry(peer: MemberInfo, qkdKey: Uint8Array | undefined): PairEntry {
    const entry: PairEntry = {
      peerId: peer.userId,
      signingKey: peer.signingKey,
      agreementKey: peer.agreementKey,
      hybrid: false,
      keys: undefined as unknown as Promise<PairKeys>,
      pending: null,
      previous: null,
      past: [],
      qkd: null,
    };
    // Hybrid keys this identity committed with this peer's current keys (in this or another tab,
    // now or before a reload, or restored from a key backup) are the pair's keys; the X25519 ones
    // stay usable for opening, and so do earlier sessions' keys. Keys the peer's current public
    // keys no longer bind (and past keys older than any stored history) are dropped from the store
    // first: nothing can open with them any more. Only for keys that are the peer's own (user id
    // and signed agreement key), so a server listing forged keys cannot make us drop real ones.
    const shared =
      qkdKey === undefined
        ? verifyMember(peerKeys(peer))
            .then((own) => (own ? this.deps.shared.prune(peerKeys(peer)) : undefined))
            .catch(() => undefined)
            .then(() => this.deps.shared.get(peer.userId))
            .then(
              (got) => {
                entry.past = pastKeys(got, peer);
                return got.current && boundTo(got.current, peer) ? got.current : undefined;
              },
              () => undefined,
            )
        : Promise.resolve(undefined);
    entry.keys = shared.then(async (k) => {
      if (k && this.pairs.get(peer.userId) === entry) {
        entry.previous = Promise.resolve().then(() => derivePairKeys(this.deps.identity, peerKeys(peer)));
        entry.previous.catch(() => undefined);
        entry.hybrid = true;
        entry.qkd = { ...k.info };
        queueMicrotask(() => this.refreshQkdViews(peer.userId));
        return { wrapKey: k.wrapKey, dmKey: k.dmKey, hybrid: true };
      }
      const derived = await derivePairKeys(this.deps.identity, peerKeys(peer), qkdKey);
      entry.hybrid = !!derived.hybrid;
      return derived;
    });
    entry.keys.catch(() => {
      if (this.pairs.get(peer.userId) === entry) this.pairs.delete(peer.userId); // retry next time
    });
    return entry;
  }

  private refreshQkdViews(peerId: string) {
    const rooms: Record<string, RoomView> = {};
    for (const [roomId, v] of Object.entries(this.deps.store.rooms)) {
      rooms[roomId] = v.members.some((m) => m.userId === peerId)
        ? { ...v, members: v.members.map((m) => (m.userId === peerId ? { ...m, qkd: this.qkdView(m) } : m)) }
        : v;
    }
    this.deps.store.setRooms(rooms);
  }
}
