/**
 * The browser's persistent stores (lib/ui/persist) in real Chromium, over real IndexedDB: the
 * modules are bundled with esbuild and served from a local origin (IndexedDB needs one), then
 * driven from two tabs of one browser context, as two tabs of one profile would.
 *   - counters.ts: 2 tabs × 200 concurrent reservations never hand out the same counter, and
 *     counters only grow after a reload;
 *   - epoch-keys.ts: a key stored in one tab decrypts in another and after a reload, is a
 *     non-extractable CryptoKey, a second put keeps the first key, export returns the bytes
 *     (for key backup) and the database holds no raw key bytes.
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
        'import { browserCounterStore } from "@/lib/ui/persist/counters"; import { browserEpochKeyStore } from "@/lib/ui/persist/epoch-keys"; globalThis.qsecPersist = { browserCounterStore, browserEpochKeyStore };',
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
