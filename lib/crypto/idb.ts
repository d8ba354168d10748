/**
 * The few IndexedDB steps the persistent stores share: open a database (creating its object
 * stores), and run one transaction as a promise that settles when the transaction commits (not
 * when its last request succeeds: a readwrite transaction is only durable at "complete").
 */
import { subtle } from "./subtle";

export function idbAvailable(): boolean {
  return typeof indexedDB !== "undefined";
}

/**
 * `make()` run once and its promise shared by every caller (a database handle, an at-rest key); a
 * failure is forgotten, so the next call tries again.
 */
export function sharedUntilFailure<T>(make: () => Promise<T>): () => Promise<T> {
  let shared: Promise<T> | null = null;
  return () =>
    (shared ??= make().catch((e: unknown) => {
      shared = null;
      throw e;
    }));
}

export function openDb(name: string, version: number, upgrade: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, version);
    req.onupgradeneeded = () => upgrade(req.result);
    req.onsuccess = () => {
      const db = req.result;
      // Another tab upgrading the schema: let it, this tab reopens on its next use.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => reject(req.error ?? new Error(`IndexedDB ${name} did not open`));
    req.onblocked = () => reject(new Error(`IndexedDB ${name} is blocked by another tab`));
  });
}

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

/**
 * Runs `body` in one transaction and resolves with its result once the transaction has committed.
 * `body` must only issue IndexedDB requests (awaiting anything else lets the transaction close).
 */
export function transact<T>(db: IDBDatabase, stores: string[], mode: IDBTransactionMode, body: (tx: IDBTransaction) => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    let result: T;
    let failed = false;
    body(tx).then(
      (r) => (result = r),
      (e) => {
        failed = true;
        try {
          tx.abort();
        } catch {
          /* already finished */
        }
        reject(e);
      },
    );
    tx.oncomplete = () => {
      if (!failed) resolve(result);
    };
    tx.onerror = () => {
      if (!failed) reject(tx.error ?? new Error("IndexedDB transaction failed"));
    };
    tx.onabort = () => {
      if (!failed) reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    };
  });
}

/** One request on one object store, in its own transaction; resolves once that has committed. */
export function storeRequest<T>(db: IDBDatabase, store: string, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return transact(db, [store], mode, (t) => request(op(t.objectStore(store))));
}

/**
 * An owner's at-rest key in `store` (key path "owner", records { owner, atRest }): a
 * non-extractable AES-256-GCM CryptoKey made on first use; two tabs racing keep whichever
 * committed first. The persistent key stores wrap key bytes under it (lib/ui/persist).
 */
export async function ownerAtRestKey(db: IDBDatabase, store: string, owner: string): Promise<CryptoKey> {
  const fresh = await subtle().generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  return transact(db, [store], "readwrite", async (tx) => {
    const s = tx.objectStore(store);
    const existing = (await request(s.get(owner))) as { owner: string; atRest: CryptoKey } | undefined;
    if (existing) return existing.atRest;
    await request(s.add({ owner, atRest: fresh }));
    return fresh;
  });
}
