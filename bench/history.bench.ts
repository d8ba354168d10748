/**
 * npm run bench:history: a room with 10,000 stored messages (issue 12's benchmark).
 *
 * Setup: a PRODUCTION build (next build into .next-bench-hcli) served by the real server
 * (server/main.ts, its own SQLite file). A Chromium page ("Reader") creates the room (history 30
 * days); a Node ChatClient ("Writer") joins, so both hold the room key of the writer's epoch (the
 * page keeps it in IndexedDB). The page then navigates away (the reader stays a member, offline).
 * 200 messages go through the real relay (message:send, stored by the server's EnvelopeWriter);
 * the other 9,800 are written straight into the server's Envelope table in the same form
 * (JSON of the message:received payload the relay would emit), each encrypted and signed by the
 * writer with lib/crypto: the server's command limit (50/s per connection) would otherwise make
 * seeding take minutes.
 *
 * Measured, in one run:
 *   - storage: bytes the Envelope table and its indexes take per message (SQLite dbstat), against
 *     the size of the envelope as relayed (JSON of message:received), target ≤ 1.5×;
 *   - server: history:fetch rows/s (200 rows a page, and LIMITS.maxHistoryFetch a page; summed
 *     request latencies of a Node client, no crypto: the bare fetch, which is also the baseline) and
 *     the same pages with the client's verify + decrypt (ChatClient.loadHistory page by page, and
 *     ChatClient.loadAllHistory); all also as wall time, which includes any wait for the server's
 *     history budget (12,000 rows per connection, then 2,000/s; 24,000 per address, then 4,000/s:
 *     LIMITS.historyRow*);
 *   - Chromium: the page comes back to the room (same tab, same identity); from navigation start
 *     and from the room being shown to the newest message readable in the DOM (target ≤ 300 ms);
 *     then "Show all history" is clicked until the timeline holds all 10,000, verified, decrypted
 *     and rendered, and the divider says nothing older exists (target ≤ 2 s); then the room is
 *     opened again and "Show older messages" is clicked until the same holds (the scroll path).
 *     Both with a breakdown from the client's User Timing measures (HISTORY_MEASURES: request of
 *     each page, its verify + decrypt, its merge into the store, and the render after the last
 *     merge); and, as their baseline in the same run and page, WebCrypto alone on the same 10,000
 *     envelopes (one Ed25519 verify and one AES-GCM decrypt each, all at once);
 *   - where the time goes: each page's request and verify + decrypt as [start, duration], the page's
 *     main-thread long tasks (PerformanceObserver "longtask"), the CPU each process and thread used
 *     meanwhile (/proc, bench/lib/proc-cpu.ts: server, Chromium's renderer main thread, its
 *     workers, its thread pool), and the Node client's bare fetch of pages of 1,000 while the page
 *     runs the WebCrypto floor again (the server under the same CPU contention, without a browser
 *     main thread between the socket and the answer).
 *
 * Prints one JSON document (progress on stderr) and saves it to bench/history.bench.result.json.
 * Flags: --no-build (reuse the build in .next-bench-hcli).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import type { Browser, Page } from "playwright-core";
import { ChatClient, MemoryCounterStore, MemoryEpochKeyStore, MemoryStorage } from "@/lib/client";
import { decryptMessage, encodeChatPayload, encryptMessage, generateIdentity, type Identity } from "@/lib/crypto";
import { LIMITS, type HistoryMessage, type MessageReceived } from "@/lib/protocol";
import { buildApp, startAppServer, type AppServer } from "@/__tests__/e2e/helpers/app-server";
import { launchChromium, waitForRoom } from "@/__tests__/e2e/helpers/browser";
import { cpuBetween, cpuSnapshot } from "./lib/proc-cpu";
import { median, round } from "./lib/stats";

const argv = process.argv.slice(2);
const noBuild = argv.includes("--no-build");
const DIST = process.env.HISTORY_BENCH_DIST ?? ".next-bench-hcli";
const ROOT = path.resolve(__dirname, "..");
const ROOM = "bench-history";
const TOTAL = 10_000;
const RELAYED = 200;
const log = (m: string) => process.stderr.write(`[bench:history] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A message of chat length (~100 characters), numbered so the newest can be found on the page. */
const textOf = (i: number) => `message ${String(i).padStart(5, "0")}: the quick brown fox jumps over the lazy dog, QSEC history bench`;

/** In the page, before any script: when the room is shown and when a given text first appears. */
function instrument() {
  const w = window as unknown as {
    __bench: { roomShown: number | null; found: Record<string, number>; watch: string[]; longTasks: [number, number][] };
  };
  const watch = sessionStorage.getItem("__bench_watch");
  w.__bench = { roomShown: null, found: {}, watch: watch ? [watch] : [], longTasks: [] };
  // The main thread's long tasks (over 50 ms): while one runs, nothing else on the page does (socket frames included).
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__bench.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch {
    /* no Long Tasks API */
  }
  const check = () => {
    const b = w.__bench;
    if (b.roomShown === null && document.querySelector('[data-testid="room-page"]')) b.roomShown = performance.now();
    if (b.watch.length) {
      const texts = new Set(
        [...document.querySelectorAll('[data-testid="message-item"][data-status="ok"] [data-testid="message-text"]')].map((e) => e.textContent),
      );
      for (const t of b.watch) if (b.found[t] === undefined && texts.has(t)) b.found[t] = performance.now();
    }
    // Done watching: the observer (which scans every message) must not weigh on what is measured next.
    if (b.roomShown !== null && b.watch.length && b.watch.every((t) => b.found[t] !== undefined)) observer.disconnect();
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, characterData: true });
}

/** Sums of the client's User Timing measures of the history path (lib/client/chat/history.ts HISTORY_MEASURES). */
interface Breakdown {
  fetchMs: number;
  fetchCount: number;
  openMs: number;
  commitMs: number;
  lastCommitEnd: number;
  /** Each page's request and verify + decrypt, [start from t0, duration] ms. */
  fetches: [number, number][];
  opens: [number, number][];
  /** The main thread's long tasks meanwhile: count, summed and longest duration. */
  longTasks: { count: number; sumMs: number; maxMs: number; over100: [number, number][] };
}

/**
 * In the page: clicks `button` (load-all once, or load-older until nothing older is left) until the
 * timeline holds all `total` messages, verified, decrypted and rendered, and the divider says
 * nothing older exists. Also returns the history path's measures (summed; the fetch of a page and
 * the opening of another overlap) and the time from the last merge to the last row in the DOM.
 */
async function allInPage(page: Page, button: "load-all" | "load-older") {
  return page.evaluate(
    async ({ total, oldestText, button }) => {
      performance.clearMeasures();
      const t0 = performance.now();
      let clicks = 0;
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
      for (;;) {
        // Counting 10,000 rows every frame would weigh on what is measured: count once the divider shows.
        const done = !!document.querySelector('[data-testid="history-start"]');
        const ok = done ? document.querySelectorAll('[data-testid="message-item"][data-status="ok"]').length : 0;
        if (done && ok >= total) break;
        if (performance.now() - t0 > 120_000) throw new Error(`stuck after ${clicks} clicks`);
        const b = document.querySelector(`[data-testid="${button}"]`) as HTMLButtonElement | null;
        if (b && !b.disabled && (button === "load-older" || clicks === 0)) {
          b.click();
          clicks++;
        }
        await frame();
      }
      const end = performance.now();
      const ms = end - t0;
      const sum = (name: string) => performance.getEntriesByName(name, "measure").reduce((a, e) => a + e.duration, 0);
      const commits = performance.getEntriesByName("qsec:history:commit", "measure");
      const lastCommitEnd = commits.length ? Math.max(...commits.map((e) => e.startTime + e.duration)) : t0;
      const texts = [...document.querySelectorAll('[data-testid="message-item"][data-status="ok"] [data-testid="message-text"]')].map((e) => e.textContent);
      const spans = (name: string) =>
        performance.getEntriesByName(name, "measure").map((e) => [Math.round(e.startTime - t0), Math.round(e.duration)] as [number, number]);
      const long = (window as unknown as { __bench: { longTasks: [number, number][] } }).__bench.longTasks.filter(([s]) => s >= t0 && s <= end);
      return {
        ms,
        clicks,
        rendered: texts.length,
        firstIsOldest: texts[0] === oldestText,
        unavailable: document.querySelectorAll('[data-status="unavailable"]').length,
        breakdown: {
          fetchMs: sum("qsec:history:fetch"),
          fetchCount: performance.getEntriesByName("qsec:history:fetch", "measure").length,
          openMs: sum("qsec:history:open"),
          commitMs: sum("qsec:history:commit"),
          lastCommitEnd: lastCommitEnd - t0,
          fetches: spans("qsec:history:fetch"),
          opens: spans("qsec:history:open"),
          longTasks: {
            count: long.length,
            sumMs: long.reduce((a, [, d]) => a + d, 0),
            maxMs: long.reduce((a, [, d]) => Math.max(a, d), 0),
            over100: long.filter(([, d]) => d >= 100).map(([s, d]) => [Math.round(s - t0), Math.round(d)] as [number, number]),
          },
        } satisfies Breakdown,
      };
    },
    { total: TOTAL, oldestText: textOf(0), button },
  );
}

/** Opens the room again in the same tab and waits until the newest message is readable. */
async function openRoomAgain(page: Page, url: string, newest: string) {
  await page.goto(`${url}/room/${ROOM}`);
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('[data-testid="message-item"][data-status="ok"] [data-testid="message-text"]')].some((el) => el.textContent === t),
    newest,
    { timeout: 60_000, polling: "raf" },
  );
}

async function writerClient(url: string, identity: Identity, keys: MemoryEpochKeyStore, counters: MemoryCounterStore) {
  const c = new ChatClient({ url, identity, storage: new MemoryStorage(), epochKeys: keys, counters, requestTimeoutMs: 60_000 });
  await c.connect();
  return c;
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-bench-history-"));
  const dbFile = path.join(tmp, "bench.db");
  let server: AppServer | null = null;
  let browser: Browser | null = null;
  let db: Database.Database | null = null;
  const clients: ChatClient[] = [];
  const started = Date.now();
  try {
    if (noBuild && existsSync(path.join(ROOT, DIST, "BUILD_ID"))) log(`reusing the production build in ${DIST}`);
    else {
      log(`next build into ${DIST} (a few minutes)`);
      await buildApp(DIST);
    }
    server = await startAppServer({ distDir: DIST, production: true, env: { DATABASE_URL: `file:${dbFile}` } });
    log(`server at ${server.url}`);

    // 1. The reader's page creates the room; the writer joins; both hold the writer epoch's key.
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // tsx (esbuild keepNames) wraps named functions in __name(): define it in the page too.
    await context.addInitScript({ content: "globalThis.__name = (f) => f;" });
    await context.addInitScript(instrument);
    const page: Page = await context.newPage();
    page.on("pageerror", (e) => log(`[page error] ${e.message}`));
    await page.goto(`${server.url}/room/${ROOM}?name=Reader&history=30`);
    await page.getByTestId("room-page").waitFor({ timeout: 60_000 });
    const e1 = await waitForRoom(page, { members: 1 });
    const identity = await generateIdentity();
    const keys = new MemoryEpochKeyStore();
    const counters = new MemoryCounterStore();
    const writer = await writerClient(server.url, identity, keys, counters);
    clients.push(writer);
    await writer.join(ROOM, "Writer");
    const epoch = await waitForRoom(page, { members: 2, minEpoch: e1 + 1 });
    await until(() => writer.state.rooms[ROOM]?.keyEpoch === epoch, 10_000, "the writer's key");
    const readerId = writer.state.rooms[ROOM]!.members.find((m) => m.userId !== writer.userId)!.userId;

    // 2. The reader leaves the page (stays a member, offline).
    await page.goto(`${server.url}/`);
    await until(() => writer.state.rooms[ROOM]!.members.some((m) => m.userId === readerId && !m.online), 10_000, "the reader offline");

    // 3. 200 messages through the relay, then the rest straight into the table in the same form.
    log(`sending ${RELAYED} messages through the relay`);
    for (let i = 0; i < RELAYED; i++) {
      for (let attempt = 0; ; attempt++) {
        try {
          await writer.send(ROOM, textOf(i));
          break;
        } catch (e) {
          if ((e as { code?: string }).code !== "RATE_LIMITED" || attempt > 20) throw e;
          await sleep(250);
        }
      }
    }
    db = new Database(dbFile, { fileMustExist: true });
    await until(
      () => (db!.prepare("SELECT COUNT(*) AS n FROM Envelope WHERE roomId = ?").get(ROOM) as { n: number }).n >= RELAYED,
      10_000,
      "relayed rows stored",
    );
    const relayedRows = db.prepare("SELECT body FROM Envelope WHERE roomId = ? ORDER BY id").all(ROOM) as { body: string }[];
    const relayedEnvelopeBytes = relayedRows.map((r) => Buffer.byteLength(r.body));
    log(`writing ${TOTAL - RELAYED} more envelopes (encrypted and signed by the writer) into the table`);
    const key = (await keys.get(ROOM, epoch))!;
    const prefix = randomBytes(6).toString("base64url");
    const insert = db.prepare("INSERT INTO Envelope (roomId, epoch, senderId, kind, recipientId, body, createdAt) VALUES (?, ?, ?, 'room', NULL, ?, ?)");
    const rows: [string, number][] = [];
    const base = Date.now();
    for (let i = RELAYED; i < TOTAL; i++) {
      const counter = await counters.reserve(writer.userId, 1);
      const enc = await encryptMessage(
        identity,
        key,
        { roomId: ROOM, epoch, senderId: writer.userId, counter },
        encodeChatPayload({ text: textOf(i), sentAt: base + i }),
      );
      const ts = new Date(base + i).toISOString();
      const env: MessageReceived = { id: `${prefix}${i.toString(36)}`, roomId: ROOM, from: writer.userId, to: null, epoch, counter, ...enc, ts };
      rows.push([JSON.stringify(env), base + i]);
    }
    db.transaction(() => {
      for (const [body, at] of rows) insert.run(ROOM, epoch, writer.userId, body, at);
    })();
    const count = (db.prepare("SELECT COUNT(*) AS n FROM Envelope WHERE roomId = ?").get(ROOM) as { n: number }).n;
    if (count !== TOTAL) throw new Error(`expected ${TOTAL} envelopes, found ${count}`);

    // 4. Storage per message: the table and its indexes (only this room's rows are in it).
    const pages = db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat WHERE name = 'Envelope' OR name LIKE 'Envelope_%' GROUP BY name").all() as {
      name: string;
      bytes: number;
    }[];
    const storedBytes = pages.reduce((a, p) => a + p.bytes, 0);
    const envelopeBytes = [...relayedEnvelopeBytes, ...rows.map(([b]) => Buffer.byteLength(b))];
    const meanEnvelope = envelopeBytes.reduce((a, b) => a + b, 0) / envelopeBytes.length;
    const perMessage = storedBytes / TOTAL;

    // 5. Node: the bare fetch (no crypto, the baseline) and the client's fetch + verify + decrypt.
    const bare = await writerClient(server.url, identity, keys, counters);
    clients.push(bare);
    await bare.join(ROOM, "Writer");
    /** The bare fetch of every row, `limit` a page: summed request latencies, wall time, retries. */
    const bareFetch = async (limit: number) => {
      let before: number | undefined;
      let fetched = 0;
      let requestMs = 0;
      let rateLimited = 0;
      const got: HistoryMessage[] = [];
      const start = performance.now();
      for (;;) {
        const t0 = performance.now();
        try {
          const p = await bare.request("history:fetch", before === undefined ? { roomId: ROOM, limit } : { roomId: ROOM, before, limit });
          requestMs += performance.now() - t0;
          fetched += p.messages.length;
          got.push(...p.messages);
          if (p.nextBefore === null) break;
          before = p.nextBefore;
        } catch (e) {
          if ((e as { code?: string }).code !== "RATE_LIMITED") throw e;
          rateLimited++;
          await sleep(100);
        }
      }
      return { fetched, requestMs, rateLimited, got, wallMs: performance.now() - start };
    };
    const bare200 = await bareFetch(200);
    await sleep(3000); // the socket's history budget refills (12,000 rows, 2,000/s)
    const bareBulk = await bareFetch(LIMITS.maxHistoryFetch);
    const all = bareBulk.got;
    const { fetched, requestMs, rateLimited } = bare200;
    const bareWallMs = bare200.wallMs;
    // The client's verify + decrypt of the same envelopes, in Node (no network): what crypto adds.
    const signingKey = identity.signingKey;
    const cryptoStart = performance.now();
    await Promise.all(all.map((env) => decryptMessage(key, signingKey, env, { roomId: ROOM, epoch })));
    const nodeCryptoMs = performance.now() - cryptoStart;
    // The whole client path (fetch + verify + decrypt into the state), 100 a page as the UI asks.
    const full = await writerClient(server.url, identity, keys, counters);
    clients.push(full);
    await full.join(ROOM, "Writer");
    const fullStart = performance.now();
    while ((await full.loadHistory(ROOM)) > 0);
    const fullWallMs = performance.now() - fullStart;
    const fullOk = full.state.rooms[ROOM]!.messages.filter((m) => m.status === "ok").length;
    // The same with loadAllHistory (pages of LIMITS.maxHistoryFetch, fetch of the next overlapping the crypto of this one).
    await sleep(6000); // the address's history budget refills (24,000 rows, then 4,000/s)
    const fullAll = await writerClient(server.url, identity, keys, counters);
    clients.push(fullAll);
    await fullAll.join(ROOM, "Writer");
    const fullAllStart = performance.now();
    await fullAll.loadAllHistory(ROOM);
    const fullAllWallMs = performance.now() - fullAllStart;
    const fullAllOk = fullAll.state.rooms[ROOM]!.messages.filter((m) => m.status === "ok").length;

    // 6. Chromium: the reader comes back to the room (same tab: the same identity and key store).
    await sleep(6000); // the address's history budget refills (the Node clients above read 20,000 rows from it)
    const newest = textOf(TOTAL - 1);
    const nav = await (async () => {
      // The init script reads the text to watch for from this tab's sessionStorage.
      await page.evaluate((t) => sessionStorage.setItem("__bench_watch", t), newest);
      await page.goto(`${server!.url}/room/${ROOM}`);
      await page.waitForFunction(
        (t) => [...document.querySelectorAll('[data-testid="message-item"][data-status="ok"] [data-testid="message-text"]')].some((el) => el.textContent === t),
        newest,
        { timeout: 60_000, polling: "raf" },
      );
      return page.evaluate((t) => {
        const b = (window as unknown as { __bench: { roomShown: number | null; found: Record<string, number> } }).__bench;
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        // The newest page's request, verify + decrypt and merge, [start, end] from navigation start.
        const first = (name: string) => {
          const e = performance.getEntriesByName(name, "measure")[0];
          return e ? [Math.round(e.startTime), Math.round(e.startTime + e.duration)] : null;
        };
        return {
          roomShown: b.roomShown,
          newestShown: b.found[t] ?? null,
          domContentLoaded: nav?.domContentLoadedEventEnd ?? null,
          steps: { fetch: first("qsec:history:fetch"), open: first("qsec:history:open"), merge: first("qsec:history:commit") },
        };
      }, newest);
    })();
    log(`newest page: ${JSON.stringify(nav)}`);

    // All 10,000, two ways, each from the room just opened (newest page shown): "Show all history"
    // (the client's loadAll) and, as before, "Show older messages" clicked until nothing older is left.
    let cpu0 = cpuSnapshot();
    const allRun = await allInPage(page, "load-all");
    const allCpu = cpuBetween(cpu0, cpuSnapshot());
    log(`all (Show all history): ${JSON.stringify(allRun)}`);
    log(`  CPU meanwhile: ${JSON.stringify(allCpu)}`);
    await sleep(6000); // the address's history budget refills
    await openRoomAgain(page, server.url, newest);
    cpu0 = cpuSnapshot();
    const clickRun = await allInPage(page, "load-older");
    const clickCpu = cpuBetween(cpu0, cpuSnapshot());
    log(`all (Show older messages, clicked): ${JSON.stringify(clickRun)}`);

    // The same run's floor in this page: WebCrypto alone (one Ed25519 verify and one AES-256-GCM
    // decrypt per envelope, all at once, base64url decoding included), no network, no rendering.
    const rawKey = (await keys.exportAll()).find((k) => k.roomId === ROOM && k.epoch === epoch)!.raw;
    const runCryptoFloor = () =>
      page.evaluate(
        async ({ envs, rawKeyB64, signingKeyB64 }) => {
          const dec = (s: string) => {
            const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
            const out = new Uint8Array(b.length);
            for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
            return out;
          };
          const aes = await crypto.subtle.importKey("raw", dec(rawKeyB64), { name: "AES-GCM" }, false, ["decrypt"]);
          const ed = await crypto.subtle.importKey("raw", dec(signingKeyB64), { name: "Ed25519" }, false, ["verify"]);
          const t0 = performance.now();
          await Promise.all(
            envs.map(async ([iv, ct, sig]) => {
              const c = dec(ct);
              await crypto.subtle.verify({ name: "Ed25519" }, ed, dec(sig), c);
              await crypto.subtle.decrypt({ name: "AES-GCM", iv: dec(iv) }, aes, c).catch(() => undefined);
            }),
          );
          return performance.now() - t0;
        },
        {
          envs: all.map((e) => [e.iv, e.ciphertext, e.signature] as [string, string, string]),
          rawKeyB64: Buffer.from(rawKey).toString("base64url"),
          signingKeyB64: signingKey,
        },
      );
    const cryptoFloor = await runCryptoFloor();
    log(`in-page WebCrypto floor for ${all.length}: ${round(cryptoFloor, 1)} ms`);

    // The server's answer to pages of 1,000 while the page's WebCrypto is busy (the same floor run
    // again, the Node client's bare fetch beside it): what CPU contention alone does to a request,
    // with no browser main thread between the socket and the answer.
    await sleep(6000); // the address's history budget refills
    const [, bareContended] = await Promise.all([runCryptoFloor(), sleep(200).then(() => bareFetch(LIMITS.maxHistoryFetch))]);
    log(`bare fetch of pages of ${LIMITS.maxHistoryFetch} beside the page's WebCrypto: ${round(bareContended.requestMs, 1)} ms`);

    const breakdownOf = (r: { ms: number; breakdown: Breakdown }) => ({
      pages: r.breakdown.fetchCount,
      fetchSumMs: round(r.breakdown.fetchMs, 1),
      verifyDecryptSumMs: round(r.breakdown.openMs, 1),
      storeMergeSumMs: round(r.breakdown.commitMs, 1),
      lastMergeAtMs: round(r.breakdown.lastCommitEnd, 1),
      renderAfterLastMergeMs: round(r.ms - r.breakdown.lastCommitEnd, 1),
      mainThreadLongTasks: {
        count: r.breakdown.longTasks.count,
        sumMs: round(r.breakdown.longTasks.sumMs, 0),
        maxMs: round(r.breakdown.longTasks.maxMs, 0),
        over100msAt: r.breakdown.longTasks.over100,
      },
      note: "sums over pages; a page's fetch overlaps the verify + decrypt of the page before it",
    });
    const newestFromRoom = nav.newestShown !== null && nav.roomShown !== null ? nav.newestShown - nav.roomShown : null;
    // The history budget's floor for one connection reading TOTAL rows from a full bucket.
    const budgetFloorMs = Math.max(0, ((TOTAL - LIMITS.historyRowBurst) / LIMITS.historyRowsPerSecond) * 1000);
    const doc = {
      bench: "history",
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => round(x, 2)) },
      setup: {
        messages: TOTAL,
        relayedThroughServer: RELAYED,
        writtenToTable: TOTAL - RELAYED,
        textChars: textOf(0).length,
        build: `next build (production) into ${DIST}`,
        browser: "Debian chromium, headless; the reader's tab comes back to the room (identity and epoch keys from IndexedDB)",
        pageSize: { uiNewest: 100, uiOlder: 200, uiAll: LIMITS.maxHistoryFetch, nodeBareFetch: 200 },
      },
      storage: {
        envelopeBytesMean: round(meanEnvelope, 1),
        storedBytesPerMessage: round(perMessage, 1),
        ratio: round(perMessage / meanEnvelope, 3),
        tables: pages,
      },
      server: {
        historyFetchRowsPerSecond: round(fetched / (requestMs / 1000), 0),
        bareFetchRequestMs: round(requestMs, 1),
        bareFetchWallMs: round(bareWallMs, 1),
        bareFetchRateLimitedRetries: rateLimited,
        bulkPage: LIMITS.maxHistoryFetch,
        bulkHistoryFetchRowsPerSecond: round(bareBulk.fetched / (bareBulk.requestMs / 1000), 0),
        bulkFetchRequestMs: round(bareBulk.requestMs, 1),
        bulkFetchWallMs: round(bareBulk.wallMs, 1),
        bulkFetchRateLimitedRetries: bareBulk.rateLimited,
        bulkFetchBesidePageWebCryptoRequestMs: round(bareContended.requestMs, 1),
        bulkFetchBesidePageWebCryptoRateLimitedRetries: bareContended.rateLimited,
      },
      node: {
        verifyDecrypt10kMs: round(nodeCryptoMs, 1),
        clientFetchVerifyDecryptWallMs: round(fullWallMs, 1),
        clientMessagesOk: fullOk,
        ratioClientToBareWall: round(fullWallMs / bareWallMs, 2),
        loadAllWallMs: round(fullAllWallMs, 1),
        loadAllMessagesOk: fullAllOk,
        ratioLoadAllToNodeCrypto: round(fullAllWallMs / nodeCryptoMs, 2),
      },
      browser: {
        navigationToRoomShownMs: nav.roomShown !== null ? round(nav.roomShown, 1) : null,
        navigationToNewestReadableMs: nav.newestShown !== null ? round(nav.newestShown, 1) : null,
        roomShownToNewestReadableMs: newestFromRoom !== null ? round(newestFromRoom, 1) : null,
        newestPageSteps: { ...nav.steps, note: "[start, end] ms from navigation start: the newest page's request, verify + decrypt, merge" },
        all10kMs: round(allRun.ms, 1),
        webCryptoFloor10kMs: round(cryptoFloor, 1),
        ratioAll10kToWebCryptoFloor: round(allRun.ms / cryptoFloor, 2),
        all10kVia: "Show all history (ChatClient.loadAllHistory)",
        all10kRendered: allRun.rendered,
        all10kOldestFirst: allRun.firstIsOldest,
        unavailable: allRun.unavailable,
        all10kBreakdown: breakdownOf(allRun),
        all10kPages: { fetches: allRun.breakdown.fetches, opens: allRun.breakdown.opens, note: "[start, duration] ms from the click" },
        all10kCpuMs: allCpu,
        clicked10kMs: round(clickRun.ms, 1),
        ratioClicked10kToWebCryptoFloor: round(clickRun.ms / cryptoFloor, 2),
        clicked10kClicks: clickRun.clicks,
        clicked10kRendered: clickRun.rendered,
        clicked10kOldestFirst: clickRun.firstIsOldest,
        clicked10kBreakdown: breakdownOf(clickRun),
        clicked10kCpuMs: clickCpu,
      },
      targets: {
        newestPageReadableMs: {
          target: 300,
          got: newestFromRoom !== null ? round(newestFromRoom, 1) : null,
          met: newestFromRoom !== null && newestFromRoom <= 300,
        },
        all10kMs: {
          target: 2000,
          got: round(allRun.ms, 1),
          met: allRun.ms <= 2000,
          historyBudgetFloorMs: budgetFloorMs,
          note: `history:fetch has its own budget (${LIMITS.historyRowBurst} rows per connection, then ${LIMITS.historyRowsPerSecond}/s): ${TOTAL} rows fit in one burst`,
        },
        storageRatio: { target: 1.5, got: round(perMessage / meanEnvelope, 3), met: perMessage / meanEnvelope <= 1.5 },
      },
      wallSeconds: round((Date.now() - started) / 1000, 1),
      medianEnvelopeBytes: median(envelopeBytes),
    };
    const json = JSON.stringify(doc, null, 2) + "\n";
    process.stdout.write(json);
    writeFileSync(path.join(__dirname, "history.bench.result.json"), json);
  } finally {
    for (const c of clients) c.close();
    await browser?.close().catch(() => undefined);
    db?.close();
    if (server) await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
