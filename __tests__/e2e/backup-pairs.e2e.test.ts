/**
 * Key backup carries the QKD-hardened pair keys, in Debian's Chromium against the real server, in a
 * dev build and a production build: Bob sets up a recovery-code backup, then Alice and Bob run a
 * BB84 session and Alice sends Bob a direct message under the hybrid keys; the session's keys update
 * Bob's backup by themselves (the next version). Bob restores it in a fresh browser context (no IndexedDB,
 * no localStorage): the restored Bob reads that message from history, shows Alice as QKD-hardened,
 * and the two keep using the hybrid keys both ways.
 */
import type { Browser, Page } from "playwright-core";
import { buildApp, startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, newPage, openRoom, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";
import { warmUp } from "./helpers/warm-up";

jest.setTimeout(240_000);

const MODES = (process.env.QSEC_E2E_PAIRS_MODES ?? "dev,production").split(",") as ("dev" | "production")[];

/** The direct message with this text as `page` shows it: its data-hybrid attribute. */
function dm(page: Page, text: string) {
  return page.locator('[data-testid="message-item"][data-direct="true"][data-status="ok"]').filter({ hasText: text });
}

/** The backup version the key backup dialog shows (it reads the status when it opens). */
async function backupVersion(page: Page): Promise<number> {
  await page.getByRole("button", { name: "Key backup" }).click();
  const dialog = page.getByTestId("key-backup-dialog");
  const version = Number(await dialog.getByTestId("backup-status").getAttribute("data-version"));
  await dialog.getByTestId("backup-close").click();
  await dialog.waitFor({ state: "hidden" });
  return version;
}

/** Waits until the dialog, opened anew each time, shows this version. */
async function expectBackupVersion(page: Page, version: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let got = await backupVersion(page); got !== version; got = await backupVersion(page)) {
    if (Date.now() > deadline) throw new Error(`the backup stayed at version ${got}, not ${version}`);
    await page.waitForTimeout(500);
  }
}

describe.each(MODES)("%s build", (mode) => {
  let server: AppServer;
  let browser: Browser;
  const room = `pairs-${mode.slice(0, 3)}-${Date.now().toString(36)}`;

  beforeAll(async () => {
    const distDir = mode === "production" ? ".next-e2e-pairs-prod" : ".next-e2e-pairs";
    if (mode === "production") await buildApp(distDir);
    server = await startAppServer({ distDir, production: mode === "production", readyTimeoutMs: 120_000 });
    browser = await launchChromium();
    if (mode === "dev") {
      await warmUp(browser, server.url, [
        { path: "/", testId: "landing-form" },
        { path: "/room/warm-up-pairs?name=Warm", testId: "room-page" },
      ]);
    }
  }, 900_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  }, 30_000);

  test("after a BB84 session, a restore in a fresh browser reads the direct message sealed under the hybrid keys and keeps using them", async () => {
    const alice = await openRoom(browser, server.url, room, "Alice", 120_000);
    const first = await waitForRoom(alice, { members: 1 });
    const bob = await openRoom(browser, server.url, room, "Bob", 120_000);
    await waitForRoom(bob, { members: 2, minEpoch: first + 1 });
    await waitForRoom(alice, { members: 2, minEpoch: first + 1 });

    // Bob sets up a recovery-code backup (version 1: his identity and room keys, no pair keys yet).
    await bob.getByRole("button", { name: "Key backup" }).click();
    const dialog = bob.getByTestId("key-backup-dialog");
    await dialog.getByTestId("backup-create").click();
    const code = (await dialog.getByTestId("recovery-code").textContent({ timeout: 30_000 }))!.trim();
    await dialog.getByRole("button", { name: "I wrote it down" }).click();
    await dialog.waitFor({ state: "hidden" });
    // A reload ends any update the joins' room keys left pending; from here only the session's keys change the backup.
    await bob.reload();
    await waitForRoom(bob, { members: 2 });
    const before = await backupVersion(bob);
    expect(before).toBeGreaterThanOrEqual(1);

    // BB84 between Alice and Bob: both switch to the hybrid keys.
    await alice.getByTestId("bb84-qubits").fill("16384");
    await alice.waitForFunction(() => {
      const b = document.querySelector('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]') as HTMLButtonElement | null;
      return !!b && !b.disabled;
    });
    await alice.locator('[data-testid="member-item"][data-name="Bob"] [data-testid="bb84-start-member"]').click();
    await alice.locator('[data-testid="bb84-live"][data-status="success"][data-role="alice"]').waitFor({ timeout: 120_000 });
    await bob.locator('[data-testid="bb84-live"][data-status="success"][data-role="bob"]').first().waitFor({ timeout: 60_000 });
    await bob.locator('[data-testid="member-item"][data-name="Alice"][data-qkd="true"]').waitFor({ timeout: 30_000 });

    await sendMessage(alice, "sealed under the hybrid keys", "Bob");
    await waitForMessage(bob, "sealed under the hybrid keys");
    expect(await dm(bob, "sealed under the hybrid keys").getAttribute("data-hybrid")).toBe("true");

    // The committed session updated Bob's backup by itself (the next version); then his browser is gone.
    await expectBackupVersion(bob, before + 1);
    await bob.context().close();

    // A fresh browser context: restore, then open the room from "Your rooms".
    const fresh = await newPage(browser);
    await fresh.goto(`${server.url}/`, { timeout: 120_000 });
    await fresh.getByRole("button", { name: "Restore from backup" }).click();
    await fresh.getByLabel("Recovery code", { exact: true }).fill(code);
    await fresh.getByRole("button", { name: "Restore", exact: true }).click();
    await fresh.getByTestId("restore-done").waitFor({ timeout: 60_000 });
    expect(await fresh.getByTestId("restore-done").textContent()).toMatch(/1 QKD-hardened pair key\b/);
    await fresh.locator(`[data-testid="your-room"][data-room-id="${room}"] a`).click();
    await waitForRoom(fresh, { members: 2 });

    // The message sealed under the hybrid keys before the restore reads from history.
    await waitForMessage(fresh, "sealed under the hybrid keys", 60_000);
    await fresh.locator('[data-testid="member-item"][data-name="Alice"][data-qkd="true"]').waitFor({ timeout: 30_000 });

    // And the pair keeps using the hybrid keys, both ways.
    await sendMessage(alice, "after the restore", "Bob");
    await waitForMessage(fresh, "after the restore");
    expect(await dm(fresh, "after the restore").getAttribute("data-hybrid")).toBe("true");
    await sendMessage(fresh, "from the restored browser", "Alice");
    await waitForMessage(alice, "from the restored browser");
    expect(await dm(alice, "from the restored browser").getAttribute("data-hybrid")).toBe("true");
  });
});
