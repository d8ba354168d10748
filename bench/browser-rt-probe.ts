/**
 * Probe (not a benchmark yet): where does a browser BB84 round trip go? Two Chromium pages (dev
 * server), 16,384 qubits at 2% noise; per session: end-to-end time on Alice's page and Cascade
 * round trips (from the panel), and a Chrome trace of Bob's renderer main thread, split into
 * rendering (style/layout/paint), script by source file, and GC.
 */
import { startAppServer } from "../__tests__/e2e/helpers/app-server";
import { launchChromium, openRoom, waitForRoom } from "../__tests__/e2e/helpers/browser";
import { warmUp } from "../__tests__/e2e/helpers/warm-up";
import type { Page } from "playwright-core";

type Ev = {
  name: string;
  cat: string;
  ph: string;
  dur?: number;
  ts: number;
  pid: number;
  tid: number;
  args?: { data?: { url?: string; functionName?: string } };
};

async function session(alice: Page, bob: Page, n: number) {
  await alice.getByTestId("bb84-qubits").fill("16384");
  const btn = alice.locator('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]');
  await alice.waitForFunction(() => {
    const b = document.querySelector('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]') as HTMLButtonElement | null;
    return !!b && !b.disabled;
  });
  const t0 = Date.now();
  await btn.click();
  await alice.waitForFunction(
    (k) =>
      document.querySelectorAll('[data-testid="bb84-session-tabs"] li').length >= k ||
      (k === 1 && !!document.querySelector('[data-testid="bb84-live"][data-status="success"]')),
    n,
    { timeout: 90_000 },
  );
  await alice.locator('[data-testid="bb84-live"][data-status="success"]').first().waitFor({ timeout: 90_000 });
  const ms = Date.now() - t0;
  const rt = Number((await bob.locator('[data-testid="bb84-live"]').first().getByTestId("bb84-round-trips").textContent())!.replace(/,/g, ""));
  return { ms, rt, msPerRt: +(ms / rt).toFixed(1) };
}

async function main() {
  const server = await startAppServer({ readyTimeoutMs: 120_000 });
  const browser = await launchChromium();
  try {
    await warmUp(browser, server.url, [{ path: "/room/warm-probe?name=Warm", testId: "room-page" }]);
    const room = `probe-${Date.now().toString(36)}`;
    const alice = await openRoom(browser, server.url, room, "Alice");
    const e1 = await waitForRoom(alice, { members: 1 });
    const bob = await openRoom(browser, server.url, room, "Bob");
    const e2 = await waitForRoom(bob, { members: 2, minEpoch: e1 + 1 });
    await waitForRoom(alice, { members: 2, minEpoch: e2 });
    const plain = [];
    for (let i = 0; i < 3; i++) plain.push(await session(alice, bob, i + 1));
    // Which store updates Bob's page sees during one session (each one re-renders subscribers).
    await bob.evaluate(() => {
      const w = window as unknown as {
        __qsecStore: { subscribe(f: (s: Record<string, unknown>, p: Record<string, unknown>) => void): () => void };
        __probe: Record<string, number>;
      };
      w.__probe = {};
      w.__qsecStore.subscribe((s, p) => {
        for (const k of Object.keys(s)) {
          if (s[k] === p[k]) continue;
          if (k === "snapshot" && s.snapshot && p.snapshot) {
            const a = s.snapshot as { rooms: Record<string, Record<string, unknown>> } & Record<string, unknown>;
            const b = p.snapshot as { rooms: Record<string, Record<string, unknown>> } & Record<string, unknown>;
            for (const sk of Object.keys(a)) if (a[sk] !== b[sk] && sk !== "rooms") w.__probe[`snapshot.${sk}`] = (w.__probe[`snapshot.${sk}`] ?? 0) + 1;
            for (const r of Object.keys(a.rooms ?? {})) {
              const ra = a.rooms[r],
                rb = b.rooms?.[r];
              if (!rb || ra === rb) continue;
              for (const rk of Object.keys(ra)) if (ra[rk] !== rb[rk]) w.__probe[`room.${rk}`] = (w.__probe[`room.${rk}`] ?? 0) + 1;
            }
          }
          w.__probe[k] = (w.__probe[k] ?? 0) + 1;
        }
      });
    });
    await browser.startTracing(bob, { categories: ["devtools.timeline", "v8", "disabled-by-default-devtools.timeline"] });
    const traced = await session(alice, bob, 4);
    const buf = await browser.stopTracing();
    const evs: Ev[] = JSON.parse(buf.toString()).traceEvents;
    // Bob's renderer main thread: the thread with the most RunTask time among CrRendererMain threads.
    const names = evs.filter((e) => e.name === "thread_name" && (e.args as { name?: string })?.name === "CrRendererMain");
    const busy = new Map<string, number>();
    for (const e of evs) if (e.name === "RunTask" && e.ph === "X") busy.set(`${e.pid}:${e.tid}`, (busy.get(`${e.pid}:${e.tid}`) ?? 0) + (e.dur ?? 0));
    const mains = names.map((e) => `${e.pid}:${e.tid}`).sort((a, b) => (busy.get(b) ?? 0) - (busy.get(a) ?? 0));
    const main = mains[0];
    const on = evs.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === "X");
    const sum = (pred: (e: Ev) => boolean) => Math.round(on.filter(pred).reduce((s, e) => s + (e.dur ?? 0), 0) / 1000);
    const byUrl = new Map<string, number>();
    for (const e of on)
      if (e.name === "FunctionCall" || e.name === "EvaluateScript") {
        const u = (e.args?.data?.url ?? "?").replace(/^.*\/_next\//, "").replace(/\?.*$/, "");
        byUrl.set(u, (byUrl.get(u) ?? 0) + (e.dur ?? 0));
      }
    const topUrls = [...byUrl.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([u, d]) => [u, Math.round(d / 1000)]);
    const storeUpdates = await bob.evaluate(() => (window as unknown as { __probe: Record<string, number> }).__probe);
    const result = {
      storeUpdates,
      plain,
      traced,
      bobMainThreadMs: {
        runTask: sum((e) => e.name === "RunTask"),
        style: sum((e) => e.name === "UpdateLayoutTree" || e.name === "RecalculateStyles"),
        layout: sum((e) => e.name === "Layout"),
        paint: sum((e) => e.name === "Paint" || e.name === "PrePaint" || e.name === "Layerize" || e.name === "UpdateLayer"),
        gc: sum((e) => e.name.includes("GC")),
        functionCalls: sum((e) => e.name === "FunctionCall"),
        timerFired: sum((e) => e.name === "TimerFire"),
        animationFrames: sum((e) => e.name === "FireAnimationFrame"),
        topScriptSources: topUrls,
      },
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
  }
}

void main();
