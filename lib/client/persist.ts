/**
 * What a ChatClient keeps across reloads and tabs, behind two small interfaces (issue 12):
 *   - EpochKeyStore: the room keys (one per room epoch) this member has held, so stored history
 *     decrypts after a reload. The browser implements it over IndexedDB with non-extractable
 *     CryptoKeys (and an at-rest wrapped copy for key backup); Node and tests use the memory one.
 *   - CounterStore: message counters reserved atomically, so several tabs of one identity never
 *     stamp the same (sender, scope, counter).
 * Both default to memory; lib/client never touches IndexedDB itself (the browser layer injects).
 */

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
