/**
 * npm run bench:browser: BB84 between two Chromium pages (Debian's /usr/bin/chromium through
 * playwright-core) in one room of a PRODUCTION build (next build into .next-bench, then the real
 * server, server/main.ts), beside the same session between two Node ChatClients through the same
 * server, and the same session in-process, in the same run.
 *
 * Prints ONE JSON document on stdout (progress on stderr) and saves it to
 * bench/browser.bench.result.json. For 16,384, 10^5 and 10^6 qubits at 2% channel noise (the
 * panel's default Cascade variant):
 *   (1) in-process: lib/qkd runLocal, Alice and Bob in one thread;
 *   (2) node: two ChatClients in this process (engines in-thread) over the relay, from
 *       startBb84 to the server's verdict;
 *   (3) browser: Alice's page sets the qubits in the BB84 panel and clicks "start" on Bob's member
 *       row; the time runs from the click until both pages show the session as successful, on the
 *       pages' own clocks (the click event in Alice's page, each page's MutationObserver seeing the
 *       outcome; harnessEndToEndMs is the same timed around playwright's click, actionability checks
 *       and CDP answers included) (each
 *       party's engine runs in its page's Web Worker, which carries the frames over a connection of
 *       its own: a BB84 worker connection);
 *   (3') browserPageConnection: the same on a second server of the same build started with
 *       QSEC_BB84_WORKER_LINKS=0 (two more pages): the frames go through each page's main thread
 *       and its connection, the path before worker connections, interleaved with (3) in the same run.
 * For (2) and (3) the figures of the session come from the server's stored summary (the
 * benchmark owns the server's SQLite file and reads the Bb84Session row): Cascade round trips,
 * the engines' compute per stage (both parties added up) and the server's own start → verdict
 * window. msPerRoundTrip = end-to-end ÷ round trips; waitMsPerRoundTrip = (end-to-end − engine
 * compute) ÷ round trips, the part of a round trip that is neither party computing.
 *
 * Where a round trip goes ("path", per party, medians per Cascade round trip): each client's
 * lib/client/bb84-path-stats.ts figures (a page's User Timing entry "qsec:bb84"; a Node client's
 * final live view): queue (frame arrival → the session takes it), party (the answer to a frame:
 * open + engine + seal where the party runs, the Web Worker in a page; workerHop is the rest),
 * peerWait (our frames handed to the relay → the peer's next frame: two relay legs and the peer's
 * own step), relayAck per frame (emit → the server's ack, a client ↔ server round trip; off the
 * protocol's path since the session no longer waits for it; of the frames sent with an ack: a
 * worker connection sends Cascade's small frames without one, framesWithoutAck).
 *
 * The floor (bench/lib/relay-floor.ts), before and after the sessions: a bare Socket.IO server
 * forwarding a 512-byte frame between two Chromium Web Workers (each in its own browser context,
 * each with its own websocket), and between two Node sockets; nothing of QSEC on the path. What a
 * session's round trip costs above it is QSEC's (the parties' compute, sealing, the server's checks).
 *
 * Production builds expose no dev hooks, so the pages are driven through their UI only.
 * Flags: --no-build (reuse an existing .next-bench build)  --quick (16,384 and 10^5 only, 2 reps)
 *        --reps=N (N repetitions of each size; a loaded machine needs more)
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import type { Browser, Page } from "playwright-core";
import { ChatClient, MemoryStorage } from "@/lib/client";
import { generateIdentity } from "@/lib/crypto";
import { DEFAULT_CASCADE_VARIANT } from "@/lib/qkd/cascade";
import { runLocal } from "@/lib/qkd/run";
import { buildApp, startAppServer, type AppServer } from "@/__tests__/e2e/helpers/app-server";
import { launchChromium, openRoom, waitForRoom } from "@/__tests__/e2e/helpers/browser";
import { measureRelayFloor, type RelayFloor } from "./lib/relay-floor";
import { median, round } from "./lib/stats";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const noBuild = argv.includes("--no-build");
const DIST = ".next-bench";
const ROOT = path.resolve(__dirname, "..");
const SIZES = quick ? [16_384, 100_000] : [16_384, 100_000, 1_000_000];
const repsArg = argv.find((a) => a.startsWith("--reps="));
const repsFor = (n: number) => (repsArg ? Math.max(1, Number(repsArg.slice(7)) || 1) : quick ? 2 : n >= 1e6 ? 2 : 3);
const NOISE = 0.02;
const VARIANT = DEFAULT_CASCADE_VARIANT;
const ROOM_BROWSER = "bench-browser";
const ROOM_NODE = "bench-node";
const log = (m: string) => process.stderr.write(`[bench:browser] ${m}\n`);

/** One party's lib/client/bb84-path-stats.ts figures for a session (its page's User Timing entry). */
type PathDetail = Record<string, number | string | null>;

interface Run {
  /** Browser runs: each page's breakdown of where its session's time went. */
  path?: { alice: PathDetail | null; bob: PathDetail | null };
  ms: number;
  /** Browser runs: the same, timed by this process around playwright's click and the pages' answers (actionability checks and CDP hops included). */
  harnessMs?: number;
  serverMs: number | null;
  roundTrips: number | null;
  engineMs: number | null;
  finalLength: number | null;
}

interface Row {
  id: string;
  outcome: string;
  abortCode: string | null;
  abortReason: string | null;
  abortedBy: string | null;
  roundTrips: number | null;
  finalLength: number | null;
  durations: string;
  startedAt: number | string;
  finishedAt: number | string | null;
}

async function until(cond: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The server's stored summary of a finished session (the row is written at the verdict). */
async function sessionRow(db: Database.Database, where: { id?: string; roomId?: string; after?: Set<string> }): Promise<Row> {
  const t0 = Date.now();
  for (;;) {
    const rows = (
      where.id
        ? db.prepare("SELECT * FROM Bb84Session WHERE id = ?").all(where.id)
        : db.prepare("SELECT * FROM Bb84Session WHERE roomId = ? ORDER BY startedAt DESC").all(where.roomId)
    ) as Row[];
    const row = rows.find((r) => !where.after?.has(r.id));
    if (row && row.outcome !== "running") return row;
    if (Date.now() - t0 > 10_000) throw new Error("the session's summary was not stored");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Prisma stores a DateTime in SQLite as epoch milliseconds (or an ISO string in older rows). */
const time = (v: number | string) => (typeof v === "number" ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v));

function figures(row: Row, ms: number): Run {
  if (row.outcome !== "success") throw new Error(`session ${row.id} ended ${row.outcome}: ${row.abortCode} (${row.abortReason}) by ${row.abortedBy}`);
  let durations: Record<string, number> = {};
  try {
    durations = JSON.parse(row.durations) as Record<string, number>;
  } catch {
    /* keep {} */
  }
  const engineMs = Object.entries(durations)
    .filter(([k]) => k !== "total")
    .reduce((a, [, v]) => a + v, 0);
  return {
    ms,
    serverMs: row.finishedAt !== null ? time(row.finishedAt) - time(row.startedAt) : null,
    roundTrips: row.roundTrips,
    engineMs,
    finalLength: row.finalLength,
  };
}

/**
 * Per round trip, median over the runs, for one party: the wait for its session's queue, the
 * party's answer (open + engine + seal, where the party runs) and the hop to it and back, the
 * relay's ack per frame (off the critical path), and the wait for the peer after sending.
 */
function pathSummary(runs: Run[], who: "alice" | "bob") {
  const per = (f: (d: PathDetail, rt: number) => number) =>
    round(
      median(
        runs
          .map((r) => {
            const d = r.path?.[who];
            const rt = r.roundTrips;
            return d && rt ? f(d, rt) : NaN;
          })
          .filter((x) => Number.isFinite(x)),
      ),
      3,
    );
  const n = (d: PathDetail, k: string) => Number(d[k] ?? 0);
  return {
    queueMsPerRt: per((d, rt) => n(d, "queueMs") / rt),
    partyMsPerRt: per((d, rt) => n(d, "partyMs") / rt),
    openMsPerRt: per((d, rt) => n(d, "openMs") / rt),
    engineMsPerRt: per((d, rt) => n(d, "engineMs") / rt),
    sealMsPerRt: per((d, rt) => n(d, "sealMs") / rt),
    workerHopMsPerRt: per((d, rt) => (n(d, "partyMs") - n(d, "openMs") - n(d, "engineMs") - n(d, "sealMs")) / rt),
    peerWaitMsPerRt: per((d, rt) => n(d, "peerWaitMs") / rt),
    relayAckMsPerFrame: per((d) => (n(d, "acked") ? n(d, "relayAckMs") / n(d, "acked") : NaN)),
    framesWithoutAck: per((d) => n(d, "relayed") - n(d, "acked")),
    framesReceived: per((d) => n(d, "frames")),
    /** Frames that came over the party's own connection (its Web Worker's BB84 worker connection). */
    framesOverLink: per((d) => n(d, "linked")),
  };
}

function summarize(runs: Run[]) {
  const ms = median(runs.map((r) => r.ms));
  const rts = median(runs.map((r) => r.roundTrips ?? 0));
  const engine = median(runs.map((r) => r.engineMs ?? 0));
  const perRt = median(runs.map((r) => (r.roundTrips ? r.ms / r.roundTrips : NaN)));
  const waitPerRt = median(runs.map((r) => (r.roundTrips ? (r.ms - (r.engineMs ?? 0)) / r.roundTrips : NaN)));
  return {
    endToEndMs: { median: round(ms, 1), runs: runs.map((r) => round(r.ms, 1)) },
    ...(runs[0]?.harnessMs !== undefined && { harnessEndToEndMs: round(median(runs.map((r) => r.harnessMs ?? NaN)), 1) }),
    serverWindowMs: round(median(runs.map((r) => r.serverMs ?? NaN)), 1),
    engineMs: round(engine, 1),
    roundTrips: { median: rts, runs: runs.map((r) => r.roundTrips) },
    msPerRoundTrip: round(perRt, 2),
    waitMsPerRoundTrip: round(waitPerRt, 2),
    finalLengthMedian: median(runs.map((r) => r.finalLength ?? 0)),
  };
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-bench-browser-"));
  const dbFile = path.join(tmp, "bench.db");
  let server: AppServer | null = null;
  /** The same build with BB84 worker connections off (QSEC_BB84_WORKER_LINKS=0): the page-connection path, same run. */
  let server2: AppServer | null = null;
  let db2: Database.Database | null = null;
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
    db = new Database(dbFile, { readonly: true, fileMustExist: true });
    const dbFile2 = path.join(tmp, "bench-page.db");
    server2 = await startAppServer({ distDir: DIST, production: true, env: { DATABASE_URL: `file:${dbFile2}`, QSEC_BB84_WORKER_LINKS: "0" } });
    log(`server without BB84 worker connections at ${server2.url}`);
    db2 = new Database(dbFile2, { readonly: true, fileMustExist: true });

    // Node pair, and a helper that sets the browser room's channel.
    const makeClient = async (url = server!.url) => {
      const c = new ChatClient({ url, identity: await generateIdentity(), storage: new MemoryStorage(), requestTimeoutMs: 60_000 });
      clients.push(c);
      await c.connect();
      return c;
    };
    const [alice, bob] = await Promise.all([makeClient(), makeClient()]);
    await alice.join(ROOM_NODE, "alice");
    await bob.join(ROOM_NODE, "bob");
    await until(() => alice.state.rooms[ROOM_NODE]?.members.length === 2 && bob.state.rooms[ROOM_NODE]?.members.length === 2, 10_000, "both members");
    await alice.setChannel(ROOM_NODE, { noise: NOISE, loss: 0, eve: 0 });
    await until(() => bob.state.rooms[ROOM_NODE]?.channel.noise === NOISE, 5000, "channel settings");

    browser = await launchChromium();
    const pagePair = async (url: string) => {
      const pa: Page = await openRoom(browser!, url, ROOM_BROWSER, "Alice");
      const first = await waitForRoom(pa, { members: 1 });
      const pb: Page = await openRoom(browser!, url, ROOM_BROWSER, "Bob");
      const e = await waitForRoom(pb, { members: 2, minEpoch: first + 1 });
      await waitForRoom(pa, { members: 2, minEpoch: e });
      // The channel is set by a third member that then leaves (the panel's drawer does the same through the UI).
      const setter = await makeClient(url);
      await setter.join(ROOM_BROWSER, "setter");
      await setter.setChannel(ROOM_BROWSER, { noise: NOISE, loss: 0, eve: 0 });
      await setter.leave(ROOM_BROWSER);
      for (const p of [pa, pb]) {
        await p.waitForFunction((noise) => Number(document.querySelector('[data-testid="bb84-channel"]')?.getAttribute("data-noise")) === noise, NOISE);
        await waitForRoom(p, { members: 2 });
      }
      return { pa, pb };
    };
    const { pa, pb } = await pagePair(server.url);
    const pages2 = await pagePair(server2.url);

    // Two users on two machines each see their own page: both pages must be visible (a hidden tab's
    // timers and animation frames are throttled). Each page is its own browser context, and
    // headless Chromium shows every page as visible and focused; recorded here rather than assumed.
    const pageState = (p: Page) => p.evaluate(() => `${document.visibilityState}${document.hasFocus() ? ", focused" : ""}`);
    const visibility = { alice: await pageState(pa), bob: await pageState(pb) };
    if (visibility.alice.startsWith("hidden") || visibility.bob.startsWith("hidden")) throw new Error(`a page is hidden: ${JSON.stringify(visibility)}`);

    const [pa1, pb1, db1] = [pa, pb, db];
    const inProcess = (n: number) => {
      const t0 = performance.now();
      const r = runLocal({ qubits: n, noise: NOISE, cascade: VARIANT, eveFinalKeyGuess: false });
      const ms = performance.now() - t0;
      if (!r.ok) throw new Error(`in-process run aborted: ${r.abort?.message}`);
      return { ms, roundTrips: r.cascade?.roundTrips ?? null, finalLength: r.finalKeyLength };
    };
    const overNode = async (n: number): Promise<Run> => {
      const t0 = performance.now();
      const v = await alice.startBb84(ROOM_NODE, bob.userId, { qubits: n, cascadeVariant: VARIANT });
      const ms = performance.now() - t0;
      const row = await sessionRow(db!, { id: v.sessionId });
      // Bob's final view carries his figures (the verdict reaches both clients at about the same time).
      const bobView = () => bob.state.rooms[ROOM_NODE]?.bb84.live.find((l) => l.sessionId === v.sessionId);
      await until(() => !!bobView()?.path, 10_000, "Bob's end of the session");
      const asDetail = (p: object | undefined) => (p ? ({ ...p } as PathDetail) : null);
      return { ...figures(row, ms), path: { alice: asDetail(v.path), bob: asDetail(bobView()?.path) } };
    };
    const overBrowser = async (n: number, withLinks = true): Promise<Run> => {
      const { pa, pb } = withLinks ? { pa: pa1, pb: pb1 } : pages2;
      const db = withLinks ? db1 : db2!;
      const before = new Set(((db.prepare("SELECT id FROM Bb84Session WHERE roomId = ?").all(ROOM_BROWSER) as { id: string }[]) ?? []).map((r) => r.id));
      const shown = async (p: Page) => p.locator('[data-testid="bb84-live"]').evaluateAll((els) => els.map((el) => el.getAttribute("data-session-id")));
      const seen = new Set([...(await shown(pa)), ...(await shown(pb))]);
      await pa.getByTestId("bb84-qubits").fill(String(n));
      const sel = '[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]';
      await pa.waitForFunction((s) => {
        const b = document.querySelector(s) as HTMLButtonElement | null;
        return !!b && !b.disabled;
      }, sel);
      // Resolved by a MutationObserver in the page when a new session's status leaves "running": no
      // polling delay in the time, and no callback every animation frame (which would keep both
      // pages rendering, on the main thread the frames need).
      const done = (p: Page) =>
        Promise.race([
          // A string, not a function: tsx's keepNames would wrap named helpers in __name, unknown in the page.
          p.evaluate(`new Promise((resolve) => {
            const old = ${JSON.stringify([...seen])};
            const finished = () => [...document.querySelectorAll('[data-testid="bb84-live"]')].some(
              (el) => !old.includes(el.getAttribute("data-session-id") ?? "") && el.getAttribute("data-status") !== "running");
            // The moment the page shows it (its clock: performance.timeOrigin + now, shared by both pages).
            const at = () => performance.timeOrigin + performance.now();
            if (finished()) return resolve(at());
            const mo = new MutationObserver(() => {
              if (!finished()) return;
              mo.disconnect();
              resolve(at());
            });
            mo.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status", "data-session-id"] });
          })`),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the session did not end within 180 s")), 180_000).unref()),
        ]);
      // End to end as a user sees it: from the click's event in Alice's page to the later of the two
      // pages showing the outcome, on the pages' own clocks (playwright's actionability checks before
      // the click and the CDP hops after are the harness's, not the product's: reported apart).
      // A string, for the same reason as done()'s.
      await pa.evaluate(`(() => {
        delete window.__qsecClickAt;
        const onClick = (e) => {
          if (!(e.target instanceof Element) || !e.target.closest(${JSON.stringify(sel)})) return;
          window.__qsecClickAt = performance.timeOrigin + performance.now();
          document.removeEventListener("click", onClick, true);
        };
        document.addEventListener("click", onClick, true);
      })()`);
      // Observing before the click: an outcome shown at once is not missed.
      const shownA = done(pa);
      const shownB = done(pb);
      const t0 = performance.now();
      await pa.locator(sel).click();
      const shownAt = (await Promise.all([shownA, shownB])) as number[];
      const harnessMs = performance.now() - t0;
      const clickAt = await pa.evaluate(() => (window as unknown as { __qsecClickAt?: number }).__qsecClickAt);
      if (clickAt === undefined) throw new Error("the click did not reach Alice's page");
      const ms = Math.max(...shownAt) - clickAt;
      const row = await sessionRow(db, { roomId: ROOM_BROWSER, after: before });
      const pathOf = (p: Page) =>
        p.evaluate(
          (id) =>
            (performance.getEntriesByName("qsec:bb84", "measure") as PerformanceMeasure[])
              .map((e) => e.detail as Record<string, unknown>)
              .find((d) => d?.sessionId === id) ?? null,
          row.id,
        ) as Promise<PathDetail | null>;
      return { ...figures(row, ms), harnessMs, path: { alice: await pathOf(pa), bob: await pathOf(pb) } };
    };

    log("warm-up (JIT, workers, WebCrypto): not recorded");
    inProcess(16_384);
    await overNode(16_384);
    await overBrowser(16_384);
    await overBrowser(16_384, false);

    // The floor under a round trip (bench/lib/relay-floor.ts: a bare Socket.IO forwarder, Chromium
    // workers and Node sockets), before and after the sessions: the machine's load moves it.
    log("relay floor (bare Socket.IO forwarder): before");
    const floors: RelayFloor[] = [await measureRelayFloor(browser)];

    const results: Record<string, unknown> = {};
    for (const n of SIZES) {
      const reps = repsFor(n);
      const local: ReturnType<typeof inProcess>[] = [];
      const node: Run[] = [];
      const web: Run[] = [];
      const webPage: Run[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? ["local", "node", "browser", "browserPage"] : ["browserPage", "browser", "node", "local"];
        for (const kind of order) {
          log(`n=${n} rep ${rep + 1}/${reps}: ${kind}`);
          if (kind === "local") local.push(inProcess(n));
          else if (kind === "node") node.push(await overNode(n));
          else if (kind === "browser") web.push(await overBrowser(n));
          else webPage.push(await overBrowser(n, false));
        }
      }
      const bp = summarize(webPage);
      const lm = median(local.map((r) => r.ms));
      const b = summarize(web);
      const nd = summarize(node);
      results[String(n)] = {
        qubits: n,
        inProcess: {
          ms: { median: round(lm, 1), runs: local.map((r) => round(r.ms, 1)) },
          roundTrips: median(local.map((r) => r.roundTrips ?? 0)),
          finalLengthMedian: median(local.map((r) => r.finalLength)),
        },
        browser: {
          ...b,
          ratioToInProcess: round(b.endToEndMs.median / lm, 2),
          path: { alice: pathSummary(web, "alice"), bob: pathSummary(web, "bob") },
        },
        // The same pages' path without BB84 worker connections (a server with QSEC_BB84_WORKER_LINKS=0):
        // frames through each page's main thread and its connection, as before issue 14's last step.
        browserPageConnection: {
          ...bp,
          ratioToInProcess: round(bp.endToEndMs.median / lm, 2),
          path: { alice: pathSummary(webPage, "alice"), bob: pathSummary(webPage, "bob") },
        },
        node: {
          ...nd,
          ratioToInProcess: round(nd.endToEndMs.median / lm, 2),
          path: { alice: pathSummary(node, "alice"), bob: pathSummary(node, "bob") },
        },
      };
    }
    log("relay floor (bare Socket.IO forwarder): after");
    floors.push(await measureRelayFloor(browser));
    const floorMedian = (k: "chromiumWorkers" | "node") => round(median(floors.map((f) => f[k].msPerRoundTrip.median)), 3);
    const r16 = results["16384"] as { browser: ReturnType<typeof summarize> } | undefined;
    const r5 = results["100000"] as { browser: { ratioToInProcess: number }; node: { ratioToInProcess: number } } | undefined;
    const r6 = results["1000000"] as { browser: { ratioToInProcess: number } } | undefined;
    const allBrowser = Object.values(results).map((r) => (r as { browser: ReturnType<typeof summarize> }).browser.msPerRoundTrip);
    const doc = {
      bench: "browser",
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => round(x, 2)) },
      setup: {
        noise: NOISE,
        cascadeVariant: VARIANT,
        build: `next build (production) into ${DIST}`,
        browser:
          "Debian chromium, headless, two contexts (pages) in one room; BB84 parties in Web Workers, each carrying its frames over a connection of its own (bb84:route) when the server allows it",
        pageVisibility: visibility,
        node: "two ChatClients in this process (engines in-thread) through the same server",
      },
      targets: {
        browserMsPerRoundTrip: {
          target: 3,
          worst: round(Math.max(...allBrowser), 2),
          met: Math.max(...allBrowser) <= 3,
          // A bare relay's round trip between two Chromium workers, same run: no session can go under it.
          bareRelayFloorMedian: floorMedian("chromiumWorkers"),
        },
        browser16384EndToEndMs: r16 ? { target: 500, got: r16.browser.endToEndMs.median, met: r16.browser.endToEndMs.median <= 500 } : null,
        browser1e6RatioToInProcess: r6 ? { target: 2, got: r6.browser.ratioToInProcess, met: r6.browser.ratioToInProcess <= 2 } : null,
        relay1e5RatioToInProcess: r5
          ? {
              target: 3,
              browser: r5.browser.ratioToInProcess,
              node: r5.node.ratioToInProcess,
              met: Math.max(r5.browser.ratioToInProcess, r5.node.ratioToInProcess) <= 3,
            }
          : null,
      },
      // Bare Socket.IO forwarder, before and after the sessions (bench/lib/relay-floor.ts).
      relayFloor: {
        what: "a bare Socket.IO server forwarding a 512-byte frame between two parties, no QSEC on the path; ms per round trip (A → server → B → server → A)",
        chromiumWorkersMedian: floorMedian("chromiumWorkers"),
        nodeMedian: floorMedian("node"),
        runs: floors,
      },
      // Same run, same pages' code: frames over each worker's own connection vs through the page.
      workerConnections: Object.fromEntries(
        Object.entries(results).map(([n, r]) => {
          const x = r as { browser: ReturnType<typeof summarize>; browserPageConnection: ReturnType<typeof summarize> };
          return [
            n,
            {
              msPerRoundTrip: { workerConnection: x.browser.msPerRoundTrip, pageConnection: x.browserPageConnection.msPerRoundTrip },
              endToEndMs: { workerConnection: x.browser.endToEndMs.median, pageConnection: x.browserPageConnection.endToEndMs.median },
            },
          ];
        }),
      ),
      results,
      wallSeconds: round((Date.now() - started) / 1000, 1),
    };
    const json = JSON.stringify(doc, null, 2) + "\n";
    process.stdout.write(json);
    writeFileSync(path.join(__dirname, "browser.bench.result.json"), json);
  } finally {
    for (const c of clients) c.close();
    await browser?.close().catch(() => undefined);
    db?.close();
    db2?.close();
    if (server) await server.stop();
    if (server2) await server2.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
