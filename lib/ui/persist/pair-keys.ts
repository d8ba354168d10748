/**
 * The browser's PairKeyStore (lib/client/persist.ts, issue 14): the QKD-hardened pair keys of this
 * identity, shared by its tabs. The tab that ran a BB84 session stages its hybrid keys here on the
 * session's local success and commits (or drops) them on the server's verdict; the identity's
 * other tabs, told over a BroadcastChannel, read them from here, and a reload or a tab opened later
 * finds the committed ones.
 *
 * What is stored is the two AES-256-GCM keys HKDF(X25519 secret ‖ QKD key) gave, as
 * non-extractable CryptoKeys (IndexedDB keeps CryptoKeys by structured clone without exposing their
 * bytes), bound to the peer's public keys; never the QKD key or any key's bytes. The channel
 * carries only (owner, peer id). Records are scoped by `owner`, so a tab-scoped identity ("join as
 * someone else") and the profile's identity never see each other's keys.
 */
import { MemoryPairKeyStore, type PairKeyStore, type SharedPairKey, type SharedPairKeys } from "@/lib/client/persist";
import { idbAvailable, openDb, request, transact } from "@/lib/crypto/idb";

const DB_NAME = "qsec-pair-keys";
const DB_VERSION = 1;
const PAIRS = "pairs";
const CHANNEL = "qsec-pair-keys";

interface PairRecord extends SharedPairKeys {
  owner: string;
  peerId: string;
}

interface ChangeMessage {
  owner: string;
  peerId: string;
}

export class IndexedDbPairKeyStore implements PairKeyStore {
  private db: Promise<IDBDatabase> | null = null;
  private channel: BroadcastChannel | null = null;
  private readonly watchers = new Set<(peerId: string) => void>();

  constructor(private readonly owner: string) {}

  async stage(key: SharedPairKey): Promise<void> {
    await this.update(key.peerId, (rec) => ({ ...rec, pending: key }));
  }

  async commit(peerId: string, sessionId: string, success: boolean): Promise<void> {
    await this.update(peerId, (rec) => {
      if (rec.pending?.info.sessionId !== sessionId) return null;
      return success ? { current: rec.pending } : { current: rec.current };
    });
  }

  async get(peerId: string): Promise<SharedPairKeys> {
    const db = await this.open();
    const rec = (await transact(db, [PAIRS], "readonly", (tx) => request(tx.objectStore(PAIRS).get([this.owner, peerId])))) as PairRecord | undefined;
    return { ...(rec?.current && { current: rec.current }), ...(rec?.pending && { pending: rec.pending }) };
  }

  watch(fn: (peerId: string) => void): () => void {
    this.watchers.add(fn);
    this.listen();
    return () => {
      this.watchers.delete(fn);
      if (this.watchers.size === 0 && this.channel) {
        this.channel.close();
        this.channel = null;
      }
    };
  }

  /** Read-modify-write of one peer's record in one transaction; `change` null: nothing to write. */
  private async update(peerId: string, change: (rec: SharedPairKeys) => SharedPairKeys | null): Promise<void> {
    const db = await this.open();
    const changed = await transact(db, [PAIRS], "readwrite", async (tx) => {
      const store = tx.objectStore(PAIRS);
      const rec = ((await request(store.get([this.owner, peerId]))) as PairRecord | undefined) ?? { owner: this.owner, peerId };
      const next = change(rec);
      if (!next) return false;
      const out: PairRecord = { owner: this.owner, peerId };
      if (next.current) out.current = next.current;
      if (next.pending) out.pending = next.pending;
      await request(store.put(out));
      return true;
    });
    if (!changed) return;
    // This page's watchers, then the identity's other tabs (a channel never hears its own messages).
    for (const fn of [...this.watchers]) queueMicrotask(() => fn(peerId));
    this.listen()?.postMessage({ owner: this.owner, peerId } satisfies ChangeMessage);
  }

  private listen(): BroadcastChannel | null {
    if (this.channel || typeof BroadcastChannel === "undefined") return this.channel;
    this.channel = new BroadcastChannel(CHANNEL);
    this.channel.onmessage = (ev: MessageEvent<ChangeMessage>) => {
      const m = ev.data;
      if (!m || m.owner !== this.owner || typeof m.peerId !== "string") return;
      for (const fn of [...this.watchers]) fn(m.peerId);
    };
    return this.channel;
  }

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      this.db = openDb(DB_NAME, DB_VERSION, (db) => {
        db.createObjectStore(PAIRS, { keyPath: ["owner", "peerId"] });
      }).catch((e) => {
        this.db = null;
        throw e;
      });
    }
    return this.db;
  }
}

/**
 * The pair key store for `owner` in this browser: IndexedDB when the page has it, memory otherwise
 * (a private window that refuses IndexedDB: the keys then stay in the tab that ran the session).
 */
export function browserPairKeyStore(owner: string): PairKeyStore {
  return idbAvailable() ? new IndexedDbPairKeyStore(owner) : new MemoryPairKeyStore();
}
