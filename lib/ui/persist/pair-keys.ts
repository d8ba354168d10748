/**
 * The browser's PairKeyStore (lib/client/persist.ts, issue 14): the QKD-hardened pair keys of this
 * identity, shared by its tabs. The tab that ran a BB84 session stages its hybrid keys here on the
 * session's local success and commits (or drops) them on the server's verdict; the identity's
 * other tabs, told over a BroadcastChannel, read them from here, and a reload or a tab opened later
 * finds the committed ones. A later session's keys replace the current ones, which stay as `past`
 * keys (history sealed under them still opens) until no stored history can need them.
 *
 * What is stored per session is the two AES-256-GCM keys HKDF(X25519 secret ‖ QKD key) gave, bound
 * to the peer's public keys, twice and never in the clear, as the epoch-key store does
 * (./epoch-keys.ts):
 *   - `wrapKey`, `dmKey`: non-extractable CryptoKeys (IndexedDB keeps CryptoKeys by structured
 *     clone without exposing their bytes); these open and seal.
 *   - `wrapped`: the 64 key bytes (wrapKey ‖ dmKey) encrypted (AES-256-GCM, AAD = label, owner,
 *     peer, the peer's public keys, session) under this owner's at-rest key, a non-extractable
 *     CryptoKey in the same database. Only exportAll() opens it, for a key backup, which seals the
 *     result again under the recovery key or passphrase before it leaves the page.
 * Never the QKD key. Records written before key backup carried these keys (database version 1)
 * have no `wrapped` copy: they are read and used as before, and left out of backups.
 *
 * The channel carries only (owner, peer id). Records are scoped by `owner`, so a tab-scoped
 * identity ("join as someone else") and the profile's identity never see each other's keys.
 */
import {
  committedPairKeys,
  MemoryPairKeyStore,
  mergedPairKeys,
  prunedPairKeys,
  type PairKeyExport,
  type PairKeyStore,
  type SharedPairKey,
  type SharedPairKeys,
} from "@/lib/client/persist";
import { importPairKeys, type PairKeyBytes } from "@/lib/crypto";
import { idbAvailable, openDb, ownerAtRestKey, request, sharedUntilFailure, transact } from "@/lib/crypto/idb";

const DB_NAME = "qsec-pair-keys";
const DB_VERSION = 2; // 2: the META store (at-rest keys) and `wrapped` copies for key backup
const PAIRS = "pairs";
const META = "meta";
const CHANNEL = "qsec-pair-keys";
const AT_REST_LABEL = "QSEC-PAIR-KEY-AT-REST-v1";

/** A session's keys as stored: the CryptoKeys, and (from version 2) their bytes wrapped at rest. */
interface StoredPairKey extends SharedPairKey {
  iv?: Uint8Array<ArrayBuffer>;
  wrapped?: Uint8Array<ArrayBuffer>;
}

interface PairRecord {
  owner: string;
  peerId: string;
  current?: StoredPairKey;
  pending?: StoredPairKey;
  past?: StoredPairKey[];
}

type Keys = Omit<PairRecord, "owner" | "peerId">;

interface ChangeMessage {
  owner: string;
  peerId: string;
}

function aad(owner: string, k: SharedPairKey): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify([AT_REST_LABEL, owner, k.peerId, k.signingKey, k.agreementKey, k.info.sessionId]));
}

export class IndexedDbPairKeyStore implements PairKeyStore {
  private readonly open = sharedUntilFailure(() =>
    openDb(DB_NAME, DB_VERSION, (db) => {
      // From nothing, or from version 1 (its records are kept as they are).
      if (!db.objectStoreNames.contains(PAIRS)) db.createObjectStore(PAIRS, { keyPath: ["owner", "peerId"] });
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, { keyPath: "owner" });
    }),
  );
  /** This owner's at-rest key (made once per owner and database). */
  private readonly atRestKey = sharedUntilFailure(() => this.open().then((db) => ownerAtRestKey(db, META, this.owner)));
  private channel: BroadcastChannel | null = null;
  private readonly watchers = new Set<(peerId: string) => void>();

  constructor(private readonly owner: string) {}

  async stage(key: SharedPairKey, bytes?: PairKeyBytes): Promise<void> {
    const stored = bytes ? await this.seal(key, bytes) : key;
    await this.update(key.peerId, (rec) => ({ ...rec, pending: stored }));
  }

  async commit(peerId: string, sessionId: string, success: boolean): Promise<void> {
    const now = Date.now();
    await this.update(peerId, (rec) => {
      const next = committedPairKeys(rec, sessionId, success);
      return next && (prunedPairKeys(next, null, now) ?? next);
    });
  }

  async get(peerId: string): Promise<SharedPairKeys> {
    const db = await this.open();
    const rec = (await transact(db, [PAIRS], "readonly", (tx) => request(tx.objectStore(PAIRS).get([this.owner, peerId])))) as PairRecord | undefined;
    return { ...(rec?.current && { current: rec.current }), ...(rec?.pending && { pending: rec.pending }), ...(rec?.past?.length && { past: rec.past }) };
  }

  async prune(peer: { userId: string; signingKey: string; agreementKey: string }): Promise<void> {
    const now = Date.now();
    await this.update(peer.userId, (rec) => prunedPairKeys(rec, peer, now));
  }

  /** Every committed key with a wrapped copy, in the clear, for a key backup being built: the caller seals and wipes them. */
  async exportAll(): Promise<PairKeyExport[]> {
    const db = await this.open();
    const records = (await transact(db, [PAIRS], "readonly", (tx) =>
      request(tx.objectStore(PAIRS).getAll(IDBKeyRange.bound([this.owner], [this.owner, []]))),
    )) as PairRecord[];
    const out: PairKeyExport[] = [];
    for (const r of records) {
      for (const k of [...(r.past ?? []), ...(r.current ? [r.current] : [])]) {
        if (!k.iv || !k.wrapped) continue; // written before key backup carried pair keys
        const raw = new Uint8Array(
          await crypto.subtle.decrypt({ name: "AES-GCM", iv: k.iv, additionalData: aad(this.owner, k) }, await this.atRestKey(), k.wrapped),
        );
        out.push({
          peerId: k.peerId,
          signingKey: k.signingKey,
          agreementKey: k.agreementKey,
          info: { ...k.info },
          wrapKey: raw.slice(0, 32),
          dmKey: raw.slice(32),
        });
        raw.fill(0);
      }
    }
    return out;
  }

  async importAll(keys: PairKeyExport[]): Promise<void> {
    const byPeer = new Map<string, StoredPairKey[]>();
    for (const k of keys) {
      const { wrapKey, dmKey } = await importPairKeys(k, true);
      const key: SharedPairKey = { peerId: k.peerId, signingKey: k.signingKey, agreementKey: k.agreementKey, wrapKey, dmKey, info: { ...k.info } };
      byPeer.set(k.peerId, [...(byPeer.get(k.peerId) ?? []), await this.seal(key, k)]);
    }
    for (const [peerId, ks] of byPeer) await this.update(peerId, (rec) => mergedPairKeys(rec, ks));
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

  /** The key with its bytes wrapped under this owner's at-rest key (the bytes themselves are not kept). */
  private async seal(key: SharedPairKey, bytes: PairKeyBytes): Promise<StoredPairKey> {
    if (bytes.wrapKey.length !== 32 || bytes.dmKey.length !== 32) throw new Error("a pair key is 32 bytes");
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const plain = new Uint8Array(64);
    plain.set(bytes.wrapKey, 0);
    plain.set(bytes.dmKey, 32);
    try {
      const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(this.owner, key) }, await this.atRestKey(), plain));
      return { ...key, iv, wrapped };
    } finally {
      plain.fill(0);
    }
  }

  /** Read-modify-write of one peer's record in one transaction; `change` null: nothing to write. */
  private async update(peerId: string, change: (rec: Keys) => Keys | null): Promise<void> {
    const db = await this.open();
    const changed = await transact(db, [PAIRS], "readwrite", async (tx) => {
      const store = tx.objectStore(PAIRS);
      const rec = ((await request(store.get([this.owner, peerId]))) as PairRecord | undefined) ?? { owner: this.owner, peerId };
      const next = change(rec);
      if (!next) return false;
      const out: PairRecord = { owner: this.owner, peerId };
      if (next.current) out.current = next.current;
      if (next.pending) out.pending = next.pending;
      if (next.past?.length) out.past = next.past;
      if (out.current || out.pending || out.past) await request(store.put(out));
      else await request(store.delete([this.owner, peerId]));
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
}

/**
 * The pair key store for `owner` in this browser: IndexedDB when the page has it, memory otherwise
 * (a private window that refuses IndexedDB: the keys then stay in the tab that ran the session).
 */
export function browserPairKeyStore(owner: string): PairKeyStore {
  return idbAvailable() ? new IndexedDbPairKeyStore(owner) : new MemoryPairKeyStore();
}
