/**
 * Accessibility in Debian's Chromium with axe-core: no serious or critical violation on any page
 * (landing, name prompt, room with the BB84 panel open, safety-number dialog, admin login and
 * console) in the light and the dark scheme; one main landmark and one h1 on every page; focus in
 * the composer after joining. A regression fails the suite.
 */
import type { Browser, Page } from "playwright-core";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, waitForRoom } from "./helpers/browser";
import { axe, seriousOf, sizedPage, SHOTS } from "./helpers/ux";

jest.setTimeout(300_000);

const TOKEN = "a11y-admin-token-0123456789abcdef";
const ROOM = `a11y-${Date.now().toString(36)}`;

let server: AppServer;
let browser: Browser;
const report: Record<string, string[]> = {};

beforeAll(async () => {
  server = await startAppServer({ distDir: ".next-e2e-a11y", env: { ADMIN_TOKEN: TOKEN }, readyTimeoutMs: 120_000 });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  console.log(
    `axe serious/critical by page:\n${Object.entries(report)
      .map(([k, v]) => `${k}: ${v.length}${v.length ? `\n  ${v.join("\n  ")}` : ""}`)
      .join("\n")}`,
  );
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

/** axe, plus one main landmark and one h1; the result is kept for the summary printed at the end. */
async function check(page: Page, label: string): Promise<string[]> {
  const problems = seriousOf(await axe(page));
  const mains = await page.locator("main, [role=main]").count();
  const h1s = await page.locator("h1").count();
  if (mains !== 1) problems.push(`landmark: ${mains} main elements`);
  if (h1s < 1) problems.push("heading: no h1");
  report[label] = problems;
  await page.screenshot({ path: `${SHOTS}/a11y-${label}.png` });
  return problems;
}

describe.each(["light", "dark"] as const)("axe in the %s scheme", (scheme) => {
  let alice: Page;
  let bob: Page;

  afterAll(async () => {
    await alice?.context().close();
    await bob?.context().close();
  });

  test("landing page and name prompt", async () => {
    const page = await sizedPage(browser, 1280, 900, scheme);
    await page.goto(`${server.url}/`, { timeout: 150_000 });
    await page.getByTestId("landing-form").waitFor({ timeout: 150_000 });
    const landing = await check(page, `landing-${scheme}`);
    await page.goto(`${server.url}/room/${ROOM}-prompt`, { timeout: 150_000 });
    await page.getByTestId("name-prompt").waitFor({ timeout: 150_000 });
    const prompt = await check(page, `name-prompt-${scheme}`);
    await page.context().close();
    expect(landing).toEqual([]);
    expect(prompt).toEqual([]);
  });

  test("room with the BB84 panel open, focus in the composer, then the safety-number dialog", async () => {
    alice = await sizedPage(browser, 1440, 900, scheme);
    await alice.goto(`${server.url}/room/${ROOM}-${scheme}?name=Alice`, { timeout: 150_000 });
    await alice.getByTestId("room-page").waitFor({ timeout: 150_000 });
    // After joining, typing goes straight into the composer.
    await alice.waitForFunction(() => document.activeElement?.getAttribute("data-testid") === "composer-input", undefined, { timeout: 30_000 });
    bob = await sizedPage(browser, 1440, 900, scheme);
    await bob.goto(`${server.url}/room/${ROOM}-${scheme}?name=Bob`, { timeout: 150_000 });
    await waitForRoom(bob, { members: 2 });
    await waitForRoom(alice, { members: 2 });
    await alice.getByTestId("bb84-panel").waitFor();
    const room = await check(alice, `room-${scheme}`);

    await alice.getByTestId("safety-number-button").first().click();
    await alice.getByTestId("safety-number").waitFor();
    const dialog = await check(alice, `safety-number-${scheme}`);
    await alice.keyboard.press("Escape");

    // A finished BB84 session: the live view, the hardened member and the chart with a bar.
    const start = alice.locator('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]');
    await alice.waitForFunction(
      () => !(document.querySelector('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]') as HTMLButtonElement | null)?.disabled,
    );
    await start.click();
    await alice.locator('[data-testid="bb84-live"][data-status="success"]').first().waitFor({ timeout: 120_000 });
    await alice.locator('[data-testid="member-item"][data-name="Bob"][data-qkd="true"]').waitFor({ timeout: 30_000 });
    await alice.locator('[data-testid="bb84-chart"][data-count="1"]').waitFor({ timeout: 30_000 });
    const session = await check(alice, `room-bb84-session-${scheme}`);
    expect(room).toEqual([]);
    expect(dialog).toEqual([]);
    expect(session).toEqual([]);
  });

  test("room on a phone with the BB84 tab open", async () => {
    const phone = await sizedPage(browser, 390, 844, scheme);
    await phone.goto(`${server.url}/room/${ROOM}-${scheme}?name=Carol`, { timeout: 150_000 });
    await waitForRoom(phone, { members: 3 });
    await phone.getByTestId("room-tab-bb84").click();
    await phone.getByTestId("bb84-panel").waitFor();
    const problems = await check(phone, `room-phone-bb84-${scheme}`);
    await phone.context().close();
    expect(problems).toEqual([]);
  });

  test("admin login and console pages", async () => {
    const page = await sizedPage(browser, 1280, 900, scheme);
    await page.goto(`${server.url}/admin/login`, { timeout: 150_000 });
    await page.getByTestId("admin-login-form").waitFor({ timeout: 150_000 });
    const login = await check(page, `admin-login-${scheme}`);
    await page.getByTestId("admin-token").fill(TOKEN);
    await page.getByTestId("admin-login-submit").click();
    await page.getByTestId("admin-rooms").waitFor({ timeout: 240_000 });
    const rooms = await check(page, `admin-rooms-${scheme}`);
    await page.locator(`[data-testid="room-row"][data-room="${ROOM}-${scheme}"] a`).click();
    await page.getByTestId("admin-room").waitFor({ timeout: 240_000 });
    await page.locator('[data-testid="log-row"]').first().waitFor();
    const roomPage = await check(page, `admin-room-${scheme}`);
    await page.context().close();
    expect(login).toEqual([]);
    expect(rooms).toEqual([]);
    expect(roomPage).toEqual([]);
  });
});

test("the theme toggle overrides the system scheme, passes axe, and is remembered", async () => {
  const page = await sizedPage(browser, 1280, 900, "dark");
  await page.goto(`${server.url}/`, { timeout: 150_000 });
  await page.getByTestId("landing-form").waitFor({ timeout: 150_000 });
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const dark = await background();
  await page.getByTestId("theme-toggle").click(); // system → light
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
  expect(await background()).not.toBe(dark);
  expect(await check(page, "landing-forced-light")).toEqual([]);
  await page.reload();
  await page.getByTestId("landing-form").waitFor();
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
  await page.getByTestId("theme-toggle").click(); // light → dark
  await page.getByTestId("theme-toggle").click(); // dark → system
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBeUndefined();
  expect(await background()).toBe(dark);
  await page.context().close();
});

describe("admin console readability", () => {
  test("times in the viewer's zone with the zone named, names in the BB84 table, filters in the URL (shareable, Back restores)", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Asia/Tokyo" });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/login`, { timeout: 150_000 });
    await page.getByTestId("admin-token").fill(TOKEN);
    await page.getByTestId("admin-login-submit").click();
    await page.getByTestId("admin-rooms").waitFor({ timeout: 240_000 });
    await page.getByText("Times in Asia/Tokyo").waitFor();
    const room = `${ROOM}-light`;
    await page.goto(`${server.url}/admin/rooms/${room}`);
    await page.getByTestId("admin-room").waitFor({ timeout: 240_000 });

    // Log times: local (UTC+09:00 here, no daylight saving), with the zone in the column header.
    await page.getByRole("columnheader", { name: "Time (Asia/Tokyo)" }).waitFor();
    const first = page.locator('[data-testid="log-row"] time').first();
    const [iso, shown] = await Promise.all([first.getAttribute("datetime"), first.textContent()]);
    const expected = new Date(Date.parse(iso!) + 9 * 3600_000).toISOString().replace("T", " ").replace("Z", "");
    expect(shown).toBe(expected);

    // The BB84 session run in the light-scheme room: member names, percent units, the shared chart.
    const pair = page.getByTestId("bb84-pair").first();
    await pair.waitFor();
    expect(await pair.textContent()).toBe("Alice → Bob");
    expect(await page.getByTestId("bb84-row").first().textContent()).toMatch(/2\.0% \/ 0% \/ 0%/);
    await page.locator('[data-testid="qber-chart"] [data-testid="bb84-chart"][data-count="1"]').waitFor();

    // A filter is applied through the URL, survives a reload, and Back returns to the unfiltered log.
    await page.getByTestId("filter-type-MEMBER_JOINED").check();
    await page.getByTestId("filter-apply").click();
    await page.waitForURL((u) => u.searchParams.getAll("type").includes("MEMBER_JOINED"));
    const onlyJoins = () =>
      page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('[data-testid="log-row"]')];
        return rows.length > 0 && rows.every((r) => r.getAttribute("data-type") === "MEMBER_JOINED");
      });
    await onlyJoins();
    await page.reload();
    await page.getByTestId("admin-room").waitFor();
    await onlyJoins();
    expect(await page.getByTestId("filter-type-MEMBER_JOINED").isChecked()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/admin-room-filtered.png`, fullPage: true });
    await page.goBack();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-row"]')].some((r) => r.getAttribute("data-type") !== "MEMBER_JOINED"));
    expect(new URL(page.url()).search).toBe("");
    expect(await page.getByTestId("filter-type-MEMBER_JOINED").isChecked()).toBe(false);
    await context.close();
  });
});
