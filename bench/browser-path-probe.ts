/**
 * Probe (not a benchmark): where does one browser BB84 round trip go, on a PRODUCTION build
 * (`.next-bench`, made by `npm run bench:browser`; this script never builds)? Two Chromium pages in
 * separate contexts, 16,384 qubits at 2% noise, a few sessions after a warm-up.
 *
 * Every WebSocket message of both pages is timestamped in the page (an init script wraps the
 * page's WebSocket; wall-clock = performance.timeOrigin + performance.now(), comparable across the
 * two pages of one machine). A sealed frame's bytes are the same on both sides of the relay, so each
 * frame is matched by its first bytes and length:
 *   - leg: the sender's ws.send → the receiver's ws "message" event (both browsers' network stacks,
 *     the server, and the receiving page's main-thread queue);
 *   - turnaround: a page receives a frame → it sends the next one (socket.io decode, the session's
 *     queue, the worker hop and the party's step, the relay sender);
 *   - ack: a page's relay emit → the server's ack arriving.
 * Also per page: document.visibilityState and hasFocus(), long tasks (≥ 50 ms) during the session,
 * and (with TRACE=1) a Chrome trace of Bob's page during the last session: its long tasks and what ran in them.
 *
 * Usage: npx tsx bench/browser-path-probe.ts [sessions=4]
 */
import path from "node:path";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { startAppServer } from "@/__tests__/e2e/helpers/app-server";
import { launchChromium, waitForRoom } from "@/__tests__/e2e/helpers/browser";
import { ChatClient, MemoryStorage } from "@/lib/client";
import { generateIdentity } from "@/lib/crypto";
import { median, round } from "./lib/stats";

const DIST = ".next-bench";
const N = 16_384;
const SESSIONS = Number(process.argv[2] ?? 4);

/** Installed before any page script: timestamps every WebSocket message (binary ones with a key). */
const INIT = `(() => {
  const log = (window.__wsLog = []);
  const at = () => performance.timeOrigin + performance.now();
  const keyOf = (d) => {
    const u = d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
    if (!u) return null;
    let h = u.byteLength + ":";
    for (let i = 0; i < Math.min(24, u.byteLength); i++) h += u[i].toString(16).padStart(2, "0");
    return h;
  };
  const Orig = window.WebSocket;
  const send = Orig.prototype.send;
  Orig.prototype.send = function (d) {
    log.push({ d: "s", t: at(), k: typeof d === "string" ? null : keyOf(d), p: typeof d === "string" ? d.slice(0, 24) : null });
    return send.call(this, d);
  };
  window.WebSocket = new Proxy(Orig, {
    construct(target, args) {
      const ws = new target(...args);
      ws.addEventListener("message", (e) => log.push({ d: "r", t: at(), k: typeof e.data === "string" ? null : keyOf(e.data), p: typeof e.data === "string" ? e.data.slice(0, 24) : null }));
      return ws;
    },
  });
  window.__longTasks = [];
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push({ t: performance.timeOrigin + e.startTime, d: e.duration }); }).observe({ type: "longtask", buffered: true });
  } catch {}
})();`;

type Ev = { d: "s" | "r"; t: number; k: string | null; p: string | null };

async function session(alice: Page, bob: Page) {
  await alice.getByTestId("bb84-qubits").fill(String(N));
  const sel = '[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]';
  await alice.waitForFunction((s) => {
    const b = document.querySelector(s) as HTMLButtonElement | null;
    return !!b && !b.disabled;
  }, sel);
  const seen = await alice.locator('[data-testid="bb84-live"]').evaluateAll((els) => els.map((el) => el.getAttribute("data-session-id")));
  for (const p of [alice, bob]) await p.evaluate("window.__wsLog.length = 0; window.__longTasks.length = 0;");
  const t0 = Date.now();
  await alice.locator(sel).click();
  for (const p of [alice, bob])
    await p.waitForFunction(
      (old) =>
        [...document.querySelectorAll('[data-testid="bb84-live"]')].some(
          (el) => !old.includes(el.getAttribute("data-session-id")) && el.getAttribute("data-status") !== "running",
        ),
      seen,
      { timeout: 60_000, polling: 50 },
    );
  const ms = Date.now() - t0;
  const grab = (p: Page) =>
    p.evaluate(`({ ws: window.__wsLog.slice(), lt: window.__longTasks.slice(), vis: document.visibilityState, focus: document.hasFocus(),
      path: (performance.getEntriesByName("qsec:bb84", "measure").slice(-1)[0] || {}).detail || null })`) as Promise<{
      ws: Ev[];
      lt: { t: number; d: number }[];
      vis: string;
      focus: boolean;
      path: Record<string, number> | null;
    }>;
  const [a, b] = await Promise.all([grab(alice), grab(bob)]);
  const sends = new Map<string, { who: string; t: number }>();
  for (const [who, x] of [
    ["alice", a],
    ["bob", b],
  ] as const)
    for (const e of x.ws) if (e.d === "s" && e.k) sends.set(e.k, { who, t: e.t });
  const legs: number[] = [];
  const turn: Record<string, number[]> = { alice: [], bob: [] };
  const acks: Record<string, number[]> = { alice: [], bob: [] };
  for (const [who, x] of [
    ["alice", a],
    ["bob", b],
  ] as const) {
    let lastRecv: number | null = null;
    let lastRelay: number | null = null;
    for (const e of x.ws) {
      if (e.d === "r" && e.k) {
        const s = sends.get(e.k);
        if (s && s.who !== who) legs.push(e.t - s.t);
        lastRecv = e.t;
      } else if (e.d === "s" && e.k) {
        if (lastRecv !== null) turn[who].push(e.t - lastRecv);
        lastRecv = null;
      } else if (e.d === "s" && e.p?.startsWith("451-")) lastRelay = e.t;
      else if (e.d === "r" && e.p?.startsWith("43") && lastRelay !== null) {
        acks[who].push(e.t - lastRelay);
        lastRelay = null;
      }
    }
  }
  const stat = (xs: number[]) => ({
    n: xs.length,
    median: round(median(xs), 2),
    sum: round(
      xs.reduce((s, x) => s + x, 0),
      1,
    ),
  });
  return {
    ms,
    roundTrips: a.path?.roundTrips ?? null,
    legMs: stat(legs),
    turnaroundMs: { alice: stat(turn.alice), bob: stat(turn.bob) },
    relayAckMs: { alice: stat(acks.alice), bob: stat(acks.bob) },
    longTasks: { alice: stat(a.lt.map((l) => l.d)), bob: stat(b.lt.map((l) => l.d)) },
    visibility: { alice: `${a.vis}${a.focus ? ",focused" : ""}`, bob: `${b.vis}${b.focus ? ",focused" : ""}` },
    path: { alice: a.path, bob: b.path },
  };
}

type TraceEv = {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: { url?: string; functionName?: string; type?: string } };
};

/** Bob's renderer main thread: its tasks ≥ 20 ms, and per kind of event inside them the time spent. */
function longTaskAnatomy(evs: TraceEv[]) {
  const mains = new Set(evs.filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain").map((e) => `${e.pid}:${e.tid}`));
  const busy = new Map<string, number>();
  for (const e of evs)
    if (e.name === "RunTask" && e.ph === "X" && mains.has(`${e.pid}:${e.tid}`))
      busy.set(`${e.pid}:${e.tid}`, (busy.get(`${e.pid}:${e.tid}`) ?? 0) + (e.dur ?? 0));
  const main = [...busy.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const on = evs.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === "X").sort((a, b) => a.ts - b.ts);
  const tasks = on.filter((e) => e.name === "RunTask");
  const long = tasks.filter((t) => (t.dur ?? 0) >= 20_000);
  const kinds = [
    "FunctionCall",
    "EventDispatch",
    "TimerFire",
    "FireAnimationFrame",
    "UpdateLayoutTree",
    "Layout",
    "PrePaint",
    "Paint",
    "Layerize",
    "MajorGC",
    "MinorGC",
    "RunMicrotasks",
    "HandlePostMessage",
    "ParseHTML",
    "EvaluateScript",
    "v8.compile",
    "Commit",
  ];
  const anatomy = long.map((t) => {
    const inside = on.filter((e) => e !== t && e.ts >= t.ts && e.ts + (e.dur ?? 0) <= t.ts + (t.dur ?? 0));
    const by: Record<string, number> = {};
    for (const e of inside) if (kinds.includes(e.name)) by[e.name] = round((by[e.name] ?? 0) + (e.dur ?? 0) / 1000, 1);
    const calls = inside
      .filter((e) => e.name === "FunctionCall" || e.name === "EventDispatch" || e.name === "TimerFire")
      .slice(0, 4)
      .map(
        (e) =>
          `${e.name}:${e.args?.data?.type ?? e.args?.data?.functionName ?? ""}@${(e.args?.data?.url ?? "").replace(/^.*\/_next\//, "")}:${round((e.dur ?? 0) / 1000, 1)}`,
      );
    return { ms: round((t.dur ?? 0) / 1000, 1), by, calls };
  });
  // CPU profile samples of that thread: self time per function (minified names: file:line:col locate them).
  const [pid, tid] = (main ?? "0:0").split(":").map(Number);
  type Chunk = {
    name: string;
    id?: string;
    pid: number;
    tid: number;
    args?: {
      data?: {
        cpuProfile?: {
          nodes?: { id: number; callFrame: { functionName: string; url?: string; lineNumber: number; columnNumber: number } }[];
          samples?: number[];
        };
        timeDeltas?: number[];
      };
    };
  };
  const profiles = new Map<string, { tid: number; nodes: Map<number, string>; self: Map<string, number>; total: number }>();
  for (const e of evs as unknown as Chunk[]) {
    if ((e.name !== "ProfileChunk" && e.name !== "Profile") || e.pid !== pid) continue;
    const key = e.id ?? "?";
    let p = profiles.get(key);
    if (!p) profiles.set(key, (p = { tid: e.tid, nodes: new Map(), self: new Map(), total: 0 }));
    if (e.name === "Profile") p.tid = e.tid;
    const cp = e.args?.data?.cpuProfile;
    for (const n of cp?.nodes ?? [])
      p.nodes.set(
        n.id,
        `${n.callFrame.functionName || "(anon)"}@${(n.callFrame.url ?? "").replace(/^.*\/_next\//, "")}:${n.callFrame.lineNumber}:${n.callFrame.columnNumber}`,
      );
    const deltas = e.args?.data?.timeDeltas ?? [];
    (cp?.samples ?? []).forEach((id, i) => {
      const k = p.nodes.get(id) ?? String(id);
      const d = (deltas[i] ?? 0) / 1000;
      p.self.set(k, (p.self.get(k) ?? 0) + d);
      p.total += d;
    });
  }
  const self = [...profiles.values()].find((p) => p.tid === tid)?.self ?? new Map<string, number>();
  const profileThreads = [...profiles.values()].map((p) => ({ tid: p.tid, main: p.tid === tid, ms: round(p.total, 1) }));
  const topSelf = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)
    .map(([k, v]) => [k, round(v, 1)]);
  return {
    topSelf,
    profileThreads,
    mainThreadTasks: tasks.length,
    mainThreadBusyMs: round(tasks.reduce((s, t) => s + (t.dur ?? 0), 0) / 1000, 1),
    longTasks: anatomy,
  };
}

async function main() {
  if (!existsSync(path.join(__dirname, "..", DIST, "BUILD_ID"))) throw new Error(`no production build in ${DIST}: run npm run bench:browser once`);
  const server = await startAppServer({ distDir: DIST, production: true });
  const browser = await launchChromium();
  const clients: ChatClient[] = [];
  try {
    const room = `probe-${Date.now().toString(36)}`;
    const open = async (name: string) => {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await ctx.addInitScript(INIT);
      const p = await ctx.newPage();
      await p.goto(`${server.url}/room/${room}?name=${name}`);
      await p.getByTestId("room-page").waitFor({ timeout: 60_000 });
      return p;
    };
    const alice = await open("Alice");
    const e1 = await waitForRoom(alice, { members: 1 });
    const bob = await open("Bob");
    const e2 = await waitForRoom(bob, { members: 2, minEpoch: e1 + 1 });
    await waitForRoom(alice, { members: 2, minEpoch: e2 });
    const setter = new ChatClient({ url: server.url, identity: await generateIdentity(), storage: new MemoryStorage() });
    clients.push(setter);
    await setter.connect();
    await setter.join(room, "setter");
    await setter.setChannel(room, { noise: 0.02, loss: 0, eve: 0 });
    await setter.leave(room);
    await waitForRoom(alice, { members: 2 });
    await waitForRoom(bob, { members: 2 });
    await session(alice, bob); // warm-up
    const runs = [];
    for (let i = 0; i < SESSIONS; i++) runs.push(await session(alice, bob));
    let trace: unknown = null;
    if (process.env.TRACE) {
      await browser.startTracing(bob, {
        categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "disabled-by-default-v8.cpu_profiler"],
      });
      runs.push(await session(alice, bob));
      trace = longTaskAnatomy(JSON.parse((await browser.stopTracing()).toString()).traceEvents as TraceEv[]);
    }
    console.log(JSON.stringify({ loadavg: (await import("node:os")).loadavg().map((x) => round(x, 2)), runs, trace }, null, 1));
  } finally {
    for (const c of clients) c.close();
    await browser.close().catch(() => undefined);
    await server.stop();
  }
}

void main();
