/**
 * One identity per browser profile, "someone else in this tab", and key backup, in Debian's Chromium
 * against the real server, in a dev build and a production build, with members on http://localhost
 * and http://127.0.0.1 (two origins: two browser profiles' worth of IndexedDB).
 *
 * What is asserted is what a peer sees: after a reload, in a second tab and after a restore from a
 * passphrase backup in a fresh browser context, the member has the same fingerprint and safety number
 * and no "key changed" badge; a tab switched to "someone else" is a different member; a wrong
 * passphrase is refused with a clear message.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildApp, startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, newPage, waitForRoom } from "./helpers/browser";
import { warmUp } from "./helpers/warm-up";

jest.setTimeout(180_000);

const MODES = (process.env.QSEC_E2E_IDENT_MODES ?? "dev,production").split(",") as ("dev" | "production")[];

async function peerView(viewer: Page, name: string): Promise<{ fingerprint: string; safetyNumber: string; keyChanged: number }> {
  const item = viewer.locator(`[data-testid="member-item"][data-name="${name}"]`);
  await item.waitFor({ timeout: 30_000 });
  const fingerprint = (await item.getByTestId("member-fingerprint").textContent())?.trim() ?? "";
  await item.getByTestId("safety-number-button").click();
  const dialog = viewer.getByTestId("safety-number-dialog");
  await dialog.locator('[data-testid="safety-number"] li').first().waitFor();
  const safetyNumber = (await dialog.getByTestId("safety-number").locator("li").allTextContents()).join(" ");
  await viewer.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  return { fingerprint, safetyNumber, keyChanged: await viewer.getByTestId("key-changed").count() };
}

/** Waits until `viewer` lists exactly these member names. */
async function waitForMembers(viewer: Page, names: string[]): Promise<void> {
  await viewer.waitForFunction(
    (want) => {
      const got = [...document.querySelectorAll('[data-testid="member-item"]')].map((e) => e.getAttribute("data-name")).sort();
      return JSON.stringify(got) === JSON.stringify([...want].sort());
    },
    names,
    { timeout: 60_000 },
  );
}

describe.each(MODES)("%s build", (mode) => {
  let server: AppServer;
  let browser: Browser;
  let localhost = "";
  let loopback = "";
  const room = `ident-${mode.slice(0, 3)}-${Date.now().toString(36)}`;
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    const distDir = mode === "production" ? ".next-e2e-ident-prod" : ".next-e2e-ident";
    if (mode === "production") await buildApp(distDir);
    server = await startAppServer({ distDir, production: mode === "production", readyTimeoutMs: 120_000 });
    browser = await launchChromium();
    localhost = server.url;
    loopback = server.url.replace("//localhost:", "//127.0.0.1:");
    if (mode === "dev") {
      await warmUp(browser, localhost, [
        { path: "/", testId: "landing-form" },
        { path: "/room/warm-up?name=Warm", testId: "room-page" },
      ]);
    }
  }, 900_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  }, 30_000);

  async function open(base: string, path: string, ctx?: BrowserContext): Promise<Page> {
    const page = ctx ? await ctx.newPage() : await newPage(browser);
    if (!ctx) contexts.push(page.context());
    page.on("pageerror", (e) => console.error(`[page error ${mode}] ${e.message}`));
    await page.goto(`${base}${path}`, { timeout: 120_000 });
    return page;
  }

  test("a reload and a second tab are the same member with the same safety number, on localhost and 127.0.0.1", async () => {
    alice = await open(localhost, `/room/${room}?name=Alice`);
    await alice.getByTestId("room-page").waitFor({ timeout: 120_000 });
    bob = await open(loopback, `/room/${room}?name=Bob`);
    await waitForRoom(bob, { members: 2 });
    await waitForRoom(alice, { members: 2 });
    const aliceSeen = await peerView(bob, "Alice");
    const bobSeen = await peerView(alice, "Bob");
    expect(aliceSeen.safetyNumber).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(bobSeen.safetyNumber).toBe(aliceSeen.safetyNumber);

    // Both reload (each on its own origin): same identities, so the same fingerprints and number, no warning.
    await alice.reload();
    await bob.reload();
    await waitForRoom(alice, { members: 2 });
    await waitForRoom(bob, { members: 2 });
    expect(await peerView(bob, "Alice")).toEqual(aliceSeen);
    expect(await peerView(alice, "Bob")).toEqual(bobSeen);

    // A second tab of Alice's browser, opened from the bare room link: it joins as Alice, no name asked.
    const aliceTab2 = await open(localhost, `/room/${room}`, alice.context());
    await waitForRoom(aliceTab2, { members: 2 });
    await waitForMembers(bob, ["Alice", "Bob"]);
    expect(await peerView(bob, "Alice")).toEqual(aliceSeen);
    expect(await peerView(aliceTab2, "Bob")).toEqual(bobSeen);
    alice = aliceTab2;

    // The landing page lists the room under "Your rooms".
    const landing = await open(localhost, "/", alice.context());
    await landing.locator(`[data-testid="your-room"][data-room-id="${room}"]`).waitFor();
    expect(await landing.locator(`[data-testid="your-room"][data-room-id="${room}"]`).textContent()).toContain("as Alice");
    await landing.close();
  });

  test('"Join as someone else in this tab" is a different member', async () => {
    const tab = await open(localhost, "/", alice.context());
    await tab.getByTestId("room-id-input").fill(room);
    await tab.getByTestId("name-input").fill("Mallory");
    await tab.getByLabel("Join as someone else in this tab").check();
    await tab.getByTestId("join-button").click();
    await waitForRoom(tab, { members: 3 });
    await waitForMembers(bob, ["Alice", "Bob", "Mallory"]);
    const mallory = await peerView(bob, "Mallory");
    const aliceNow = await peerView(bob, "Alice");
    expect(mallory.fingerprint).not.toBe(aliceNow.fingerprint);
    expect(mallory.safetyNumber).not.toBe(aliceNow.safetyNumber);
    expect(aliceNow.keyChanged).toBe(0);
    // A reload of that tab stays Mallory (the tab's own identity), not Alice.
    await tab.reload();
    await waitForRoom(tab, { members: 3 });
    expect((await peerView(bob, "Mallory")).fingerprint).toBe(mallory.fingerprint);
    // Members stay while offline (closing a tab is not leaving): Mallory ends her membership with Leave.
    await tab.getByTestId("leave-button").click();
    await tab.getByTestId("leave-confirm").click();
    await waitForMembers(bob, ["Alice", "Bob"]);
    await tab.close();
  });

  test("passphrase backup → restore in a fresh browser context brings Alice back; a wrong passphrase is refused clearly", async () => {
    const before = await peerView(bob, "Alice");
    const backupName = `alice-${mode}-${Date.now().toString(36)}`;
    const passphrase = "tangerine orbit whispers seven quiet harbors";

    await alice.getByRole("button", { name: "Key backup" }).click();
    const dialog = alice.getByTestId("key-backup-dialog");
    await dialog.getByLabel("A passphrase").check();
    await dialog.getByLabel("Backup name").fill(backupName);
    await dialog.getByLabel("Passphrase", { exact: true }).fill(passphrase);
    await dialog.getByLabel("Passphrase again").fill(passphrase);
    expect(await dialog.getByTestId("passphrase-strength").getAttribute("data-strength")).toBe("strong");
    await dialog.getByTestId("backup-create").click();
    await dialog.getByTestId("backup-done").waitFor({ timeout: 60_000 });
    expect(await dialog.getByTestId("backup-status").getAttribute("data-version")).toBe("1");
    await dialog.getByTestId("backup-close").click();

    // A fresh browser context (no IndexedDB, no localStorage): restore by name and passphrase.
    const fresh = await open(localhost, "/");
    await fresh.getByRole("button", { name: "Restore from backup" }).click();
    await fresh.getByLabel("A passphrase").check();
    await fresh.getByLabel("Backup name").fill(backupName);
    await fresh.getByLabel("Passphrase", { exact: true }).fill(passphrase + "x");
    await fresh.getByRole("button", { name: "Restore", exact: true }).click();
    const error = fresh.getByTestId("restore-error");
    await error.waitFor({ timeout: 60_000 });
    expect(await error.textContent()).toMatch(/wrong passphrase or recovery key/i);
    expect(await fresh.getByTestId("your-room").count()).toBe(0);

    await fresh.getByLabel("Passphrase", { exact: true }).fill(passphrase);
    await fresh.getByRole("button", { name: "Restore", exact: true }).click();
    await fresh.getByTestId("restore-done").waitFor({ timeout: 60_000 });
    // The rooms came back with the backup; opening one joins as Alice with the restored keys.
    const link = fresh.locator(`[data-testid="your-room"][data-room-id="${room}"] a`);
    await link.click();
    await waitForRoom(fresh, { members: 2 });
    await waitForMembers(bob, ["Alice", "Bob"]);
    expect(await peerView(bob, "Alice")).toEqual(before);
    alice = fresh;
  });

  test("recovery-code backup on 127.0.0.1 → restore in a fresh context; a typo is caught by the checksum", async () => {
    const before = await peerView(alice, "Bob");
    await bob.getByRole("button", { name: "Key backup" }).click();
    const dialog = bob.getByTestId("key-backup-dialog");
    expect(await dialog.getByLabel("A recovery code (recommended)").isChecked()).toBe(true);
    await dialog.getByTestId("backup-create").click();
    const code = (await dialog.getByTestId("recovery-code").textContent({ timeout: 30_000 }))!.trim();
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){13}[0-9A-HJKMNP-TV-Z]{4}$/);
    await dialog.getByRole("button", { name: "I wrote it down" }).click();

    const fresh = await open(loopback, "/");
    await fresh.getByRole("button", { name: "Restore from backup" }).click();
    const typo = code.slice(0, 5) + (code[5] === "A" ? "B" : "A") + code.slice(6);
    await fresh.getByLabel("Recovery code", { exact: true }).fill(typo);
    await fresh.getByRole("button", { name: "Restore", exact: true }).click();
    await fresh.getByTestId("restore-error").waitFor();
    expect(await fresh.getByTestId("restore-error").textContent()).toMatch(/typo/);
    // Written down by hand: lower case, spaces instead of hyphens.
    await fresh.getByLabel("Recovery code", { exact: true }).fill(code.toLowerCase().replace(/-/g, " "));
    await fresh.getByRole("button", { name: "Restore", exact: true }).click();
    await fresh.getByTestId("restore-done").waitFor({ timeout: 60_000 });
    await fresh.locator(`[data-testid="your-room"][data-room-id="${room}"] a`).click();
    await waitForRoom(fresh, { members: 2 });
    await waitForMembers(alice, ["Alice", "Bob"]);
    expect(await peerView(alice, "Bob")).toEqual(before);
  });
});
