/**
 * Browser end-to-end for BB84 between two room members: the real server (Next.js dev + Socket.IO)
 * and Debian's headless Chromium, each page its own browser context (own identity). Both parties'
 * lib/qkd state machines run in Web Workers; the relay carries their frames end-to-end encrypted.
 * What is asserted is what the users see: the session's outcome on both pages, "QKD-hardened" with
 * a QBER and key length, a direct message under the hybrid key, the simulation drawer's setting
 * reaching the other member, an eavesdropping alarm, the chat carrying on, and the fibre preset.
 */
import type { Browser, Page } from "playwright-core";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { warmUp } from "./helpers/warm-up";
import { launchChromium, openRoom, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";
import { fibreChannel } from "@/lib/ui/fibre-link";

// Dev-mode compilation of the first page (and the worker) takes a while on a small machine.
jest.setTimeout(180_000);

const QUBITS = "16384";
const SCREENSHOT = "/tmp/qsec-e2e-bb84.png";

let server: AppServer;
let browser: Browser;
const room = `bb84-${Date.now().toString(36)}`;

beforeAll(async () => {
  server = await startAppServer({ readyTimeoutMs: 120_000 });
  browser = await launchChromium();
  // Compile the room route once, so the scenarios below run at normal speed.
  await warmUp(browser, server.url, [{ path: "/room/warm-up-bb84?name=Warm", testId: "room-page" }]);
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

/** The newest session this page shows in its dashboard, once it reached `status`. */
async function waitForSession(page: Page, status: "success" | "aborted", role?: "alice" | "bob", timeout = 90_000) {
  const sel = `[data-testid="bb84-live"][data-status="${status}"]${role ? `[data-role="${role}"]` : ""}`;
  await page.locator(sel).first().waitFor({ timeout });
  return page.locator(sel).first();
}

async function startWith(page: Page, peerName: string): Promise<void> {
  await page.getByTestId("bb84-qubits").fill(QUBITS);
  const button = page.locator(`[data-testid="member-item"][data-name="${peerName}"] [data-testid="bb84-start-member"]`);
  await button.waitFor();
  await page.waitForFunction((name) => {
    const b = document.querySelector(`[data-testid="member-item"][data-name="${name}"] [data-testid="bb84-start-member"]`) as HTMLButtonElement | null;
    return !!b && !b.disabled;
  }, peerName);
  await button.click();
}

describe("BB84 between two members in the browser", () => {
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    alice = await openRoom(browser, server.url, room, "Alice");
    const first = await waitForRoom(alice, { members: 1 });
    bob = await openRoom(browser, server.url, room, "Bob");
    const e = await waitForRoom(bob, { members: 2, minEpoch: first + 1 });
    await waitForRoom(alice, { members: 2, minEpoch: e });
  }, 120_000);

  test("the qubit count shows the key a session of that size should give on the room's channel, and warns when it is small", async () => {
    const plan = alice.getByTestId("bb84-plan");
    await alice.getByTestId("bb84-qubits").fill("8192");
    await expect(plan.textContent()).resolves.toBe("Expected key: about 259 bits. At this size some sessions end under the 128 bits a key needs (not used).");
    expect(await plan.getAttribute("class")).toMatch(/text-warn/);
    // The input names the line for assistive technology.
    const describedBy = (await alice.getByTestId("bb84-qubits").getAttribute("aria-describedby"))!.split(" ");
    expect(describedBy).toContain(await plan.getAttribute("id"));
    await alice.getByTestId("bb84-qubits").fill(QUBITS);
    await expect(plan.textContent()).resolves.toBe("Expected key: about 1,342 bits.");
  });

  test("the QKD Web Worker bundles and runs in the page: two worker engines agree on a key", async () => {
    // The store's engine factory (development builds expose it), driven directly without the relay.
    const res = await alice.evaluate(async () => {
      type Step = { out: Uint8Array[]; snapshot: { status: string; finalLength: number | null } };
      type Engine = { start(): Promise<Step>; receive(m: Uint8Array): Promise<Step>; key(): Promise<Uint8Array | null>; dispose(): void };
      const make = (window as unknown as { __qsecQkdWorker: (init: unknown) => Engine }).__qsecQkdWorker;
      const sessionId = crypto.getRandomValues(new Uint8Array(16));
      const a = make({ role: "alice", sessionId, params: { qubits: 16384 } });
      const b = make({ role: "bob", sessionId, params: { qubits: 16384 }, channel: { noise: 0.02, loss: 0, eve: 0 } });
      const toB: Uint8Array[] = [],
        toA: Uint8Array[] = [];
      let step = await a.start();
      toB.push(...step.out);
      await b.start();
      const last = { a: step.snapshot, b: step.snapshot };
      while (toB.length || toA.length) {
        if (toB.length) {
          step = await b.receive(toB.shift()!);
          last.b = step.snapshot;
          toA.push(...step.out);
        } else {
          step = await a.receive(toA.shift()!);
          last.a = step.snapshot;
          toB.push(...step.out);
        }
      }
      const [ka, kb] = [await a.key(), await b.key()];
      a.dispose();
      b.dispose();
      return { a: last.a.status, b: last.b.status, bits: last.a.finalLength, same: !!ka && !!kb && ka.length === kb.length && ka.every((x, i) => x === kb[i]) };
    });
    expect(res).toEqual({ a: "done", b: "done", bits: expect.any(Number), same: true });
    expect(res.bits).toBeGreaterThanOrEqual(256);
  });

  test("no eavesdropper: success on both pages, Bob marked QKD-hardened, a direct message uses the hybrid key", async () => {
    // The channel starts clean.
    expect(await alice.getByTestId("bb84-channel").getAttribute("data-eve")).toBe("0");
    // With one other member, the panel's button names them.
    expect(await alice.getByTestId("bb84-start-each").textContent()).toBe("Run BB84 with Bob");
    await startWith(alice, "Bob");

    const mine = await waitForSession(alice, "success", "alice");
    const theirs = await waitForSession(bob, "success", "bob"); // Bob's client accepted on its own
    expect(await mine.getByTestId("bb84-peer").textContent()).toBe("Bob");
    expect(await theirs.getByTestId("bb84-peer").textContent()).toBe("Alice");
    // The peer is told who started the session with them.
    expect(await theirs.getByTestId("bb84-started-by").textContent()).toBe("Alice started a BB84 session with you.");
    expect(await mine.getByTestId("bb84-started-by").count()).toBe(0);
    // One f_EC on both pages: Alice's shows the value Bob measured and reported.
    const bobFec = await theirs.getByTestId("bb84-fec").textContent();
    expect(bobFec).toMatch(/^\d+\.\d\d$/);
    await alice.waitForFunction(
      (v) => document.querySelector('[data-testid="bb84-live"][data-role="alice"] [data-testid="bb84-fec"]')?.textContent === v,
      bobFec,
      { timeout: 30_000 },
    );
    expect(await mine.getByTestId("bb84-qber").textContent()).toMatch(/^\d+\.\d\d%$/);
    expect(await mine.getByTestId("bb84-final-length").textContent()).toMatch(/^[\d,]+ bits$/);
    // The simulated Eve is shown on Bob's side (his detector runs the channel model) and found nothing.
    expect(await theirs.getByTestId("bb84-eve-intercepted").textContent()).toBe("0");

    // The initiator's member list: Bob is QKD-hardened, with the session's QBER and key length.
    const bobRow = alice.locator('[data-testid="member-item"][data-name="Bob"][data-qkd="true"]');
    await bobRow.waitFor({ timeout: 30_000 });
    expect(await bobRow.getByTestId("qkd-badge").textContent()).toContain("QKD-hardened");
    const detail = bobRow.getByTestId("qkd-detail");
    expect(await detail.textContent()).toMatch(/^QBER \d+\.\d\d% · [\d,]+-bit key$/);
    expect(Number(await detail.getAttribute("data-key-bits"))).toBeGreaterThanOrEqual(256);
    await bob.locator('[data-testid="member-item"][data-name="Alice"][data-qkd="true"]').waitFor({ timeout: 30_000 });

    // A direct message after hardening decrypts on the other page, under the hybrid key.
    await sendMessage(alice, "after hardening: hybrid key", "Bob");
    await waitForMessage(bob, "after hardening: hybrid key");
    const dm = bob.locator('[data-testid="message-item"][data-direct="true"]').filter({ hasText: "after hardening: hybrid key" });
    expect(await dm.getAttribute("data-hybrid")).toBe("true");
    expect(await dm.getByTestId("hybrid-badge").textContent()).toContain("QKD-hybrid");
    // And back.
    await sendMessage(bob, "reply under the hybrid key", "Alice");
    await waitForMessage(alice, "reply under the hybrid key");

    // The room's session chart lists it on both pages (server summaries).
    for (const p of [alice, bob]) await p.locator('[data-testid="bb84-chart-row"][data-outcome="success"]').first().waitFor({ timeout: 30_000 });
    expect(await alice.locator('[data-testid="bb84-alarm"]').count()).toBe(0);
  });

  test("eavesdropper on every qubit: the setting reaches the other member, the session aborts with an eavesdropping alarm, the chat goes on", async () => {
    await alice.getByTestId("simulation-toggle").click();
    const drawer = alice.getByTestId("simulation-drawer");
    await drawer.waitFor();
    expect(await drawer.textContent()).toMatch(/sessions started from now on/i);
    await alice.getByTestId("simulation-eve-input").fill("100");
    await alice.getByTestId("simulation-save").click();
    await alice.locator('[data-testid="simulation-status"][data-state="saved"]').waitFor();
    await alice.locator('[data-testid="simulation-current"][data-eve="1"]').waitFor();

    // Pushed to Bob without a reload.
    await bob.locator('[data-testid="bb84-channel"][data-eve="1"]').waitFor({ timeout: 20_000 });
    await bob.getByTestId("simulation-eve-flag").waitFor();
    await alice.getByTestId("simulation-close").click();
    await drawer.waitFor({ state: "detached" });

    const before = await alice.locator('[data-testid="bb84-alarm"]').count();
    await startWith(alice, "Bob");
    const aborted = await waitForSession(alice, "aborted", "alice");
    const bobs = await waitForSession(bob, "aborted", "bob");
    expect(await aborted.getByTestId("bb84-abort-reason").getAttribute("data-code")).toBe("QBER_TOO_HIGH");
    // Its reason in the panel's unit: one decimal, as the gauge and the threshold show.
    expect(await aborted.getByTestId("bb84-abort-reason").textContent()).toMatch(/QBER \d+\.\d% \(\d+\/\d+\) exceeds the 11\.0% threshold/);
    // Bob measured the QBER (about 25%, far above the threshold) and saw Eve's interceptions.
    expect(await bobs.getByTestId("bb84-qber-gauge").getAttribute("data-verdict")).toBe("over");
    expect(Number((await bobs.getByTestId("bb84-eve-intercepted").textContent())!.replace(/,/g, ""))).toBeGreaterThan(0);

    // A visible alarm that names eavesdropping, on the initiator's page and on the peer's.
    const alarm = alice.locator('[role="alert"][data-testid="bb84-alarm"]').first();
    await alarm.waitFor({ timeout: 20_000 });
    expect(await alice.locator('[data-testid="bb84-alarm"]').count()).toBeGreaterThan(before);
    expect(await alarm.getAttribute("data-code")).toBe("QBER_TOO_HIGH");
    expect(await alarm.textContent()).toMatch(/eavesdrop/i);
    const bobAlarm = bob.locator('[role="alert"][data-testid="bb84-alarm"]').first();
    await bobAlarm.waitFor({ timeout: 20_000 });
    // Bob's client measured the QBER itself, so it classifies the abort as a suspected eavesdropper.
    expect(await bobAlarm.getAttribute("data-suspected-eve")).toBe("true");
    expect(await bobAlarm.getByTestId("bb84-alarm-title").textContent()).toMatch(/suspected eavesdropper/i);

    // The aborted session is in the room's chart, distinct from the successful one.
    await alice.locator('[data-testid="bb84-chart-row"][data-outcome="aborted"]').first().waitFor({ timeout: 30_000 });
    expect(await alice.locator('[data-testid="bb84-chart-row"][data-outcome="success"]').count()).toBeGreaterThanOrEqual(1);

    // The chat continues: a room message both ways, and a direct one.
    await sendMessage(bob, "still chatting after the alarm");
    await waitForMessage(alice, "still chatting after the alarm");
    await sendMessage(alice, "me too");
    await waitForMessage(bob, "me too");
    await sendMessage(alice, "direct after the abort", "Bob");
    await waitForMessage(bob, "direct after the abort");

    await alice.screenshot({ path: SCREENSHOT });
  });

  test("reset channel restores the default for both members, and a later successful session marks the alarm past", async () => {
    await alice.getByTestId("simulation-toggle").click();
    const drawer = alice.getByTestId("simulation-drawer");
    await drawer.waitFor();
    await alice.getByTestId("simulation-reset-channel").click();
    await alice.locator('[data-testid="simulation-current"][data-eve="0"][data-noise="0.02"]').waitFor();
    await bob.locator('[data-testid="bb84-channel"][data-eve="0"]').waitFor({ timeout: 20_000 });
    await alice.getByTestId("simulation-close").click();
    await drawer.waitFor({ state: "detached" });

    const alarm = alice.locator('[data-testid="bb84-alarm"][data-code="QBER_TOO_HIGH"]').first();
    expect(await alarm.getAttribute("data-past")).toBe("false");
    await startWith(alice, "Bob");
    await alice.locator('[data-testid="bb84-alarm"][data-code="QBER_TOO_HIGH"][data-past="true"]').first().waitFor({ timeout: 90_000 });
    expect(await alice.locator('[data-testid="bb84-alarm"][data-past="true"]').first().getByTestId("bb84-alarm-past").textContent()).toMatch(
      /^Past: a later session with Bob succeeded at /,
    );
    await bob.locator('[data-testid="bb84-alarm"][data-past="true"]').first().waitFor({ timeout: 30_000 });
  });

  test("the 50 km fibre preset sets the room's loss and noise from the link model, for both members", async () => {
    const want = fibreChannel(50).channel; // loss 98.96%, noise 2.41% (unit-tested in ui-fibre-link.test.ts)
    await alice.getByTestId("simulation-toggle").click();
    const drawer = alice.getByTestId("simulation-drawer");
    await drawer.waitFor();
    await alice.getByTestId("simulation-fibre-50").click();
    // The draft shows the preset before it is saved; the room's channel has not changed yet.
    expect(await alice.getByTestId("simulation-loss-input").inputValue()).toBe("98.96");
    expect(await alice.getByTestId("simulation-noise-input").inputValue()).toBe("2.41");
    expect(await alice.getByTestId("simulation-fibre").getAttribute("data-chosen")).toBe("50");
    expect(await alice.getByTestId("simulation-current").getAttribute("data-loss")).toBe("0");
    await alice.getByTestId("simulation-save").click();
    await alice.locator('[data-testid="simulation-status"][data-state="saved"]').waitFor();
    await alice.locator(`[data-testid="simulation-current"][data-loss="${want.loss}"][data-noise="${want.noise}"][data-eve="0"]`).waitFor();
    await bob.locator(`[data-testid="bb84-channel"][data-loss="${want.loss}"][data-noise="${want.noise}"]`).waitFor({ timeout: 20_000 });
    expect(await alice.getByTestId("simulation-fibre-50").getAttribute("aria-pressed")).toBe("true");
    await alice.getByTestId("simulation-reset-channel").click();
    await alice.locator('[data-testid="simulation-current"][data-loss="0"][data-noise="0.02"]').waitFor();
    await alice.getByTestId("simulation-close").click();
    await drawer.waitFor({ state: "detached" });
  });
});

describe("BB84 between a page on http://127.0.0.1 and one on http://localhost", () => {
  test("the session succeeds on both (each party's Web Worker seals, opens and relays its frames over its own connection), twice in the same pages, and each page records where its time went", async () => {
    const loopRoom = `bb84-hosts-${Date.now().toString(36)}`;
    const loopback = server.url.replace("//localhost:", "//127.0.0.1:");
    const a = await openRoom(browser, loopback, loopRoom, "Ana");
    const first = await waitForRoom(a, { members: 1 });
    const b = await openRoom(browser, server.url, loopRoom, "Ben");
    const e = await waitForRoom(b, { members: 2, minEpoch: first + 1 });
    await waitForRoom(a, { members: 2, minEpoch: e });
    expect(new URL(a.url()).hostname).toBe("127.0.0.1");
    expect(new URL(b.url()).hostname).toBe("localhost");
    // Two sessions: the second runs in the workers the first one left warm (reset in between).
    const seen: string[] = [];
    for (let round = 1; round <= 2; round++) {
      await startWith(a, "Ben");
      // The dashboard shows the newest session: wait for one not seen before, successful on both pages.
      const newSuccess = (p: Page) =>
        p.waitForFunction(
          (old) => {
            const el = document.querySelector('[data-testid="bb84-live"]');
            const id = el?.getAttribute("data-session-id") ?? "";
            return id !== "" && !old.includes(id) && el?.getAttribute("data-status") === "success" ? id : null;
          },
          seen,
          { timeout: 90_000 },
        );
      const [ida, idb] = await Promise.all([newSuccess(a), newSuccess(b)]);
      expect(await ida.jsonValue()).toBe(await idb.jsonValue());
      seen.push((await ida.jsonValue()) as string);
    }
    // Where the time went (lib/client/bb84-path-stats.ts): one User Timing entry per session and page.
    for (const [p, role] of [
      [a, "alice"],
      [b, "bob"],
    ] as const) {
      const entries = await p.evaluate(() =>
        (performance.getEntriesByName("qsec:bb84", "measure") as PerformanceMeasure[]).map(
          (m) => m.detail as { role: string; status: string; frames: number; steps: number; linked: number },
        ),
      );
      expect(entries).toHaveLength(2);
      for (const d of entries) expect(d).toEqual(expect.objectContaining({ role, status: "success", frames: expect.any(Number), steps: expect.any(Number) }));
      expect(entries.every((d) => d.frames > 0 && d.steps > 0)).toBe(true);
      // The frames came over each worker's own connection (bb84:route), not through the page.
      expect(entries.every((d) => d.linked > 0)).toBe(true);
    }
    await a.context().close();
    await b.context().close();
  });
});
