/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), plus the few page
 * helpers the chat scenarios share. Pages are separate browser contexts: separate IndexedDB, so
 * separate identities and members.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

/** extraArgs: e.g. a host-resolver rule that makes a LAN-like name point at the test server. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...extraArgs] });
}

/** A browser with an ordinary on-disk profile in `userDataDir` (playwright's contexts are off-the-record: no disk-backed storage). */
export async function launchChromiumProfile(userDataDir: string, extraArgs: string[] = []): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (.ci/run does)`);
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: [...ARGS, ...extraArgs] });
}

export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  return page;
}

/** Opens /room/<id>?name=… in a fresh context and waits until the room is shown. */
export async function openRoom(browser: Browser, base: string, roomId: string, name: string, timeout = 60_000): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(`${base}/room/${encodeURIComponent(roomId)}?name=${encodeURIComponent(name)}`, { timeout });
  await page.getByTestId("room-page").waitFor({ timeout });
  return page;
}

export async function epochOf(page: Page): Promise<number> {
  return Number(await page.getByTestId("epoch").textContent());
}

/** Waits until the page shows `members` members and holds the key of an epoch ≥ minEpoch. */
export async function waitForRoom(page: Page, opts: { members?: number; minEpoch?: number }, timeout = 30_000): Promise<number> {
  await page.waitForFunction(
    ({ members, minEpoch }) => {
      const status = document.querySelector('[data-testid="key-status"]');
      const epoch = Number(document.querySelector('[data-testid="epoch"]')?.textContent ?? NaN);
      const count = document.querySelectorAll('[data-testid="member-item"]').length;
      return status?.getAttribute("data-ready") === "true" && epoch >= minEpoch && (members === -1 || count === members);
    },
    { members: opts.members ?? -1, minEpoch: opts.minEpoch ?? 0 },
    { timeout },
  );
  return epochOf(page);
}

/** Types a message (to everyone, or as a direct message to one member) and sends it with Enter. */
export async function sendMessage(page: Page, text: string, toName?: string): Promise<void> {
  await page.getByTestId("recipient-select").selectOption(toName ? { label: `${toName} (direct)` } : { value: "" });
  const input = page.getByTestId("composer-input");
  await input.fill(text);
  await input.press("Enter");
  // Our own message appears once the server acknowledged it.
  await waitForMessage(page, text);
}

/** Waits for a decrypted message with exactly this text. */
export async function waitForMessage(page: Page, text: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('[data-testid="message-item"][data-status="ok"] [data-testid="message-text"]')].some((el) => el.textContent === t),
    text,
    { timeout },
  );
}

export async function messageTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="message-item"] [data-testid="message-text"]').allTextContents();
}
