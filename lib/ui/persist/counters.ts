/**
 * The browser's CounterStore (lib/client/persist.ts): message counters reserved in one IndexedDB
 * readwrite transaction. IndexedDB runs readwrite transactions over the same object store one
 * after another, also across tabs of one origin, so two tabs of one identity reading and bumping
 * the counter can never both get the same value: they never stamp the same
 * (sender, scope, counter), which a receiver would reject as a replay.
 *
 * The counter never goes below the clock (microseconds since the epoch), as the memory store's
 * does: an identity restored into a fresh browser (empty database) still continues above what it
 * sent before.
 */
import type { CounterStore } from "@/lib/client/persist";
import { MemoryCounterStore } from "@/lib/client/persist";
import { idbAvailable, openDb, request, sharedUntilFailure, transact } from "@/lib/crypto/idb";

const DB_NAME = "qsec-counters";
const DB_VERSION = 1;
const STORE = "counters";

interface CounterRecord {
  userId: string;
  next: number;
}

export class IndexedDbCounterStore implements CounterStore {
  private readonly open = sharedUntilFailure(() => openDb(DB_NAME, DB_VERSION, (db) => db.createObjectStore(STORE, { keyPath: "userId" })));

  async reserve(userId: string, n: number): Promise<number> {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error("reserve at least one counter");
    const db = await this.open();
    return transact(db, [STORE], "readwrite", async (tx) => {
      const store = tx.objectStore(STORE);
      const rec = (await request(store.get(userId))) as CounterRecord | undefined;
      const start = Math.max(rec?.next ?? 0, Date.now() * 1000);
      await request(store.put({ userId, next: start + n } satisfies CounterRecord));
      return start;
    });
  }
}

/** The counter store of this browser (IndexedDB when available, else memory: one tab only). */
export function browserCounterStore(): CounterStore {
  return (shared ??= idbAvailable() ? new IndexedDbCounterStore() : new MemoryCounterStore());
}
let shared: CounterStore | null = null;
