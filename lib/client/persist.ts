/**
 * What a ChatClient keeps across reloads and tabs, behind two small interfaces (issue 12):
 *   - EpochKeyStore: the room keys (one per room epoch) this member has held, so stored history
 *     decrypts after a reload. The browser implements it over IndexedDB with non-extractable
 *     CryptoKeys (and an at-rest wrapped copy for key backup); Node and tests use the memory one.
 *   - CounterStore: message counters reserved atomically, so several tabs of one identity never
 *     stamp the same (sender, scope, counter).
 *   - PairKeyStore (issue 14): the QKD-hardened pair keys of a BB84 session, so every tab of the
 *     identity uses them, not only the tab that ran the session (and a reload keeps them). The
 *     browser implements it over IndexedDB (non-extractable CryptoKeys) and a BroadcastChannel.
 * All default to memory; lib/client never touches IndexedDB itself (the browser layer injects).
 */
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

/** A peer's shared keys: the committed ones, and those of a session awaiting its verdict. */
export interface SharedPairKeys {
  current?: SharedPairKey;
  pending?: SharedPairKey;
}

/**
 * Where the tab that ran a BB84 session leaves its hybrid pair keys for the identity's other
 * clients (tabs): staged on the session's local success (the others may open with them at once,
 * decryption only), committed or dropped on the server's verdict. Another tab that saw the same
 * verdict takes them from here.
 */
export interface PairKeyStore {
  /** A session's candidate keys (replaces any pending ones for that peer). */
  stage(key: SharedPairKey): Promise<void>;
  /** The verdict on a staged session: its keys become the peer's current ones (success) or are dropped; a no-op for another session. */
  commit(peerId: string, sessionId: string, success: boolean): Promise<void>;
  get(peerId: string): Promise<SharedPairKeys>;
  /** Calls fn with the peer's id whenever its keys here change (by any client sharing the store); returns a stop function. */
  watch(fn: (peerId: string) => void): () => void;
}

/** The keys of one store in memory, shared by the clients given the same object (tests: one identity's tabs). */
export class MemoryPairKeyStore implements PairKeyStore {
  private keys = new Map<string, SharedPairKeys>();
  private watchers = new Set<(peerId: string) => void>();
  async stage(key: SharedPairKey): Promise<void> {
    this.keys.set(key.peerId, { ...this.keys.get(key.peerId), pending: { ...key, info: { ...key.info } } });
    this.changed(key.peerId);
  }
  async commit(peerId: string, sessionId: string, success: boolean): Promise<void> {
    const k = this.keys.get(peerId);
    if (!k?.pending || k.pending.info.sessionId !== sessionId) return;
    this.keys.set(peerId, success ? { current: k.pending } : { current: k.current });
    this.changed(peerId);
  }
  async get(peerId: string): Promise<SharedPairKeys> {
    return { ...this.keys.get(peerId) };
  }
  watch(fn: (peerId: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
  private changed(peerId: string) {
    for (const fn of [...this.watchers]) queueMicrotask(() => fn(peerId));
  }
}
