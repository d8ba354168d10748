/**
 * Browser end-to-end for one identity in two tabs as a BB84 party (issue 14): Bob's two pages share
 * one browser context (one profile: one identity, one IndexedDB), Alice has her own. When Alice
 * starts a session with Bob, exactly one of Bob's tabs runs it; the other shows that it runs in
 * another tab and takes its outcome, without an alarm; afterwards both of Bob's tabs show Alice as
 * QKD-hardened and read her direct message under the hybrid key, and a direct message from the tab
 * that did not run the session is sent under it too (the keys reach it through the profile's
 * IndexedDB and a BroadcastChannel).
 */
import type { Browser, Page } from "playwright-core";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { warmUp } from "./helpers/warm-up";
import { launchChromium, openRoom, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";

jest.setTimeout(180_000);

let server: AppServer;
let browser: Browser;
const room = `tabs-${Date.now().toString(36)}`;

beforeAll(async () => {
  server = await startAppServer({ readyTimeoutMs: 120_000 });
  browser = await launchChromium();
  await warmUp(browser, server.url, [{ path: "/room/warm-up-tabs?name=Warm", testId: "room-page" }]);
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

test("Bob in two tabs: one runs the session, the other follows it, and both use the hybrid keys afterwards", async () => {
  const alice = await openRoom(browser, server.url, room, "Alice");
  const first = await waitForRoom(alice, { members: 1 });
  const bob1 = await openRoom(browser, server.url, room, "Bob");
  const e = await waitForRoom(bob1, { members: 2, minEpoch: first + 1 });
  // Bob's second tab: the same context, so the same profile identity.
  const bob2 = await bob1.context().newPage();
  bob2.on("pageerror", (err) => console.error(`[page error] ${err.message}`));
  await bob2.goto(`${server.url}/room/${encodeURIComponent(room)}?name=Bob`);
  await bob2.getByTestId("room-page").waitFor({ timeout: 60_000 });
  await waitForRoom(bob2, { members: 2, minEpoch: e });
  await waitForRoom(alice, { members: 2, minEpoch: e });
  await waitForRoom(bob1, { members: 2 });

  await alice.getByTestId("bb84-qubits").fill("16384");
  const button = alice.locator('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]');
  await alice.waitForFunction(() => {
    const b = document.querySelector('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]') as HTMLButtonElement | null;
    return !!b && !b.disabled;
  });
  await button.click();

  await alice.locator('[data-testid="bb84-live"][data-status="success"][data-role="alice"]').waitFor({ timeout: 90_000 });
  const done = (p: Page) => p.locator('[data-testid="bb84-live"][data-status="success"][data-role="bob"]').first();
  await done(bob1).waitFor({ timeout: 60_000 });
  await done(bob2).waitFor({ timeout: 60_000 });
  // Exactly one of Bob's tabs ran it; the other says so.
  const elsewhere = [await done(bob1).getAttribute("data-elsewhere"), await done(bob2).getAttribute("data-elsewhere")];
  expect([...elsewhere].sort()).toEqual(["true", null].sort());
  const [runner, follower] = elsewhere[0] === "true" ? [bob2, bob1] : [bob1, bob2];
  expect(await done(follower).getByTestId("bb84-elsewhere").textContent()).toBe("Ran in another tab of yours; this tab took its outcome.");
  expect(await done(runner).getByTestId("bb84-elsewhere").count()).toBe(0);
  expect(await done(follower).getByTestId("bb84-abort-reason").count()).toBe(0);

  // Both of Bob's tabs show Alice as QKD-hardened.
  for (const p of [bob1, bob2]) await p.locator('[data-testid="member-item"][data-name="Alice"][data-qkd="true"]').waitFor({ timeout: 30_000 });

  // Alice's direct message opens in both tabs under the hybrid key.
  await sendMessage(alice, "to both of Bob's tabs", "Bob");
  for (const p of [bob1, bob2]) {
    await waitForMessage(p, "to both of Bob's tabs");
    const dm = p.locator('[data-testid="message-item"][data-direct="true"]').filter({ hasText: "to both of Bob's tabs" });
    expect(await dm.getAttribute("data-hybrid")).toBe("true");
  }
  // The tab that did not run the session sends under the hybrid key as well.
  await sendMessage(follower, "from the other tab", "Alice");
  await waitForMessage(alice, "from the other tab");
  const reply = alice.locator('[data-testid="message-item"][data-direct="true"]').filter({ hasText: "from the other tab" });
  expect(await reply.getAttribute("data-hybrid")).toBe("true");
});
