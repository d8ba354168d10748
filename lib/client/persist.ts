/**
 * What a ChatClient keeps across reloads and tabs, behind two small interfaces (issue 12):
 *   - EpochKeyStore: the room keys (one per room epoch) this member has held, so stored history
 *     decrypts after a reload. The browser implements it over IndexedDB with non-extractable
 *     CryptoKeys (and an at-rest wrapped copy for key backup); Node and tests use the memory one.
 *   - CounterStore: message counters reserved atomically, so several tabs of one identity never
 *     stamp the same (sender, scope, counter).
 *   - PairKeyStore (issue 14): the QKD-hardened pair keys of a BB84 session, so every tab of the
 *     identity uses them, not only the tab that ran the session (and a reload keeps them), and a
 *     key backup carries them. The browser implements it over IndexedDB (non-extractable
 *     CryptoKeys, and an at-rest wrapped copy for key backup) and a BroadcastChannel.
 * All default to memory; lib/client never touches IndexedDB itself (the browser layer injects).
 */
import { importPairKeys, type PairKeyBytes } from "@/lib/crypto";
import { LIMITS } from "@/lib/protocol";
import type { QkdPairView } from "./bb84-types";

export interface EpochKeyStore {
  /** Stores the 32-byte AES-256-GCM key of (roomId, epoch); a second put of the same pair is a no-op. */
  put(roomId: string, epoch: number, raw: Uint8Array): Promise<void>;
  /** The key as a non-extractable AES-GCM CryptoKey, or undefined if this member never held it. */
  get(roomId: string, epoch: number): Promise<CryptoKey | undefined>;
  /** The epochs of a room this store holds a key for, ascending. */
  epochs(roomId: string): Promise<number[]>;
  /** Forgets every key of a room (the member left it, or its history expired). */
  deleteRoom(roomId: string): Promise<void>;
}

/** One epoch key in the clear, only ever inside a key backup being built or restored (issue 12, item 5). */
export interface EpochKeyExport {
  roomId: string;
  epoch: number;
  raw: Uint8Array;
}

/** A store that can hand its keys to a key backup and take them back from one. */
export interface ExportableEpochKeyStore extends EpochKeyStore {
  exportAll(): Promise<EpochKeyExport[]>;
  importAll(keys: EpochKeyExport[]): Promise<void>;
}

export interface CounterStore {
  /**
   * Reserves `n` consecutive counters for `userId`, none of them handed out before by any client
   * sharing this store, and returns the first. Counters only grow across reloads.
   */
  reserve(userId: string, n: number): Promise<number>;
}

/** In memory (Node, tests): keeps the raw bytes beside the CryptoKey only so exportAll() works. */
export class MemoryEpochKeyStore implements ExportableEpochKeyStore {
  private keys = new Map<string, Map<number, { key: CryptoKey; raw: Uint8Array }>>();
  async put(roomId: string, epoch: number, raw: Uint8Array): Promise<void> {
    const room = this.keys.get(roomId) ?? new Map<number, { key: CryptoKey; raw: Uint8Array }>();
    this.keys.set(roomId, room);
    if (room.has(epoch)) return;
    const key = await globalThis.crypto.subtle.importKey("raw", new Uint8Array(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    room.set(epoch, { key, raw: new Uint8Array(raw) });
  }
  async get(roomId: string, epoch: number): Promise<CryptoKey | undefined> {
    return this.keys.get(roomId)?.get(epoch)?.key;
  }
  async exportAll(): Promise<EpochKeyExport[]> {
    return [...this.keys].flatMap(([roomId, room]) => [...room].map(([epoch, e]) => ({ roomId, epoch, raw: new Uint8Array(e.raw) })));
  }
  async importAll(keys: EpochKeyExport[]): Promise<void> {
    for (const k of keys) await this.put(k.roomId, k.epoch, k.raw);
  }
  async epochs(roomId: string): Promise<number[]> {
    return [...(this.keys.get(roomId)?.keys() ?? [])].sort((a, b) => a - b);
  }
  async deleteRoom(roomId: string): Promise<void> {
    this.keys.delete(roomId);
  }
}

/** Counters seeded from the clock (microseconds since the epoch), so a fresh store still never goes back. */
export class MemoryCounterStore implements CounterStore {
  private next = new Map<string, number>();
  async reserve(userId: string, n: number): Promise<number> {
    const start = Math.max(this.next.get(userId) ?? 0, Date.now() * 1000);
    this.next.set(userId, start + n);
    return start;
  }
}

/**
 * The hybrid pair keys of one successful (or staged) BB84 session with a peer: the two AES-256-GCM
 * keys HKDF(X25519 secret ‖ QKD key) gave, as non-extractable CryptoKeys (never their bytes, nor
 * the QKD key's), bound to the peer's public keys they were derived with.
 */
export interface SharedPairKey {
  peerId: string;
  signingKey: string;
  agreementKey: string;
  wrapKey: CryptoKey;
  dmKey: CryptoKey;
  /** The session, its QBER and final key length. */
  info: QkdPairView;
}

/** A peer's shared keys: the committed ones, those of a session awaiting its verdict, and earlier sessions' keys. */
export interface SharedPairKeys {
  current?: SharedPairKey;
  pending?: SharedPairKey;
  /** Keys a later session replaced, oldest first: direct messages and shares sealed under them still open. */
  past?: SharedPairKey[];
}

/** One committed session's keys in the clear, only ever inside a key backup being built or restored. */
export interface PairKeyExport extends PairKeyBytes {
  peerId: string;
  signingKey: string;
  agreementKey: string;
  info: QkdPairView;
}

/**
 * Where the tab that ran a BB84 session leaves its hybrid pair keys for the identity's other
 * clients (tabs): staged on the session's local success (the others may open with them at once,
 * decryption only), committed or dropped on the server's verdict. Another tab that saw the same
 * verdict takes them from here. A key backup exports the committed keys and a restore imports them.
 */
export interface PairKeyStore {
  /**
   * A session's candidate keys (replaces any pending ones for that peer). `bytes`, the same keys'
   * bytes, are kept only wrapped at rest, for exportAll(); the caller wipes them afterwards.
   */
  stage(key: SharedPairKey, bytes?: PairKeyBytes): Promise<void>;
  /** The verdict on a staged session: its keys become the peer's current ones (the current ones go to `past`) or are dropped; a no-op for another session. */
  commit(peerId: string, sessionId: string, success: boolean): Promise<void>;
  get(peerId: string): Promise<SharedPairKeys>;
  /**
   * Drops the peer's keys that can open nothing any more: those bound to other public keys than
   * the peer's (its keys changed), and past keys older than any history still stored (PAST_PAIR_KEY_MS).
   */
  prune(peer: { userId: string; signingKey: string; agreementKey: string }): Promise<void>;
  /** Calls fn with the peer's id whenever its keys here change (by any client sharing the store); returns a stop function. */
  watch(fn: (peerId: string) => void): () => void;
  /** Every committed key (current and past) whose bytes were kept, in the clear, for a key backup being built: the caller seals and wipes them. */
  exportAll(): Promise<PairKeyExport[]>;
  /** Committed keys from a key backup: per peer, the newest session's keys become current, the rest past. */
  importAll(keys: PairKeyExport[]): Promise<void>;
}

// ---- a peer's record, shared by the memory and IndexedDB stores -----------------------------------

/**
 * How long a replaced key stays after the session that replaced it: the longest any room keeps
 * history (LIMITS.maxHistoryDays; the server's QSEC_HISTORY_DAYS is at most that) and a day, so
 * every stored envelope sealed under it is purged before the key is.
 */
export const PAST_PAIR_KEY_MS = (LIMITS.maxHistoryDays + 1) * 24 * 3600 * 1000;

type Keys<K extends SharedPairKey> = { current?: K; pending?: K; past?: K[] };

function tidy<K extends SharedPairKey>(r: Keys<K>): Keys<K> {
  return { ...(r.current && { current: r.current }), ...(r.pending && { pending: r.pending }), ...(r.past?.length && { past: r.past }) };
}

/** Whether a key was derived with the peer's current public keys. */
export function pairKeyBoundTo(k: SharedPairKey, peer: { signingKey: string; agreementKey: string }): boolean {
  return k.signingKey === peer.signingKey && k.agreementKey === peer.agreementKey;
}

/** A record after the verdict on `sessionId`; null when it is for another session. */
export function committedPairKeys<K extends SharedPairKey>(r: Keys<K>, sessionId: string, success: boolean): Keys<K> | null {
  if (r.pending?.info.sessionId !== sessionId) return null;
  if (!success) return tidy({ current: r.current, past: r.past });
  return tidy({ current: r.pending, past: [...(r.past ?? []), ...(r.current ? [r.current] : [])] });
}

/** A record with committed keys merged in (a restore): the newest session is current, the others past, each session once. */
export function mergedPairKeys<K extends SharedPairKey>(r: Keys<K>, keys: K[]): Keys<K> {
  const bySession = new Map<string, K>();
  for (const k of [...(r.past ?? []), ...(r.current ? [r.current] : []), ...keys]) if (!bySession.has(k.info.sessionId)) bySession.set(k.info.sessionId, k);
  const all = [...bySession.values()].sort((a, b) => Date.parse(a.info.at) - Date.parse(b.info.at));
  return tidy({ current: all.at(-1), pending: r.pending, past: all.slice(0, -1) });
}

/**
 * A record without the keys that can open nothing any more (null when there are none): keys bound
 * to other public keys than the peer's (when `peer` is given), and past keys replaced longer ago
 * than PAST_PAIR_KEY_MS (a key is replaced when the next session's keys are made).
 */
export function prunedPairKeys<K extends SharedPairKey>(r: Keys<K>, peer: { signingKey: string; agreementKey: string } | null, now: number): Keys<K> | null {
  const ok = (k: K | undefined) => !!k && (!peer || pairKeyBoundTo(k, peer));
  const past = r.past ?? [];
  const later = [...past.slice(1), r.current];
  const keep = past.filter((k, i) => ok(k) && !(later[i] && now - Date.parse(later[i]!.info.at) > PAST_PAIR_KEY_MS));
  const next = { current: ok(r.current) ? r.current : undefined, pending: ok(r.pending) ? r.pending : undefined, past: keep };
  const changed = next.current !== r.current || next.pending !== r.pending || keep.length !== past.length;
  return changed ? tidy(next) : null;
}

/** The keys of one store in memory, shared by the clients given the same object (tests: one identity's tabs). */
export class MemoryPairKeyStore implements PairKeyStore {
  private keys = new Map<string, SharedPairKeys>();
  /** The bytes beside the CryptoKeys, only so exportAll() works (per session). */
  private bytes = new Map<string, PairKeyBytes>();
  private watchers = new Set<(peerId: string) => void>();
  async stage(key: SharedPairKey, bytes?: PairKeyBytes): Promise<void> {
    if (bytes) this.bytes.set(key.info.sessionId, { wrapKey: bytes.wrapKey.slice(), dmKey: bytes.dmKey.slice() });
    this.set(key.peerId, { ...this.keys.get(key.peerId), pending: { ...key, info: { ...key.info } } });
  }
  async commit(peerId: string, sessionId: string, success: boolean): Promise<void> {
    const next = committedPairKeys(this.keys.get(peerId) ?? {}, sessionId, success);
    if (next) this.set(peerId, prunedPairKeys(next, null, Date.now()) ?? next);
  }
  async get(peerId: string): Promise<SharedPairKeys> {
    const k = this.keys.get(peerId);
    return { ...k, ...(k?.past && { past: [...k.past] }) };
  }
  async prune(peer: { userId: string; signingKey: string; agreementKey: string }): Promise<void> {
    const next = prunedPairKeys(this.keys.get(peer.userId) ?? {}, peer, Date.now());
    if (next) this.set(peer.userId, next);
  }
  watch(fn: (peerId: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
  async exportAll(): Promise<PairKeyExport[]> {
    const out: PairKeyExport[] = [];
    for (const r of this.keys.values()) {
      for (const k of [...(r.past ?? []), ...(r.current ? [r.current] : [])]) {
        const b = this.bytes.get(k.info.sessionId);
        if (b)
          out.push({
            peerId: k.peerId,
            signingKey: k.signingKey,
            agreementKey: k.agreementKey,
            info: { ...k.info },
            wrapKey: b.wrapKey.slice(),
            dmKey: b.dmKey.slice(),
          });
      }
    }
    return out;
  }
  async importAll(keys: PairKeyExport[]): Promise<void> {
    const byPeer = new Map<string, SharedPairKey[]>();
    for (const k of keys) {
      const { wrapKey, dmKey } = await importPairKeys(k, true);
      this.bytes.set(k.info.sessionId, { wrapKey: k.wrapKey.slice(), dmKey: k.dmKey.slice() });
      byPeer.set(k.peerId, [
        ...(byPeer.get(k.peerId) ?? []),
        { peerId: k.peerId, signingKey: k.signingKey, agreementKey: k.agreementKey, wrapKey, dmKey, info: { ...k.info } },
      ]);
    }
    for (const [peerId, ks] of byPeer) this.set(peerId, mergedPairKeys(this.keys.get(peerId) ?? {}, ks));
  }
  private set(peerId: string, rec: SharedPairKeys) {
    this.keys.set(peerId, rec);
    for (const fn of [...this.watchers]) queueMicrotask(() => fn(peerId));
  }
}
