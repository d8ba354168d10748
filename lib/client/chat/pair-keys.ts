/**
 * Pair keys: what this client shares with each peer, from X25519 + HKDF-SHA-256 (wrapKey for room
 * key shares, dmKey for direct messages), or after a successful BB84 session the hybrid
 * HKDF(X25519 secret ‖ QKD key), so security never drops below X25519.
 *
 * The switch to hybrid keys takes two steps: stage() on local success (the candidate keys open
 * things at once, the peer may switch first), commit() on the server's verdict. The keys before the
 * switch stay usable for opening, so nothing in flight across it is lost (candidates()).
 */
import { derivePairKeys, type Identity } from "@/lib/crypto";
import type { MemberInfo } from "@/lib/protocol";
import type { QkdPairView } from "../bb84-types";
import type { RoomView } from "../types";
import type { ClientStateStore } from "./client-state";

export type PairKeys = Awaited<ReturnType<typeof derivePairKeys>>;

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
  qkd: QkdPairView | null;
}

export interface PairKeyringDeps {
  identity: Identity;
  store: Pick<ClientStateStore, "rooms" | "setRooms">;
}

/** The public keys of a member that pair keys are derived from. */
export function peerKeys(m: MemberInfo) {
  return { userId: m.userId, signingKey: m.signingKey, agreementKey: m.agreementKey, agreementSig: m.agreementSig };
}

export class PairKeyring {
  private pairs = new Map<string, PairEntry>();

  constructor(private readonly deps: PairKeyringDeps) {}

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
   * hybrid keys of a session awaiting its verdict, then the keys before the last switch. The peer
   * may switch a moment before or after us; nothing in flight across the switch is lost.
   */
  async candidates(peer: MemberInfo): Promise<PairCandidate[]> {
    const current = await this.keysFor(peer);
    const entry = this.pairs.get(peer.userId);
    const out = [{ keys: current, hybrid: current.hybrid }];
    for (const p of [entry?.pending?.keys, entry?.previous ?? undefined]) {
      if (!p) continue;
      try {
        const k = await p;
        out.push({ keys: k, hybrid: k.hybrid });
      } catch {
        /* a failed derivation is simply not a candidate */
      }
    }
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
    const keys = Promise.resolve().then(() => derivePairKeys(this.deps.identity, peerKeys(peer), copy));
    entry.pending = { sessionId, keys, info: { hardened: true, sessionId, qber: info.qber, keyBits: info.keyBits, at: new Date().toISOString() } };
    try {
      await keys;
    } finally {
      copy.fill(0); // the derived AES keys live inside WebCrypto; the raw bytes need not
    }
  }

  /** The server's verdict: the candidate keys become the pair's keys (success) or are dropped. */
  async commit(peerId: string, sessionId: string, success: boolean): Promise<void> {
    const entry = this.pairs.get(peerId);
    if (!entry || entry.pending?.sessionId !== sessionId) return;
    const pending = entry.pending;
    entry.pending = null;
    if (!success) return;
    let keys: PairKeys;
    try {
      keys = await pending.keys;
    } catch {
      return;
    }
    entry.previous = entry.keys;
    entry.keys = Promise.resolve(keys);
    entry.hybrid = true;
    entry.qkd = { ...pending.info, at: new Date().toISOString() };
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
      qkd: null,
    };
    entry.keys = Promise.resolve()
      .then(() => derivePairKeys(this.deps.identity, peerKeys(peer), qkdKey))
      .then((k) => {
        entry.hybrid = !!k.hybrid;
        return k;
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
