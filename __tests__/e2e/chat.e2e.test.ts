/**
 * Browser end-to-end: the real server (Next.js dev + Socket.IO) and Debian's headless Chromium.
 * Each page is its own browser context, so its own identity (IndexedDB) and its own member. What
 * is asserted is what a user sees: decrypted text on the other side, epochs moving on, a leaver
 * left without the new key, clear errors for bad input.
 */
import type { Browser, Page } from "playwright-core";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { warmUp } from "./helpers/warm-up";
import { epochOf, launchChromium, messageTexts, newPage, openRoom, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";

// Dev-mode compilation of the first page takes a while on a small machine.
jest.setTimeout(120_000);

const SCREENSHOT = "/tmp/qsec-e2e-room.png";

let server: AppServer;
let browser: Browser;
const pages: Page[] = [];
const room = `e2e-${Date.now().toString(36)}`;

beforeAll(async () => {
  server = await startAppServer({ readyTimeoutMs: 120_000 });
  browser = await launchChromium();
  // Compile the landing and room routes once, so the scenarios below run at normal speed.
  await warmUp(browser, server.url, [
    { path: "/", testId: "landing-form" },
    { path: "/room/warm-up?name=Warm", testId: "room-page" },
  ]);
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

describe("QSEC in the browser", () => {
  let alice: Page;
  let bob: Page;
  let carol: Page;

  test("two members join one room and exchange messages both ways", async () => {
    alice = await openRoom(browser, server.url, room, "Alice");
    pages.push(alice);
    const first = await waitForRoom(alice, { members: 1 });
    bob = await openRoom(browser, server.url, room, "Bob");
    pages.push(bob);
    const e = await waitForRoom(bob, { members: 2, minEpoch: first + 1 });
    expect(await waitForRoom(alice, { members: 2, minEpoch: e })).toBe(e);

    await sendMessage(alice, "hello Bob <b>not bold</b> & friends");
    await waitForMessage(bob, "hello Bob <b>not bold</b> & friends");
    // Rendered as text: the markup arrives as characters, never as elements.
    expect(await bob.locator('[data-testid="message-text"] b').count()).toBe(0);

    await sendMessage(bob, "hi Alice\nsecond line");
    await waitForMessage(alice, "hi Alice\nsecond line");
    const fromBob = alice.locator('[data-testid="message-item"][data-mine="false"]').last();
    expect(await fromBob.getByTestId("message-sender").textContent()).toBe("Bob");

    // Each side lists the other with a fingerprint and the two agree on the safety number.
    await alice.getByTestId("safety-number-button").first().click();
    const aliceSn = (await alice.getByTestId("safety-number").locator("li").allTextContents()).join(" ");
    await bob.getByTestId("safety-number-button").first().click();
    const bobSn = (await bob.getByTestId("safety-number").locator("li").allTextContents()).join(" ");
    expect(aliceSn).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(bobSn).toBe(aliceSn);
    await alice.getByTestId("verify-toggle").check();
    await alice.keyboard.press("Escape");
    await bob.keyboard.press("Escape");
    await alice.locator('[data-testid="member-item"][data-name="Bob"][data-verified="true"]').waitFor();
  });

  test("a third member reads what is sent after it joined, and no one else's direct messages", async () => {
    await sendMessage(alice, "before Carol joined");
    await waitForMessage(bob, "before Carol joined");
    const before = await epochOf(alice);

    carol = await openRoom(browser, server.url, room, "Carol");
    pages.push(carol);
    const e = await waitForRoom(carol, { members: 3, minEpoch: before + 1 });
    await waitForRoom(alice, { members: 3, minEpoch: e });
    await waitForRoom(bob, { members: 3, minEpoch: e });

    await sendMessage(bob, "after Carol joined");
    await waitForMessage(carol, "after Carol joined");
    await waitForMessage(alice, "after Carol joined");

    await sendMessage(alice, "just for Bob", "Bob");
    await waitForMessage(bob, "just for Bob");
    await bob.locator('[data-testid="message-item"][data-direct="true"]').getByTestId("direct-badge").waitFor();
    await sendMessage(alice, "everyone again");
    await waitForMessage(carol, "everyone again");

    const seen = await messageTexts(carol);
    expect(seen).toEqual(expect.arrayContaining(["after Carol joined", "everyone again"]));
    expect(seen).not.toContain("before Carol joined");
    expect(seen).not.toContain("just for Bob");
    expect(await carol.locator('[data-testid="message-item"]').count()).toBe(seen.length); // nothing stuck or rejected

    await alice.screenshot({ path: SCREENSHOT });
  });

  test("a member leaves: the epoch moves on, the others still chat, the leaver gets no share of the new key", async () => {
    const oldEpoch = await waitForRoom(carol, { members: 3 });
    const carolKeyEpoch = await carol.getByTestId("key-status").getAttribute("data-key-epoch");
    const carolCount = await carol.locator('[data-testid="message-item"]').count();
    // Record everything Carol's socket receives from here on.
    await carol.evaluate(() => {
      const w = window as unknown as {
        __qsecClient: () => { socket: { on(ev: string, fn: (p: { epoch?: number }) => void): void } };
        __after: { shares: number[]; messages: number };
      };
      w.__after = { shares: [], messages: 0 };
      const socket = w.__qsecClient().socket;
      socket.on("roomkey:shared", (p) => w.__after.shares.push(p.epoch ?? -1));
      socket.on("message:received", () => w.__after.messages++);
    });

    await carol.getByTestId("leave-button").click();
    await carol.getByTestId("leave-confirm").click(); // Leave asks first (issue 13)
    await carol.getByTestId("left-banner").waitFor();

    const eA = await waitForRoom(alice, { members: 2, minEpoch: oldEpoch + 1 });
    const eB = await waitForRoom(bob, { members: 2, minEpoch: oldEpoch + 1 });
    expect(eA).toBe(eB);
    expect(eA).toBeGreaterThan(oldEpoch);
    await alice.locator('[data-testid="log-item"][data-type="MEMBER_LEFT"]').first().waitFor();

    await sendMessage(alice, "after Carol left");
    await waitForMessage(bob, "after Carol left");
    await sendMessage(bob, "still here");
    await waitForMessage(alice, "still here");

    // Give any stray share or message time to arrive before asserting there was none.
    await carol.waitForTimeout(1500);
    const after = await carol.evaluate(() => (window as unknown as { __after: { shares: number[]; messages: number } }).__after);
    expect(after).toEqual({ shares: [], messages: 0 });
    expect(await carol.getByTestId("key-status").getAttribute("data-key-epoch")).toBe(carolKeyEpoch);
    expect(Number(carolKeyEpoch)).toBeLessThan(eA);
    expect(await epochOf(carol)).toBe(oldEpoch);
    expect(await carol.locator('[data-testid="message-item"]').count()).toBe(carolCount);
    expect(await messageTexts(carol)).not.toContain("after Carol left");
    // The client itself forgot the room: no state in which a later key could land.
    const held = await carol.evaluate((r) => {
      const store = (window as unknown as { __qsecStore: { getState(): { snapshot: { rooms: Record<string, unknown> } | null } } }).__qsecStore;
      return Object.keys(store.getState().snapshot?.rooms ?? {}).includes(r);
    }, room);
    expect(held).toBe(false);

    // Rejoining is a fresh join: a new epoch whose key Carol receives, and only new messages.
    await carol.getByTestId("rejoin-button").click();
    const eBack = await waitForRoom(carol, { members: 3, minEpoch: eA + 1 });
    await waitForRoom(alice, { members: 3, minEpoch: eBack });
    await sendMessage(alice, "welcome back");
    await waitForMessage(carol, "welcome back");
    expect(await messageTexts(carol)).not.toContain("after Carol left");
  });

  test("an invalid room id in the URL shows a clear error, and so does the landing form", async () => {
    const page = await newPage(browser);
    await page.goto(`${server.url}/room/${encodeURIComponent("not a valid id!")}?name=Eve`);
    const notice = page.getByTestId("invalid-room");
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/room id is not valid/i);
    expect(await page.getByTestId("invalid-room-id").textContent()).toBe("not a valid id!");

    await page.goto(`${server.url}/room/${"x".repeat(33)}`);
    await page.getByTestId("invalid-room").waitFor();

    await page.goto(`${server.url}/`);
    await page.getByTestId("room-id-input").fill("bad id/with spaces");
    await page.getByTestId("room-id-error").waitFor();
    expect(await page.getByTestId("room-id-error").textContent()).toMatch(/1–32 characters/);
    await page.context().close();
  });

  test("opened over plain http from a non-localhost name, the room page explains the secure-context requirement", async () => {
    // qsec.test resolves to the test server, like a LAN address would: http there is not a secure context.
    const lan = await launchChromium(["--host-resolver-rules=MAP qsec.test 127.0.0.1"]);
    try {
      const page = await newPage(lan);
      const url = new URL(server.url);
      await page.goto(`http://qsec.test:${url.port}/room/lan-room?name=Phone`);
      const notice = page.getByTestId("insecure-context");
      await notice.waitFor();
      expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
      const text = await notice.textContent();
      expect(text).toMatch(/secure context/i);
      expect(text).toContain("QSEC_HTTPS=1");
      expect(text).toContain(`https://qsec.test:${url.port}/room/lan-room`);
      expect(await page.getByTestId("room-page").count()).toBe(0);
    } finally {
      await lan.close();
    }
  });

  test("a full room refuses the next member with a clear message", async () => {
    const full = `${room}-full`;
    const p1 = await newPage(browser);
    await p1.goto(`${server.url}/room/${full}?name=One&capacity=2`);
    await p1.getByTestId("room-page").waitFor();
    const p2 = await openRoom(browser, server.url, full, "Two");
    const p3 = await newPage(browser);
    await p3.goto(`${server.url}/room/${full}?name=Three`);
    const err = p3.getByTestId("room-error");
    await err.waitFor();
    expect(await err.getAttribute("data-code")).toBe("ROOM_FULL");
    expect(await err.textContent()).toMatch(/full/i);
    for (const p of [p1, p2, p3]) await p.context().close();
  });
});
