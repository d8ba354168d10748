/**
 * The browser's persistent stores (lib/ui/persist) in real Chromium, over real IndexedDB: the
 * modules are bundled with esbuild and served from a local origin (IndexedDB needs one), then
 * driven from two tabs of one browser context, as two tabs of one profile would.
 *   - counters.ts: 2 tabs × 200 concurrent reservations never hand out the same counter, and
 *     counters only grow after a reload;
 *   - epoch-keys.ts: a key stored in one tab decrypts in another and after a reload, is a
 *     non-extractable CryptoKey, a second put keeps the first key, export returns the bytes
 *     (for key backup) and the database holds no raw key bytes;
 *   - pair-keys.ts: a database of version 1 (before key backup carried pair keys) upgrades with its
 *     records still read (and left out of exports); a staged and committed session's keys export
 *     with their bytes, which the database holds only wrapped; a fresh owner imports them and opens
 *     what they sealed; keys bound to the peer's old public keys are pruned.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./helpers/browser";

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, "..", "..");
let browser: Browser;
let server: Server;
let base: string;

beforeAll(async () => {
  const out = await build({
    stdin: {
      contents:
        'import { browserCounterStore } from "@/lib/ui/persist/counters"; import { browserEpochKeyStore } from "@/lib/ui/persist/epoch-keys"; import { browserPairKeyStore } from "@/lib/ui/persist/pair-keys"; import { importPairKeys } from "@/lib/crypto/pairwise"; globalThis.qsecPersist = { browserCounterStore, browserEpochKeyStore, browserPairKeyStore, importPairKeys };',
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "iife",
    write: false,
    tsconfig: path.join(ROOT, "tsconfig.json"),
    logLevel: "error",
  });
  const js = out.outputFiles[0].text;
  server = createServer((req, res) => {
    if (req.url === "/persist.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><meta charset="utf-8"><script src="/persist.js"></script>');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise((r) => server?.close(r));
});

async function tab(context: Awaited<ReturnType<Browser["newContext"]>>): Promise<Page> {
  const p = await context.newPage();
  await p.goto(base);
  await p.waitForFunction(() => "qsecPersist" in globalThis);
  return p;
}

test("two tabs reserving counters at once never get the same one; counters only grow after a reload", async () => {
  const context = await browser.newContext();
  const [a, b] = await Promise.all([tab(context), tab(context)]);
  const reserve = (p: Page) =>
    p.evaluate(async () => {
      const store = (globalThis as any).qsecPersist.browserCounterStore();
      return Promise.all(Array.from({ length: 200 }, () => store.reserve("user-1", 1) as Promise<number>));
    });
  const [ca, cb] = await Promise.all([reserve(a), reserve(b)]);
  const all = [...ca, ...cb];
  expect(new Set(all).size).toBe(400);
  // Blocks of several counters do not overlap either.
  const blocks = await Promise.all(
    [a, b].map((p) => p.evaluate(() => (globalThis as any).qsecPersist.browserCounterStore().reserve("user-1", 50) as Promise<number>)),
  );
  expect(Math.abs(blocks[0] - blocks[1])).toBeGreaterThanOrEqual(50);
  const highest = Math.max(...all, ...blocks.map((x) => x + 49));
  await a.reload();
  await a.waitForFunction(() => "qsecPersist" in globalThis);
  const next = await a.evaluate(() => (globalThis as any).qsecPersist.browserCounterStore().reserve("user-1", 1) as Promise<number>);
  expect(next).toBeGreaterThan(highest);
  await context.close();
});

test("an epoch key kept in one tab decrypts in another and after a reload, stays non-extractable, and is stored only wrapped", async () => {
  const context = await browser.newContext();
  const [a, b] = await Promise.all([tab(context), tab(context)]);
  const raw = Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
  const ct = await a.evaluate(async (bytes) => {
    const store = (globalThis as any).qsecPersist.browserEpochKeyStore("owner-a");
    await store.put("room-1", 3, new Uint8Array(bytes));
    // A second key for the same epoch is ignored: the first stays.
    await store.put("room-1", 3, new Uint8Array(32).fill(9));
    const key: CryptoKey = await store.get("room-1", 3);
    const iv = new Uint8Array(12);
    const out = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode("hello history")));
    return { ct: Array.from(out), extractable: key.extractable };
  }, raw);
  expect(ct.extractable).toBe(false);
  const open = (p: Page, owner: string) =>
    p.evaluate(
      async ({ ct, owner }) => {
        const store = (globalThis as any).qsecPersist.browserEpochKeyStore(owner);
        const key: CryptoKey | undefined = await store.get("room-1", 3);
        if (!key) return null;
        const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, key, new Uint8Array(ct));
        return new TextDecoder().decode(pt);
      },
      { ct: ct.ct, owner },
    );
  expect(await open(b, "owner-a")).toBe("hello history");
  expect(await open(b, "owner-b")).toBeNull(); // another identity's store sees nothing
  await b.reload();
  await b.waitForFunction(() => "qsecPersist" in globalThis);
  expect(await open(b, "owner-a")).toBe("hello history");
  const exported = await b.evaluate(async () => {
    const store = (globalThis as any).qsecPersist.browserEpochKeyStore("owner-a");
    return ((await store.exportAll()) as { roomId: string; epoch: number; raw: Uint8Array }[]).map((k) => ({ ...k, raw: Array.from(k.raw) }));
  });
  expect(exported).toEqual([{ roomId: "room-1", epoch: 3, raw }]);
  expect(await b.evaluate(() => (globalThis as any).qsecPersist.browserEpochKeyStore("owner-a").epochs("room-1"))).toEqual([3]);
  // What IndexedDB holds: a CryptoKey and a ciphertext, never the 32 raw bytes.
  const rawInDb = await b.evaluate(async (bytes) => {
    const db: IDBDatabase = await new Promise((res, rej) => {
      const r = indexedDB.open("qsec-epoch-keys");
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const rows: any[] = await new Promise((res) => {
      const r = db.transaction("keys").objectStore("keys").getAll();
      r.onsuccess = () => res(r.result);
    });
    const hex = (u: ArrayLike<number>) => Array.from(u, (x) => x.toString(16).padStart(2, "0")).join("");
    const needle = hex(bytes);
    return rows.some((row) => Object.values(row).some((v) => v instanceof Uint8Array && hex(v).includes(needle)));
  }, raw);
  expect(rawInDb).toBe(false);
  // Leaving the room forgets its keys.
  await b.evaluate(() => (globalThis as any).qsecPersist.browserEpochKeyStore("owner-a").deleteRoom("room-1"));
  expect(await open(a, "owner-a")).toBe("hello history"); // tab a's cache still holds it in memory
  await a.reload();
  await a.waitForFunction(() => "qsecPersist" in globalThis);
  expect(await open(a, "owner-a")).toBeNull();
  await context.close();
});

test("pair keys: a version-1 database keeps working; committed keys export with their bytes, stored only wrapped, and import into a fresh owner; a peer's key change prunes them", async () => {
  const context = await browser.newContext();
  const a = await tab(context);
  const result = await a.evaluate(async () => {
    const { browserPairKeyStore, importPairKeys } = (globalThis as any).qsecPersist;
    const bytes = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * n + 5) & 0xff);
    const iv = new Uint8Array(12);
    const seal = async (k: CryptoKey) => new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, k, new TextEncoder().encode("hi")));
    const opens = (k: CryptoKey, ct: Uint8Array<ArrayBuffer>) =>
      crypto.subtle.decrypt({ name: "AES-GCM", iv }, k, ct).then(
        () => true,
        () => false,
      );
    const info = (sessionId: string, at: string) => ({ hardened: true, sessionId, qber: 0.01, keyBits: 256, at });
    const peer = { peerId: "alice", signingKey: "sk-a", agreementKey: "ak-a" };

    // A database as version 1 wrote it: a committed session, CryptoKeys only.
    const old = await importPairKeys({ wrapKey: bytes(3), dmKey: bytes(5) }, true);
    await new Promise<void>((res, rej) => {
      const r = indexedDB.open("qsec-pair-keys", 1);
      r.onupgradeneeded = () => r.result.createObjectStore("pairs", { keyPath: ["owner", "peerId"] });
      r.onsuccess = () => {
        const tx = r.result.transaction("pairs", "readwrite");
        tx.objectStore("pairs").put({
          owner: "bob",
          ...peer,
          current: { ...peer, wrapKey: old.wrapKey, dmKey: old.dmKey, info: info("s1", "2026-01-01T00:00:00.000Z") },
        });
        tx.oncomplete = () => {
          r.result.close();
          res();
        };
      };
      r.onerror = () => rej(r.error);
    });
    const store = browserPairKeyStore("bob");
    const v1 = await store.get("alice");
    const v1Opens = await opens(v1.current.dmKey, await seal(old.dmKey));
    const v1Exported = (await store.exportAll()).length;

    // A new session staged with its bytes and committed: the version-1 keys become past ones.
    const fresh = await importPairKeys({ wrapKey: bytes(7), dmKey: bytes(11) }, true);
    await store.stage(
      { ...peer, wrapKey: fresh.wrapKey, dmKey: fresh.dmKey, info: info("s2", "2026-02-01T00:00:00.000Z") },
      { wrapKey: bytes(7), dmKey: bytes(11) },
    );
    await store.commit("alice", "s2", true);
    const after = await store.get("alice");
    const exported = await store.exportAll();

    // What IndexedDB holds: CryptoKeys and ciphertext, never the bytes of either key.
    const db: IDBDatabase = await new Promise((res, rej) => {
      const r = indexedDB.open("qsec-pair-keys");
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const rows: any[] = await new Promise((res) => {
      const r = db.transaction("pairs").objectStore("pairs").getAll();
      r.onsuccess = () => res(r.result);
    });
    const version = db.version;
    db.close();
    const hex = (u: ArrayLike<number>) => Array.from(u, (x) => x.toString(16).padStart(2, "0")).join("");
    const arrays = (v: unknown): Uint8Array[] =>
      v instanceof Uint8Array ? [v] : v && typeof v === "object" && !(v instanceof CryptoKey) ? Object.values(v).flatMap(arrays) : [];
    const stored = rows.flatMap(arrays).map(hex).join(" ");
    const bytesInDb = [bytes(7), bytes(11)].some((b) => stored.includes(hex(b)));

    // A restore into a fresh profile (another owner here): the keys open what the originals sealed.
    const restored = browserPairKeyStore("bob-restored");
    await restored.importAll(exported);
    const back = await restored.get("alice");
    const restoredOpens = await opens(back.current.dmKey, await seal(fresh.dmKey));

    // Alice's agreement key changed: every key bound to the old one goes.
    await restored.prune({ userId: "alice", signingKey: "sk-a", agreementKey: "ak-new" });
    const pruned = await restored.get("alice");
    return {
      v1Opens,
      v1Exported,
      current: after.current.info.sessionId,
      past: after.past.map((k: any) => k.info.sessionId),
      exported: exported.map((k: any) => ({
        sessionId: k.info.sessionId,
        wrapKey: hex(k.wrapKey),
        dmKey: hex(k.dmKey),
        peerId: k.peerId,
        agreementKey: k.agreementKey,
      })),
      want: { wrapKey: hex(bytes(7)), dmKey: hex(bytes(11)) },
      version,
      bytesInDb,
      restoredCurrent: back.current.info.sessionId,
      restoredOpens,
      pruned,
    };
  });
  expect(result.v1Opens).toBe(true);
  expect(result.v1Exported).toBe(0); // a version-1 record has no wrapped copy: used, not backed up
  expect(result.version).toBe(2);
  expect(result.current).toBe("s2");
  expect(result.past).toEqual(["s1"]);
  expect(result.exported).toEqual([{ sessionId: "s2", ...result.want, peerId: "alice", agreementKey: "ak-a" }]);
  expect(result.bytesInDb).toBe(false);
  expect(result.restoredCurrent).toBe("s2");
  expect(result.restoredOpens).toBe(true);
  expect(result.pruned).toEqual({});
  await context.close();
});
