/**
 * One identity per browser profile (issue 12, item 1): every tab, a reload and tomorrow's visit load
 * the same key pairs from IndexedDB, so peers see the same member with the same safety number.
 * ("Join as someone else in this tab" uses tab-identity-store.ts instead.)
 *
 * What IndexedDB holds (database "qsec-profile", one record "self"):
 *   - the key pairs as non-extractable CryptoKeys (structured-cloned: usable, never readable);
 *   - wrapKey: a non-extractable AES-256-GCM key, and wrappedSecret: the identity's private key
 *     bytes AES-GCM-encrypted under it. This copy exists only so a key backup can be sealed
 *     (identity-secret.ts explains why); script on the page can ask for it, as it could ask the
 *     private keys to sign, but nothing can copy the key bytes out of IndexedDB's files in the clear.
 *
 * Two tabs loading at once with no record both generate; the IndexedDB `add` of the second fails
 * (the key exists) and it takes the first one's record, so a profile never ends up with two.
 * Importing this in Node is harmless: without IndexedDB it falls back to an in-memory identity.
 */
import { pickIdentity, type Identity } from "./identity";
import { openDb as openIdb, storeRequest } from "./idb";
import { generateIdentityWithSecret, identityFromSecret, type IdentitySecret } from "./identity-secret";
import { fromUtf8, utf8 } from "./encoding";
import { randomBytes, subtle } from "./subtle";

const DB_NAME = "qsec-profile";
const DB_VERSION = 1;
const STORE = "identity";
const KEY = "self";

interface StoredProfileIdentity extends Identity {
  wrapKey: CryptoKey;
  wrappedSecret: { iv: Uint8Array<ArrayBuffer>; ct: Uint8Array<ArrayBuffer> };
  createdAt: number;
}

let cached: Promise<Identity> | null = null;
/** Without IndexedDB (Node, storage blocked) the record lives here for the page's lifetime. */
let memoryRecord: StoredProfileIdentity | null = null;

function idbAvailable(): boolean {
  return typeof indexedDB !== "undefined";
}

/** This profile's identity: the stored one, or a new one stored for every later tab and visit. */
export function loadOrCreateIdentity(): Promise<Identity> {
  if (!cached) {
    cached = loadProfile().catch((e) => {
      cached = null;
      throw e;
    });
  }
  return cached;
}

/** Forgets this profile's identity; the next load creates a new one (peers will see a key change). */
export async function clearIdentity(): Promise<void> {
  cached = null;
  memoryRecord = null;
  if (!idbAvailable()) return;
  try {
    const db = await openDb();
    await tx(db, "readwrite", (s) => s.delete(KEY));
    db.close();
  } catch {
    /* nothing stored */
  }
}

/**
 * The private key bytes of this profile's identity, for sealing a key backup and nothing else.
 * Throws when there is no profile identity yet.
 */
export async function exportIdentitySecret(): Promise<IdentitySecret> {
  await loadOrCreateIdentity();
  const rec = await readRecord();
  if (!rec) throw new Error("no profile identity to back up");
  const plain = await subtle().decrypt({ name: "AES-GCM", iv: rec.wrappedSecret.iv }, rec.wrapKey, rec.wrappedSecret.ct);
  return JSON.parse(fromUtf8(new Uint8Array(plain))) as IdentitySecret;
}

/**
 * Makes a restored identity this profile's identity (replacing any other), after checking its key
 * pairs match. Tabs already open keep the identity they loaded until they reload.
 */
export async function installIdentity(secret: IdentitySecret): Promise<Identity> {
  const identity = await identityFromSecret(secret);
  const rec = await wrapRecord(identity, secret);
  if (idbAvailable()) {
    const db = await openDb();
    try {
      await tx(db, "readwrite", (s) => s.put(rec, KEY));
    } finally {
      db.close();
    }
  } else {
    memoryRecord = rec;
  }
  cached = Promise.resolve(identity);
  return identity;
}

async function loadProfile(): Promise<Identity> {
  const existing = await readRecord().catch(() => null);
  if (existing) return pickIdentity(existing);
  const { identity, secret } = await generateIdentityWithSecret();
  const rec = await wrapRecord(identity, secret);
  if (!idbAvailable()) {
    memoryRecord = rec;
    return identity;
  }
  let db: IDBDatabase;
  try {
    db = await openDb();
  } catch {
    memoryRecord = rec; // private mode / storage blocked: this identity lives as long as the page
    return identity;
  }
  try {
    await tx(db, "readwrite", (s) => s.add(rec, KEY));
    return identity;
  } catch {
    // Another tab stored its identity first: that one is the profile's.
    const winner = (await tx(db, "readonly", (s) => s.get(KEY))) as StoredProfileIdentity | undefined;
    if (winner) return pickIdentity(winner);
    throw new Error("could not store this browser's identity");
  } finally {
    db.close();
  }
}

async function readRecord(): Promise<StoredProfileIdentity | null> {
  if (!idbAvailable()) return memoryRecord;
  const db = await openDb();
  try {
    const rec = (await tx(db, "readonly", (s) => s.get(KEY))) as StoredProfileIdentity | undefined;
    return rec && rec.signingKeyPair?.privateKey instanceof CryptoKey && rec.wrapKey instanceof CryptoKey ? rec : null;
  } finally {
    db.close();
  }
}

async function wrapRecord(identity: Identity, secret: IdentitySecret): Promise<StoredProfileIdentity> {
  const wrapKey = await subtle().generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const iv = randomBytes(12);
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv }, wrapKey, utf8(JSON.stringify(secret))));
  return { ...identity, wrapKey, wrappedSecret: { iv, ct }, createdAt: Date.now() };
}

function openDb(): Promise<IDBDatabase> {
  return openIdb(DB_NAME, DB_VERSION, (db) => {
    if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
  });
}

function tx<T>(db: IDBDatabase, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return storeRequest(db, STORE, mode, op);
}

/**
 * Other per-profile records beside the identity, in the same database (e.g. "backup": where this
 * profile's key backup lives and its non-extractable sealing key, so it can be updated later).
 * Values are structured-cloned: CryptoKeys stay non-extractable.
 */
const memoryValues = new Map<string, unknown>();

export async function saveProfileValue(key: "backup", value: unknown): Promise<void> {
  if (!idbAvailable()) {
    memoryValues.set(key, value);
    return;
  }
  const db = await openDb();
  try {
    if (value === undefined) await tx(db, "readwrite", (s) => s.delete(key));
    else await tx(db, "readwrite", (s) => s.put(value, key));
  } finally {
    db.close();
  }
}

export async function loadProfileValue<T>(key: "backup"): Promise<T | undefined> {
  if (!idbAvailable()) return memoryValues.get(key) as T | undefined;
  const db = await openDb();
  try {
    return (await tx(db, "readonly", (s) => s.get(key))) as T | undefined;
  } finally {
    db.close();
  }
}
