/**
 * The browser's EpochKeyStore (lib/client/persist.ts): the room keys this member has held, in
 * IndexedDB, so stored history decrypts after a reload, in a second tab, or tomorrow.
 *
 * Each record holds the key twice, never its bytes in the clear:
 *   - `key`: a non-extractable AES-256-GCM CryptoKey (IndexedDB stores CryptoKeys by structured
 *     clone without exposing their bytes); this is what decrypts messages.
 *   - `wrapped`: the 32 key bytes encrypted (AES-256-GCM, AAD = label, owner, room, epoch) under
 *     this profile's at-rest key, itself a non-extractable CryptoKey in the same database. Only
 *     exportAll() opens it, for a key backup (issue 12, item 5), which encrypts the result again
 *     under the recovery key or passphrase before it leaves the page.
 * A copy of the database taken off the disk therefore holds no key bytes an attacker can use
 * without also running code in this origin (the same bar as the identity keys).
 *
 * Records are scoped by `owner` (the member's user id), so a tab-scoped identity ("join as someone
 * else") and the profile's identity never see each other's keys.
 */
import type { EpochKeyExport, ExportableEpochKeyStore } from "@/lib/client/persist";
import { MemoryEpochKeyStore } from "@/lib/client/persist";
import { idbAvailable, openDb, ownerAtRestKey, request, sharedUntilFailure, transact } from "@/lib/crypto/idb";

const DB_NAME = "qsec-epoch-keys";
const DB_VERSION = 1;
const KEYS = "keys";
const META = "meta";
const BY_ROOM = "byRoom";
const AT_REST_LABEL = "QSEC-EPOCH-KEY-AT-REST-v1";

interface KeyRecord {
  owner: string;
  roomId: string;
  epoch: number;
  key: CryptoKey;
  iv: Uint8Array<ArrayBuffer>;
  wrapped: Uint8Array<ArrayBuffer>;
}

function aad(owner: string, roomId: string, epoch: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify([AT_REST_LABEL, owner, roomId, epoch]));
}

function importAes(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new Uint8Array(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

export class IndexedDbEpochKeyStore implements ExportableEpochKeyStore {
  private readonly open = sharedUntilFailure(() =>
    openDb(DB_NAME, DB_VERSION, (db) => {
      const keys = db.createObjectStore(KEYS, { keyPath: ["owner", "roomId", "epoch"] });
      keys.createIndex(BY_ROOM, ["owner", "roomId"]);
      db.createObjectStore(META, { keyPath: "owner" });
    }),
  );
  /** This owner's at-rest key (made once per owner and database). */
  private readonly atRestKey = sharedUntilFailure(() => this.open().then((db) => ownerAtRestKey(db, META, this.owner)));
  /** Keys already read, so decrypting 10,000 history messages reads each epoch's key once. */
  private readonly cache = new Map<string, CryptoKey>();

  constructor(private readonly owner: string) {}

  async put(roomId: string, epoch: number, raw: Uint8Array): Promise<void> {
    if (raw.length !== 32) throw new Error("an epoch key is 32 bytes");
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error("bad epoch");
    const db = await this.open();
    const atRest = await this.atRestKey();
    const key = await importAes(raw);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrapped = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(this.owner, roomId, epoch) }, atRest, new Uint8Array(raw)),
    );
    const record: KeyRecord = { owner: this.owner, roomId, epoch, key, iv, wrapped };
    // add() inside a check: a second put of the same (room, epoch) keeps the first key.
    const stored = await transact(db, [KEYS], "readwrite", async (tx) => {
      const store = tx.objectStore(KEYS);
      const existing = (await request(store.get([this.owner, roomId, epoch]))) as KeyRecord | undefined;
      if (existing) return existing.key;
      await request(store.add(record));
      return key;
    });
    this.cache.set(`${roomId}\u0000${epoch}`, stored);
  }

  async get(roomId: string, epoch: number): Promise<CryptoKey | undefined> {
    const id = `${roomId}\u0000${epoch}`;
    const hit = this.cache.get(id);
    if (hit) return hit;
    const db = await this.open();
    const rec = (await transact(db, [KEYS], "readonly", (tx) => request(tx.objectStore(KEYS).get([this.owner, roomId, epoch])))) as KeyRecord | undefined;
    if (!rec) return undefined;
    this.cache.set(id, rec.key);
    return rec.key;
  }

  async epochs(roomId: string): Promise<number[]> {
    const db = await this.open();
    const keys = await transact(db, [KEYS], "readonly", (tx) =>
      request(
        tx
          .objectStore(KEYS)
          .index(BY_ROOM)
          .getAllKeys(IDBKeyRange.only([this.owner, roomId])),
      ),
    );
    return (keys as [string, string, number][]).map((k) => k[2]).sort((a, b) => a - b);
  }

  async deleteRoom(roomId: string): Promise<void> {
    const db = await this.open();
    await transact(db, [KEYS], "readwrite", async (tx) => {
      await request(tx.objectStore(KEYS).delete(IDBKeyRange.bound([this.owner, roomId, -Infinity], [this.owner, roomId, Infinity])));
    });
    for (const id of [...this.cache.keys()]) if (id.startsWith(`${roomId}\u0000`)) this.cache.delete(id);
  }

  /** Every key in the clear, for a key backup being built: the caller must encrypt and then wipe them. */
  async exportAll(): Promise<EpochKeyExport[]> {
    const db = await this.open();
    const atRest = await this.atRestKey();
    const records = (await transact(db, [KEYS], "readonly", (tx) =>
      request(tx.objectStore(KEYS).getAll(IDBKeyRange.bound([this.owner], [this.owner, []]))),
    )) as KeyRecord[];
    const out: EpochKeyExport[] = [];
    for (const r of records) {
      const raw = new Uint8Array(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv: r.iv, additionalData: aad(this.owner, r.roomId, r.epoch) }, atRest, r.wrapped),
      );
      out.push({ roomId: r.roomId, epoch: r.epoch, raw });
    }
    return out;
  }

  async importAll(keys: EpochKeyExport[]): Promise<void> {
    for (const k of keys) await this.put(k.roomId, k.epoch, k.raw);
  }
}

/**
 * The epoch key store for `owner` in this browser: IndexedDB when the page has it, memory
 * otherwise (a private window that refuses IndexedDB still chats, without history after reload).
 * Key backup (lib/ui backup code) registers the same store through this function.
 */
export function browserEpochKeyStore(owner: string): ExportableEpochKeyStore {
  const existing = stores.get(owner);
  if (existing) return existing;
  const store = idbAvailable() ? new IndexedDbEpochKeyStore(owner) : new MemoryEpochKeyStore();
  stores.set(owner, store);
  return store;
}

/** One store object per owner and page, so the ChatClient and a key backup share one cache. */
const stores = new Map<string, ExportableEpochKeyStore>();
