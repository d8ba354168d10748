/**
 * A tab-scoped identity, for "Join as someone else in this tab" (demos of several members in one
 * browser). The default is one identity per browser profile (identity-store.ts).
 *
 * Browser-only persistence of this tab's identity. Importing it in Node is harmless: nothing touches
 * window, sessionStorage, IndexedDB or BroadcastChannel until loadOrCreateTabIdentity() is called, and
 * without them it falls back to a fresh in-memory identity.
 *
 * - The key pairs (non-extractable CryptoKeys, which structured-clone into IndexedDB without ever
 *   exposing their bytes) are stored in IndexedDB under a per-tab id.
 * - The tab id lives in sessionStorage: a reload of the same tab finds it again (same identity); a
 *   new tab has none (a new identity), so two tabs are two members.
 * - A duplicated tab inherits a copy of sessionStorage. Before reusing a stored tab id, the page asks
 *   over a BroadcastChannel whether a live tab holds it; if one answers, this tab takes a fresh id.
 *   Two pages probing the same id at once break the tie by a random instance id.
 */
import { generateIdentity, pickIdentity, userIdFromSigningKey, type Identity } from "./identity";
import { openDb as openIdb, storeRequest } from "./idb";
import { toB64url, toHex } from "./encoding";
import { randomBytes, subtle } from "./subtle";

const DB_NAME = "qsec-identity";
const DB_VERSION = 1;
const STORE = "identities";
const TAB_KEY = "qsec.tabId";
const CHANNEL = "qsec-tab-claims";
const PROBE_MS = 200;
const PRUNE_AFTER_MS = 30 * 24 * 3600 * 1000;

interface StoredIdentity extends Identity {
  tabId: string;
  createdAt: number;
  lastUsed: number;
}

type ClaimMessage = { type: "probe"; tabId: string; from: string } | { type: "taken"; tabId: string; to: string };

let cached: Promise<Identity> | null = null;
let heldTabId: string | null = null;
let probingTabId: string | null = null;
let channel: BroadcastChannel | null = null;
let lostRace = false;
const instanceId = toHex(randomBytes(16));

function browserAvailable(): boolean {
  return typeof window !== "undefined" && typeof indexedDB !== "undefined" && typeof sessionStorage !== "undefined";
}

/** This tab's identity: the stored one after a reload, a new one in a new or duplicated tab. */
export function loadOrCreateTabIdentity(): Promise<Identity> {
  if (!cached) {
    cached = load().catch((e) => {
      cached = null;
      throw e;
    });
  }
  return cached;
}

/** Forgets this tab's identity (IndexedDB record and tab id); the next load creates a new one. */
export async function clearTabIdentity(): Promise<void> {
  const tabId = heldTabId;
  cached = null;
  heldTabId = null;
  if (!browserAvailable()) return;
  try {
    sessionStorage.removeItem(TAB_KEY);
  } catch {
    /* storage disabled */
  }
  if (tabId) {
    try {
      const db = await openDb();
      await tx(db, "readwrite", (s) => s.delete(tabId));
      db.close();
    } catch {
      /* nothing stored */
    }
  }
}

/** The tab id this page holds (for diagnostics), or null before the first load. */
export function currentTabId(): string | null {
  return heldTabId;
}

async function load(): Promise<Identity> {
  if (!browserAvailable()) return generateIdentity();
  const tabId = await claimTabId();
  let db: IDBDatabase;
  try {
    db = await openDb();
  } catch {
    return generateIdentity(); // private mode / storage blocked: this tab's identity lives in memory
  }
  try {
    const now = Date.now();
    const rec = (await tx(db, "readonly", (s) => s.get(tabId))) as StoredIdentity | undefined;
    if (rec && (await isValid(rec))) {
      await tx(db, "readwrite", (s) => s.put({ ...rec, lastUsed: now }));
      return pickIdentity(rec);
    }
    const identity = await generateIdentity();
    await tx(db, "readwrite", (s) => s.put({ ...identity, tabId, createdAt: now, lastUsed: now } satisfies StoredIdentity));
    void prune(db, now).finally(() => db.close());
    return identity;
  } catch {
    db.close();
    return generateIdentity();
  }
}

async function isValid(r: StoredIdentity): Promise<boolean> {
  try {
    const ok =
      r.signingKeyPair?.privateKey instanceof CryptoKey &&
      r.agreementKeyPair?.privateKey instanceof CryptoKey &&
      r.signingKeyPair.privateKey.algorithm.name === "Ed25519" &&
      r.agreementKeyPair.privateKey.algorithm.name === "X25519";
    if (!ok) return false;
    const pub = toB64url(new Uint8Array(await subtle().exportKey("raw", r.signingKeyPair.publicKey)));
    const xpub = toB64url(new Uint8Array(await subtle().exportKey("raw", r.agreementKeyPair.publicKey)));
    return pub === r.signingKey && xpub === r.agreementKey && (await userIdFromSigningKey(pub)) === r.userId;
  } catch {
    return false;
  }
}

// ---- tab id claim over BroadcastChannel --------------------------------------------------------

function newTabId(): string {
  return toHex(randomBytes(16));
}

async function claimTabId(): Promise<string> {
  let stored: string | null = null;
  try {
    stored = sessionStorage.getItem(TAB_KEY);
  } catch {
    /* storage disabled */
  }
  let tabId = stored && /^[0-9a-f]{32}$/.test(stored) ? stored : null;
  if (tabId && typeof BroadcastChannel !== "undefined") {
    if (await isClaimedElsewhere(tabId)) tabId = null;
  }
  tabId ??= newTabId(); // 128 random bits: no one else holds it
  heldTabId = tabId;
  try {
    sessionStorage.setItem(TAB_KEY, tabId);
  } catch {
    /* storage disabled: this tab's identity will not survive a reload */
  }
  return tabId;
}

function ensureChannel(): BroadcastChannel {
  if (channel) return channel;
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (ev: MessageEvent<ClaimMessage>) => {
    const m = ev.data;
    if (!m || typeof m !== "object") return;
    if (m.type === "probe" && typeof m.tabId === "string" && m.from !== instanceId) {
      if (m.tabId === heldTabId) {
        channel!.postMessage({ type: "taken", tabId: m.tabId, to: m.from } satisfies ClaimMessage);
      } else if (m.tabId === probingTabId) {
        // Two pages probing the same id at once (a tab and its duplicate reloading together):
        // the smaller instance id keeps it and says so; the larger gives way.
        if (instanceId < m.from) channel!.postMessage({ type: "taken", tabId: m.tabId, to: m.from } satisfies ClaimMessage);
        else lostRace = true;
      }
    } else if (m.type === "taken" && m.to === instanceId && m.tabId === probingTabId) {
      lostRace = true;
    }
  };
  return channel;
}

async function isClaimedElsewhere(tabId: string): Promise<boolean> {
  const ch = ensureChannel();
  probingTabId = tabId;
  lostRace = false;
  ch.postMessage({ type: "probe", tabId, from: instanceId } satisfies ClaimMessage);
  await new Promise((r) => setTimeout(r, PROBE_MS));
  probingTabId = null;
  return lostRace;
}

// ---- IndexedDB ---------------------------------------------------------------------------------

function openDb(): Promise<IDBDatabase> {
  return openIdb(DB_NAME, DB_VERSION, (db) => {
    if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "tabId" });
  });
}

function tx<T>(db: IDBDatabase, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return storeRequest(db, STORE, mode, op);
}

/** Drops identities of tabs not loaded for 30 days (their sessionStorage is long gone). */
async function prune(db: IDBDatabase, now: number): Promise<void> {
  try {
    const all = (await tx(db, "readonly", (s) => s.getAll())) as StoredIdentity[];
    const stale = all.filter((r) => typeof r.lastUsed !== "number" || now - r.lastUsed > PRUNE_AFTER_MS).map((r) => r.tabId);
    if (stale.length) {
      await new Promise<void>((resolve, reject) => {
        const t = db.transaction(STORE, "readwrite");
        for (const id of stale) t.objectStore(STORE).delete(id);
        t.oncomplete = () => resolve();
        t.onerror = () => reject(t.error);
      });
    }
  } catch {
    /* best effort */
  }
}
