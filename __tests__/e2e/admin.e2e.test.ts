/**
 * The admin console in Debian's Chromium against the real server: an operator logs in, filters a
 * room's log, watches a member's join arrive on the live tail, exports CSV and reads it back, and
 * sets the eavesdropper fraction, which a member of the room receives at once. A hostile display
 * name shows as text everywhere (no element made from it, no dialog).
 */
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { parseCsv } from "@/lib/admin/csv";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, newPage } from "./helpers/browser";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { until } from "../helpers/waits";

jest.setTimeout(180_000);

const TOKEN = "e2e-admin-token-0123456789abcdefghij";
const EVIL = "<img src=x onerror=alert(1)>";
const ROOM = `adm-${Date.now().toString(36)}`;

let server: AppServer;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
/** The console page's warnings and errors, as its developer console shows them. */
const consoleLines: string[] = [];
const members: RawClient[] = [];

async function join(name: string): Promise<RawClient> {
  const c = await connectRaw(server.url);
  members.push(c);
  const r = await c.call("room:join", { roomId: ROOM, displayName: name });
  if (r === "no-ack" || !r.ok) throw new Error(`join failed: ${JSON.stringify(r)}`);
  return c;
}

/** No element was made from a name, and the page's own images are none (the console has no <img>). */
async function expectNoInjectedMarkup(p: Page) {
  expect(await p.locator("img").count()).toBe(0);
  expect(dialogs).toEqual([]);
}

beforeAll(async () => {
  server = await startAppServer({ distDir: ".next-e2e-admin", env: { ADMIN_TOKEN: TOKEN }, readyTimeoutMs: 120_000 });
  browser = await launchChromium();
  page = await newPage(browser);
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") consoleLines.push(`${m.type()}: ${m.text()}`);
  });
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
}, 240_000);

afterAll(async () => {
  for (const m of members) m.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

describe("admin console in the browser", () => {
  let alice: RawClient;
  let bob: RawClient;

  test("an operator without a session is sent to the login page; a wrong token is refused; the right one opens the console", async () => {
    alice = await join(EVIL);
    await page.goto(`${server.url}/admin`, { timeout: 150_000 });
    await page.getByTestId("admin-login-form").waitFor({ timeout: 150_000 });
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    await page.getByTestId("admin-token").fill("not-the-token");
    await page.getByTestId("admin-login-submit").click();
    await page.getByTestId("admin-login-error").waitFor();
    expect(await page.getByTestId("admin-login-error").textContent()).toMatch(/wrong admin token/);

    await page.getByTestId("admin-token").fill(TOKEN);
    await page.getByTestId("admin-login-submit").click();
    await page.getByTestId("admin-rooms").waitFor({ timeout: 150_000 });
    expect(new URL(page.url()).pathname).toBe("/admin");
    const row = page.locator(`[data-testid="room-row"][data-room="${ROOM}"]`);
    await row.waitFor();
    expect(await row.getByTestId("room-online").textContent()).toBe("1");
    await page.screenshot({ path: "/tmp/qsec-e2e-admin-rooms.png", fullPage: true });
    // Search by the member's display name finds the room; the name is only ever data.
    await page.getByTestId("rooms-search").fill(EVIL);
    await page.getByTestId("rooms-search-submit").click();
    await page.waitForURL(/q=/);
    expect(await page.locator('[data-testid="room-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-room")))).toEqual([ROOM]);
    await expectNoInjectedMarkup(page);
  });

  test("the room page shows the log and members as text, and filters the log", async () => {
    consoleLines.length = 0;
    await page.locator(`[data-testid="room-row"][data-room="${ROOM}"] a`).click();
    await page.getByTestId("admin-room").waitFor({ timeout: 150_000 });
    await page.locator('[data-testid="tail-status"][data-state="live"]').waitFor({ timeout: 30_000 });
    // A clean console: the live tail's WebSocket is not opened and closed again by React's
    // development double mount ("WebSocket is closed before the connection is established").
    expect(consoleLines).toEqual([]);
    expect(await page.getByTestId("admin-member-name").allTextContents()).toEqual([EVIL]);
    const types = await page.locator('[data-testid="log-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    expect(types).toEqual(expect.arrayContaining(["ROOM_CREATED", "MEMBER_JOINED", "KEY_EPOCH_STARTED"]));

    await page.getByTestId("filter-type-MEMBER_JOINED").check();
    await page.getByTestId("filter-apply").click();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-row"]')].every((r) => r.getAttribute("data-type") === "MEMBER_JOINED"));
    const rows = page.locator('[data-testid="log-row"]');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getByTestId("who-name").textContent()).toBe(EVIL);
    expect(await rows.first().getByTestId("log-meta").textContent()).toBe(`display name: ${EVIL}`); // key/value text, not raw JSON

    // A text filter that matches nothing empties the table; resetting it shows the join again.
    await page.getByTestId("filter-text").fill("no-such-text-anywhere");
    await page.getByTestId("filter-apply").click();
    await page.getByTestId("log-empty").waitFor();
    await page.getByTestId("filter-text").fill("");
    await page.getByTestId("filter-apply").click();
    await rows.first().waitFor();
    await expectNoInjectedMarkup(page);
  });

  test("a member's join arrives on the live tail", async () => {
    bob = await join("Bob");
    const bobRow = page.locator('[data-testid="log-row"][data-type="MEMBER_JOINED"]', { hasText: "Bob" });
    await bobRow.waitFor({ timeout: 20_000 });
    // Still filtered: only joins were added, newest first.
    const types = await page.locator('[data-testid="log-row"]').evaluateAll((r) => r.map((x) => x.getAttribute("data-type")));
    expect(new Set(types)).toEqual(new Set(["MEMBER_JOINED"]));
    expect(await page.locator('[data-testid="log-row"]').first().getByTestId("who-name").textContent()).toBe("Bob");
    await page.locator('[data-testid="admin-member-name"]', { hasText: "Bob" }).waitFor();
  });

  test("the filtered log exports as CSV that reads back row for row", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^qsec-${ROOM}-logs-.*\\.csv$`));
    const rows = parseCsv(readFileSync((await download.path())!, "utf8"));
    expect(rows[0]).toEqual(["id", "createdAt", "roomId", "type", "actorId", "actorName", "targetId", "targetName", "meta"]);
    const body = rows.slice(1);
    expect(body.map((r) => r[3])).toEqual(["MEMBER_JOINED", "MEMBER_JOINED"]);
    expect(body.map((r) => r[5])).toEqual([EVIL, "Bob"]);
    expect(body.every((r) => r[2] === ROOM)).toBe(true);
    expect(JSON.parse(body[0][8])).toEqual({ displayName: EVIL });
  });

  test("setting the eavesdropper fraction reaches the room's members at once and is logged", async () => {
    // Percent, as on the room page's simulation drawer; the wire keeps fractions (eve 0.3).
    expect(await page.getByTestId("channel-noise").inputValue()).toBe("2");
    await page.getByTestId("channel-eve").fill("30");
    await page.getByTestId("channel-save").click();
    await page.getByTestId("channel-status").waitFor();
    expect(await page.getByTestId("channel-status").textContent()).toMatch(/Saved/);
    await until(() => (alice.received.get("channel:updated") ?? []).length > 0, 10_000, "channel:updated at the member");
    expect(alice.received.get("channel:updated")![0]).toMatchObject({ roomId: ROOM, channel: { noise: 0.02, loss: 0, eve: 0.3 }, by: null }); // noise: the new-room default
    expect(await page.getByTestId("channel-current-eve").textContent()).toBe("30%");
    // The change is itself a log row: show every type again and see it arrive.
    await page.getByTestId("filter-reset").click();
    await page.locator('[data-testid="log-row"][data-type="CHANNEL_SETTINGS_CHANGED"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="log-row"][data-type="CHANNEL_SETTINGS_CHANGED"]').first().getByTestId("log-meta").textContent()).toContain(
      "Eve: 30%",
    );
    await expectNoInjectedMarkup(page);
  });

  test("a BB84 session between two members shows up with its QBER against the threshold", async () => {
    const started = await alice.call("bb84:start", { roomId: ROOM, peerId: bob.userId, qubits: 4096, cascadeVariant: "original" });
    if (started === "no-ack" || !started.ok) throw new Error(`bb84:start failed: ${JSON.stringify(started)}`);
    const sessionId = (started.data as { id: string }).id;
    const report = {
      roomId: ROOM,
      sessionId,
      outcome: "success",
      detected: 4096,
      sifted: 2050,
      sampleSize: 400,
      qberEstimate: 0.0725,
      qberBound: 0.09,
      finalLength: 512,
    };
    expect(await alice.call("bb84:report", report)).toMatchObject({ ok: true });
    expect(await bob.call("bb84:report", report)).toMatchObject({ ok: true });
    const row = page.locator('[data-testid="bb84-row"]');
    await row.waitFor({ timeout: 20_000 });
    expect(await row.count()).toBe(1);
    expect(await row.first().textContent()).toContain("7.25%");
    await page.locator('[data-testid="qber-chart"] svg').first().waitFor();
    await page.screenshot({ path: "/tmp/qsec-e2e-admin-room.png", fullPage: true });
    await expectNoInjectedMarkup(page);
  });

  test("logging out ends the session", async () => {
    await page.getByTestId("admin-logout").click();
    await page.getByTestId("admin-login-form").waitFor();
    await page.goto(`${server.url}/admin/rooms/${ROOM}`);
    await page.getByTestId("admin-login-form").waitFor();
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    expect(dialogs).toEqual([]);
  });
});
