/**
 * Issue 13 in Debian's Chromium: the timeline reads like a chat (groups, times, safe links, long
 * words wrapped, joins and leaves in line, no epoch tag), the direct-message target is shown and
 * goes back to the room after sending, unread count in the tab title, "jump to latest", a list at
 * the bottom stays there when an image's preview decodes, Leave asks first; and on a phone (390×844, 320 and 430 wide) the chat comes first with the other
 * sections behind tabs, a one-row header, no sideways scroll, and the composer in view. Pages are
 * opened on http://localhost and http://127.0.0.1. Screenshots go to /tmp/qsec-ux for review.
 */
import type { Browser, Page } from "playwright-core";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";
import { contentPastRightEdge, horizontalOverflow, sizedPage, SHOTS } from "./helpers/ux";
import { gradientPng } from "./helpers/png";

jest.setTimeout(180_000);

const ROOM = `ux-${Date.now().toString(36)}`;
let server: AppServer;
let loopback: string;
let browser: Browser;
let alice: Page;
let bob: Page;

/** Each opened page's console warnings and errors, from before its first load. */
const consoleOf = new WeakMap<Page, string[]>();

async function open(base: string, name: string, width: number, height: number): Promise<Page> {
  const page = await sizedPage(browser, width, height);
  const lines: string[] = [];
  consoleOf.set(page, lines);
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") lines.push(`${m.type()}: ${m.text()}`);
  });
  await page.goto(`${base}/room/${ROOM}?name=${name}`, { timeout: 150_000 });
  await page.getByTestId("room-page").waitFor({ timeout: 150_000 });
  return page;
}

/** Pretends the user switched to another tab (headless pages are always visible) or came back. */
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

beforeAll(async () => {
  // No QSEC_DEV_ORIGINS: the dev server must hydrate pages on 127.0.0.1 by itself (next.config.mjs).
  server = await startAppServer({ distDir: ".next-e2e-ux", env: { QSEC_DEV_ORIGINS: "" }, readyTimeoutMs: 120_000 });
  loopback = server.url.replace("//localhost:", "//127.0.0.1:");
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

describe("the timeline on a desktop", () => {
  test("joins in line, grouped messages with one sender line, safe links, long words wrapped, no epoch tag", async () => {
    alice = await open(server.url, "Alice", 1440, 900);
    bob = await open(server.url, "Bob", 1440, 900);
    await waitForRoom(alice, { members: 2 });
    await waitForRoom(bob, { members: 2 });
    await alice.locator('[data-testid="room-event"][data-event="joined"]', { hasText: "Bob" }).waitFor();

    const long = "x".repeat(400);
    await sendMessage(alice, "first of a group");
    await sendMessage(alice, 'read https://example.org/a?b=1. or javascript:alert(1) <a href="https://evil.test">x</a>');
    await sendMessage(alice, long);
    await waitForMessage(bob, long);

    const items = bob.locator('[data-testid="message-item"][data-mine="false"]');
    expect(await items.evaluateAll((els) => els.map((e) => e.getAttribute("data-group-start")))).toEqual(["true", "false", "false"]);
    // The sender's name is shown once for the group.
    expect(await bob.locator('[data-testid="message-item"][data-group-start="true"] [data-testid="message-sender"]').allTextContents()).toEqual(["Alice"]);
    // Links only for http(s) URLs, opened without an opener or referrer; the markup around the second stays characters.
    const links = bob.getByTestId("message-link");
    expect(await links.evaluateAll((els) => els.map((e) => e.getAttribute("href")))).toEqual(["https://example.org/a?b=1", "https://evil.test/"]);
    for (const attr of ["rel", "target"])
      expect(await links.evaluateAll((els, a) => els.map((e) => e.getAttribute(a)), attr)).toEqual(
        attr === "rel" ? ["noopener noreferrer", "noopener noreferrer"] : ["_blank", "_blank"],
      );
    expect(await bob.locator('[data-testid="message-text"] a:not([data-testid="message-link"])').count()).toBe(0);
    expect(await items.nth(1).getByTestId("message-text").textContent()).toBe(
      'read https://example.org/a?b=1. or javascript:alert(1) <a href="https://evil.test">x</a>',
    );
    // The long word wraps inside its bubble instead of overflowing it.
    const bubble = items.nth(2).getByTestId("message-text");
    expect(await bubble.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    expect(await horizontalOverflow(bob)).toBe(0);
    // No "e2"-style epoch tag on any message.
    const labels = await bob.locator('[data-testid="message-item"] span').allTextContents();
    expect(labels.filter((t) => /^e\d+$/.test(t.trim()))).toEqual([]);
    await bob.screenshot({ path: `${SHOTS}/ux-desktop-timeline.png` });
  });

  test("the direct-message target is shown while chosen and goes back to everyone after sending", async () => {
    await alice.getByTestId("recipient-select").selectOption({ label: "Bob (direct)" });
    expect(await alice.getByTestId("dm-target").textContent()).toMatch(/Direct message to Bob/);
    await alice.getByTestId("composer-input").fill("only for Bob");
    await alice.getByTestId("composer-input").press("Enter");
    await waitForMessage(alice, "only for Bob");
    await waitForMessage(bob, "only for Bob");
    expect(await alice.getByTestId("recipient-select").inputValue()).toBe("");
    expect(await alice.getByTestId("dm-target").count()).toBe(0);
    expect(await alice.getByTestId("composer-input").getAttribute("placeholder")).toBe("Message everyone…");
  });

  test("unread messages show in the tab title while the tab is hidden", async () => {
    await setHidden(bob, true);
    await sendMessage(alice, "unread one");
    await sendMessage(alice, "unread two");
    await waitForMessage(bob, "unread two");
    await bob.waitForFunction(() => document.title.startsWith("(2) "));
    expect(await bob.title()).toBe(`(2) ${ROOM} — QSEC`);
    await setHidden(bob, false);
    await bob.waitForFunction((t) => document.title === t, `${ROOM} — QSEC`);
  });

  test("scrolled up, a new message offers 'jump to latest' instead of moving the reader", async () => {
    for (let i = 0; i < 14; i++) await sendMessage(alice, `filler ${i}\nline two\nline three`);
    await waitForMessage(bob, "filler 13\nline two\nline three");
    const scroller = bob.getByTestId("message-scroller");
    await scroller.hover();
    await bob.mouse.wheel(0, -5000);
    await bob.getByTestId("jump-to-latest").waitFor();
    const top = await scroller.evaluate((el) => el.scrollTop);
    await sendMessage(alice, "while Bob reads old ones");
    await waitForMessage(bob, "while Bob reads old ones");
    await bob.getByTestId("jump-to-latest").filter({ hasText: "1 new message" }).waitFor();
    expect(await scroller.evaluate((el) => el.scrollTop)).toBe(top);
    await bob.getByTestId("jump-to-latest").click();
    await bob.getByTestId("jump-to-latest").waitFor({ state: "detached" });
    expect(await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 48)).toBe(true);
  });

  test("at the bottom, an image arriving stays in view once its preview has decoded (it grows the row after it is shown)", async () => {
    const scroller = bob.getByTestId("message-scroller");
    expect(await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2)).toBe(true);
    await alice.getByTestId("attach-input").setInputFiles([{ name: "gradient.png", mimeType: "image/png", buffer: gradientPng() }]);
    const thumb = bob.getByRole("img", { name: "Preview of gradient.png" });
    await thumb.waitFor({ timeout: 30_000 });
    await bob.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('img[alt="Preview of gradient.png"]');
      return !!img && img.complete && img.naturalWidth > 0;
    });
    // Followed to the very bottom, preview included, with nothing to press.
    await bob.waitForFunction(() => {
      const el = document.querySelector('[data-testid="message-scroller"]')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
    });
    expect(await bob.getByTestId("jump-to-latest").count()).toBe(0);
    // The sender's own list too: the upload list opened and closed above her composer meanwhile.
    await alice.locator('img[alt="Preview of gradient.png"]').waitFor();
    await alice.waitForFunction(() => {
      const el = document.querySelector('[data-testid="message-scroller"]')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
    });
    expect(await alice.getByTestId("jump-to-latest").count()).toBe(0);
  });

  test("opted-in desktop notifications: a mention and a direct message while hidden, naming the sender without the text", async () => {
    const dave = await sizedPage(browser, 1440, 900);
    // Headless Chromium has no notification centre: record what the page asks the browser to show.
    await dave.context().addInitScript(() => {
      const shown: { title: string; body?: string }[] = [];
      class RecordedNotification {
        static permission = "default";
        static async requestPermission() {
          RecordedNotification.permission = "granted";
          return "granted";
        }
        onclick: (() => void) | null = null;
        constructor(title: string, opts?: { body?: string }) {
          shown.push({ title, body: opts?.body });
        }
        close() {}
      }
      Object.assign(window, { Notification: RecordedNotification, __shown: shown });
    });
    await dave.goto(`${server.url}/room/${ROOM}?name=Dave`, { timeout: 150_000 });
    await waitForRoom(dave, { members: 3 });
    await waitForRoom(alice, { members: 3 });
    await dave.getByTestId("notify-toggle").click();
    await dave.locator('[data-testid="notify-toggle"][aria-pressed="true"]').waitFor();
    await sendMessage(alice, "Dave is not hidden yet");
    await waitForMessage(dave, "Dave is not hidden yet");
    await setHidden(dave, true);
    await sendMessage(alice, "nothing for anyone in particular");
    await sendMessage(alice, "secret plan for @dave");
    await sendMessage(alice, "a private word", "Dave");
    await waitForMessage(dave, "a private word");
    const shown = await dave.evaluate(() => (window as unknown as { __shown: { title: string; body?: string }[] }).__shown);
    expect(shown.map((n) => n.title)).toEqual(["Alice mentioned you", "Direct message from Alice"]);
    expect(JSON.stringify(shown)).not.toMatch(/secret|private/);
    await setHidden(dave, false);
    await dave.getByTestId("leave-button").click();
    await dave.getByTestId("leave-confirm").click();
    await dave.getByTestId("left-banner").waitFor();
    await dave.context().close();
    await waitForRoom(alice, { members: 2 });
  });

  test("Leave asks first; after leaving the header no longer says Online, and the others see the leave in line", async () => {
    await bob.getByTestId("leave-button").click();
    await bob.getByTestId("leave-dialog").waitFor();
    await bob.getByTestId("leave-cancel").click();
    await bob.getByTestId("leave-dialog").waitFor({ state: "hidden" });
    expect(await bob.getByTestId("room-page").getAttribute("data-phase")).toBe("joined");

    await bob.getByTestId("leave-button").click();
    await bob.getByTestId("leave-confirm").click();
    await bob.getByTestId("left-banner").waitFor();
    const state = bob.getByTestId("connection-state");
    expect(await state.getAttribute("data-state")).toBe("left");
    expect(await state.textContent()).not.toMatch(/Online/);
    // Nor does it claim a ready key: the others moved to a key this tab will not get.
    expect(await bob.getByTestId("key-status").textContent()).toMatch(/no new keys/);
    expect(await bob.getByTestId("key-status").getAttribute("data-ready")).toBe("false");
    await alice.locator('[data-testid="room-event"][data-event="left"]', { hasText: "Bob" }).waitFor();
    await alice.screenshot({ path: `${SHOTS}/ux-desktop-room.png` });
    await bob.screenshot({ path: `${SHOTS}/ux-desktop-left.png` });
    await bob.context().close();
  });
});

describe("on a phone", () => {
  let phone: Page;

  test("390×844 on 127.0.0.1: chat first, one-row header, no sideways scroll, composer in view; members, BB84 and log behind tabs", async () => {
    phone = await open(loopback, "Carol", 390, 844);
    await waitForRoom(phone, { members: 2 });
    await phone.getByTestId("composer-input").waitFor();
    expect(await horizontalOverflow(phone)).toBe(0);
    const header = await phone.getByTestId("room-header").boundingBox();
    expect(header!.height).toBeLessThan(64);
    const input = await phone.getByTestId("composer-input").boundingBox();
    expect(input!.y + input!.height).toBeLessThanOrEqual(844);
    expect(await phone.getByTestId("room-tab-chat").getAttribute("aria-selected")).toBe("true");
    expect(await phone.getByTestId("members-panel").isVisible()).toBe(false);
    expect(await phone.getByTestId("bb84-panel").isVisible()).toBe(false);
    await phone.screenshot({ path: `${SHOTS}/ux-mobile-390-chat.png` });

    await sendMessage(alice, "hello phone");
    await waitForMessage(phone, "hello phone");
    await sendMessage(phone, "hello from the phone");
    await waitForMessage(alice, "hello from the phone");
    // A file card fits a phone too (a fixed-width card once pushed Send half off the screen, where
    // the page could not scroll to it).
    await alice
      .getByTestId("attach-input")
      .setInputFiles([{ name: "lecture-notes-for-the-quantum-cryptography-course.pdf", mimeType: "application/pdf", buffer: Buffer.alloc(2048, 1) }]);
    await phone.locator('[data-testid="attachment-card"]').first().waitFor({ timeout: 30_000 });
    expect(await contentPastRightEdge(phone)).toEqual({ px: 0, what: [] });

    for (const [tab, panel] of [
      ["members", "members-panel"],
      ["bb84", "bb84-panel"],
      ["log", "log-panel"],
    ] as const) {
      await phone.getByTestId(`room-tab-${tab}`).click();
      await phone.getByTestId(panel).waitFor();
      expect(await phone.getByTestId("composer-input").isVisible()).toBe(false);
      expect(await horizontalOverflow(phone)).toBe(0);
      expect(await contentPastRightEdge(phone)).toEqual({ px: 0, what: [] });
      await phone.screenshot({ path: `${SHOTS}/ux-mobile-390-${tab}.png` });
    }
    // Starting BB84 from the member list shows its progress on the BB84 tab.
    await phone.getByTestId("room-tab-members").click();
    await phone.locator('[data-testid="member-item"][data-name="Alice"] [data-testid="bb84-start-member"]').click();
    await phone.locator('[data-testid="room-tab-bb84"][aria-selected="true"]').waitFor();
    await phone.locator('[data-testid="bb84-live"][data-status="success"]').first().waitFor({ timeout: 120_000 });
    expect(await horizontalOverflow(phone)).toBe(0);
    await phone.screenshot({ path: `${SHOTS}/ux-mobile-390-bb84-session.png` });
    await phone.getByTestId("room-tab-log").click();
    // A message that arrives while another section is shown is counted on the Chat tab.
    await sendMessage(alice, "while on the log tab");
    await phone.getByTestId("tab-unread").waitFor();
    await phone.getByTestId("room-tab-chat").click();
    await waitForMessage(phone, "while on the log tab");
    expect(await phone.getByTestId("tab-unread").count()).toBe(0);
    // Back on the Chat tab the conversation is scrolled to that newest message (it arrived while
    // the list was hidden, 0 px tall), with no "Jump to latest" to press first.
    await phone.waitForFunction(() => {
      const box = document.querySelector('[data-testid="message-scroller"]')!;
      const items = box.querySelectorAll('[data-testid="message-item"]');
      return items[items.length - 1].getBoundingClientRect().bottom <= box.getBoundingClientRect().bottom + 1;
    });
    expect(await phone.getByTestId("jump-to-latest").count()).toBe(0);
    // Nothing in the developer console all along: no chart warning about the BB84 tab's chart,
    // mounted at 0×0 while another tab is shown.
    expect(consoleOf.get(phone)).toEqual([]);
  });

  test.each([320, 430])("%i px wide: no sideways scroll, one-row header, composer in view", async (width) => {
    await phone.setViewportSize({ width, height: 740 });
    await phone.getByTestId("composer-input").waitFor();
    expect(await horizontalOverflow(phone)).toBe(0);
    expect(await contentPastRightEdge(phone)).toEqual({ px: 0, what: [] });
    expect((await phone.getByTestId("room-header").boundingBox())!.height).toBeLessThan(64);
    const input = await phone.getByTestId("composer-input").boundingBox();
    expect(input!.y + input!.height).toBeLessThanOrEqual(740);
    expect(input!.width).toBeGreaterThan(80);
    await phone.screenshot({ path: `${SHOTS}/ux-mobile-${width}-chat.png` });
  });

  test("the landing page on a phone: no sideways scroll, the join link wraps", async () => {
    const page = await sizedPage(browser, 390, 844);
    await page.goto(`${loopback}/`, { timeout: 150_000 });
    await page.getByTestId("landing-form").waitFor({ timeout: 150_000 });
    await page.getByTestId("room-id-input").fill("a-rather-long-room-id-0123456789");
    await page.getByTestId("join-link-preview").filter({ hasText: "a-rather-long-room-id-0123456789" }).waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    expect(await page.getByText(/later release/).count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/ux-mobile-390-landing.png`, fullPage: true });
    await page.context().close();
  });
});
