/**
 * Encrypted attachments in Debian's Chromium on a dev server and on a production build, each at
 * http://127.0.0.1 and http://localhost: Alice attaches a small image, a small file and a 3 MB one
 * (the file picker; the same path as drag and drop and paste); they upload with progress (the 3 MB
 * one in several tus chunks, each staged in the origin-private file system), Bob sees the image's
 * encrypted thumbnail inline and cards for the files, downloads them and gets the same bytes; files
 * at the segment boundaries (0 B, 1 B, 64 KiB − 1, 64 KiB, 64 KiB + 1) round-trip byte for byte; a
 * 20 MB upload is staged by the attachment worker and resumes after one of its requests is cut; with
 * no worker script, the page seals the upload itself; a stored file tampered with is refused in the
 * browser (the download worker names the segment), with nothing offered or left staged; Cancel stops
 * an upload (deleted on the server) and a download; a short video (a WebM recorded in the page)
 * shows its poster frame and plays inline.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { buildApp, startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, openRoom, waitForRoom } from "./helpers/browser";
import { warmUp } from "./helpers/warm-up";
import { gradientPng } from "./helpers/png";
import { until } from "../helpers/waits";

jest.setTimeout(180_000);

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close().catch(() => undefined);
}, 30_000);

/** Alice, then Bob, in `room`, each seeing both members. */
async function aliceAndBob(base: string, room: string): Promise<{ alice: Page; bob: Page }> {
  const alice = await openRoom(browser, base, room, "Alice");
  await waitForRoom(alice, { members: 1 });
  const bob = await openRoom(browser, base, room, "Bob");
  await waitForRoom(bob, { members: 2 });
  await waitForRoom(alice, { members: 2 });
  return { alice, bob };
}

/** Waits until the page's staging directory in the origin-private file system holds no file. */
async function stagingEmpty(page: Page, dir: "qsec-uploads" | "qsec-downloads"): Promise<void> {
  await page.waitForFunction(
    async (name) => {
      const root = await navigator.storage.getDirectory();
      const d = await root.getDirectoryHandle(name, { create: true });
      for await (const _ of (d as unknown as { keys(): AsyncIterable<string> }).keys()) return false;
      return true;
    },
    dir,
    { timeout: 10_000 },
  );
}

async function downloadBytes(page: Page, name: string): Promise<Buffer> {
  const card = page.locator('[data-testid="attachment-card"]', { has: page.locator(`[data-testid="attachment-name"]`, { hasText: name }) });
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), card.getByRole("button", { name: `Download ${name}` }).click()]);
  expect(download.suggestedFilename()).toBe(name);
  return readFileSync((await download.path())!);
}

describe.each([
  ["dev", false],
  ["production", true],
] as const)("%s server", (_mode, production) => {
  let server: AppServer;
  beforeAll(async () => {
    const distDir = production ? ".next-e2e-attach" : ".next-e2e-attach-dev";
    if (production) await buildApp(distDir);
    server = await startAppServer({ distDir, production, readyTimeoutMs: 120_000 });
    // A dev server compiles each route on its first request: not part of what is tested.
    if (!production) await warmUp(browser, server.url, [{ path: "/room/warm-up?name=Warm", testId: "room-page" }]);
  }, 900_000);
  afterAll(async () => {
    await server?.stop();
  }, 30_000);

  test.each(["127.0.0.1", "localhost"])(
    "on %s: an image and a file go from Alice to Bob, encrypted, with a thumbnail and byte-identical downloads",
    async (host) => {
      const base = server.url.replace(/\/\/(localhost|127\.0\.0\.1):/, `//${host}:`);
      const room = `att-${host.replace(/\./g, "")}-${Date.now().toString(36)}`;
      const { alice, bob } = await aliceAndBob(base, room);

      const image = gradientPng();
      const file = Buffer.alloc(65_537, 0);
      for (let i = 0; i < file.length; i++) file[i] = (i * 31 + 7) & 0xff;
      await expect(alice.getByRole("button", { name: /Attach files/ }).isEnabled()).resolves.toBe(true);
      // Over 3 MB: sealed and sent in several tus chunks (1, 2, then the rest), each staged in the
      // browser's origin-private file system.
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 131 + (i >>> 12)) & 0xff;
      await alice.getByTestId("attach-input").setInputFiles([
        { name: "gradient.png", mimeType: "image/png", buffer: image },
        { name: "notes.bin", mimeType: "application/octet-stream", buffer: file },
        { name: "big.bin", mimeType: "application/octet-stream", buffer: big },
      ]);

      // Bob: the image's preview inline, the files as cards with their names and sizes.
      await bob.locator('[data-testid="attachment-card"]').nth(2).waitFor({ timeout: 30_000 });
      const thumb = bob.getByRole("img", { name: "Preview of gradient.png" });
      await thumb.waitFor();
      expect(await thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
      await expect(bob.locator('[data-testid="attachment-card"]', { hasText: "notes.bin" }).getByTestId("attachment-size").textContent()).resolves.toMatch(
        /^64 KB/,
      );
      await expect(bob.locator('[data-testid="attachment-card"]', { hasText: "big.bin" }).getByTestId("attachment-size").textContent()).resolves.toMatch(
        /^3\.0 MB/,
      );
      // Alice's uploads finished and left the list.
      await alice.locator('[data-testid="attachment-card"]').nth(2).waitFor();
      expect(await alice.getByTestId("upload-error").count()).toBe(0);

      expect((await downloadBytes(bob, "gradient.png")).equals(image)).toBe(true);
      expect((await downloadBytes(bob, "notes.bin")).equals(file)).toBe(true);
      expect((await downloadBytes(bob, "big.bin")).equals(big)).toBe(true);
      for (const p of [alice, bob]) await p.context().close();
    },
  );

  test("files of 0 B, 1 B, 64 KiB − 1, 64 KiB and 64 KiB + 1 (the segment boundaries) arrive byte-identical", async () => {
    const room = `edge-${Date.now().toString(36)}`;
    const { alice, bob } = await aliceAndBob(server.url, room);
    const files = [0, 1, 65_535, 65_536, 65_537].map((n) => {
      const buffer = Buffer.alloc(n);
      for (let i = 0; i < n; i++) buffer[i] = (i * 7 + n) & 0xff;
      return { name: `edge-${n}.bin`, mimeType: "application/octet-stream", buffer };
    });
    await alice.getByTestId("attach-input").setInputFiles(files);
    for (const f of files) await bob.locator('[data-testid="attachment-card"]', { hasText: f.name }).waitFor({ timeout: 30_000 });
    expect(await alice.getByTestId("upload-error").count()).toBe(0);
    for (const f of files) expect((await downloadBytes(bob, f.name)).equals(f.buffer)).toBe(true);
    for (const p of [alice, bob]) await p.context().close();
  });

  test("a 20 MB upload is staged by a Web Worker, resumes after a request fails midway, arrives byte-identical and leaves no staging files", async () => {
    const room = `stage-${Date.now().toString(36)}`;
    const { alice, bob } = await aliceAndBob(server.url, room);
    // Workers are known by name (their scripts are the bundler's: Turbopack starts every worker from one bootstrap).
    const workers: Promise<string>[] = [];
    alice.on("worker", (w) => workers.push(w.evaluate(() => (globalThis as unknown as { name: string }).name).catch(() => "")));
    // The second upload request (a request carries at most 16 MiB) is cut before it reaches the server.
    let patches = 0;
    let cut = false;
    await alice.route("**/attachments/**", async (route) => {
      if (route.request().method() === "PATCH" && ++patches === 2) {
        cut = true;
        return route.abort("connectionreset");
      }
      return route.continue();
    });
    const big = Buffer.alloc(20 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i++) big[i] = (i * 197 + (i >>> 16)) & 0xff;
    await alice.getByTestId("attach-input").setInputFiles([{ name: "staged.bin", mimeType: "application/octet-stream", buffer: big }]);
    await bob.locator('[data-testid="attachment-card"]', { hasText: "staged.bin" }).waitFor({ timeout: 60_000 });
    expect(cut).toBe(true);
    expect(patches).toBeGreaterThanOrEqual(3);
    expect(await alice.getByTestId("upload-error").count()).toBe(0);
    // Read, hashed and sealed by the attachment worker, not on the page.
    expect(await Promise.all(workers)).toContain("qsec-attachment");
    expect((await downloadBytes(bob, "staged.bin")).equals(big)).toBe(true);
    // The sealed chunks staged in the origin-private file system are gone once the upload is done.
    await stagingEmpty(alice, "qsec-uploads");
    for (const p of [alice, bob]) await p.context().close();
  });

  test("a stored file tampered with is refused in the browser with its reason, and nothing is offered or left staged", async () => {
    const room = `tamper-${Date.now().toString(36)}`;
    const { alice, bob } = await aliceAndBob(server.url, room);
    // 3 MB: opened by the download worker (files from 2 MiB on).
    const file = Buffer.alloc(3 * 1024 * 1024 + 3);
    for (let i = 0; i < file.length; i++) file[i] = (i * 29 + 5) & 0xff;
    await alice.getByTestId("attach-input").setInputFiles([{ name: "tampered.bin", mimeType: "application/octet-stream", buffer: file }]);
    const card = bob.locator('[data-testid="attachment-card"]', { hasText: "tampered.bin" });
    await card.waitFor({ timeout: 30_000 });
    // One bit of segment 20's ciphertext flipped in the server's store.
    const store = path.join(server.dataDir, "attachments");
    // This file's ciphertext: header, plaintext and a 16-byte tag per 64 KiB segment.
    const sealedSize = 24 + file.length + 16 * Math.ceil(file.length / 65_536);
    const stored = readdirSync(store).filter((f) => !f.endsWith(".json") && statSync(path.join(store, f)).size === sealedSize);
    expect(stored).toHaveLength(1);
    const bytes = readFileSync(path.join(store, stored[0]!));
    bytes[24 + 20 * (65_536 + 16) + 100]! ^= 1;
    writeFileSync(path.join(store, stored[0]!), bytes);
    let offered = false;
    bob.on("download", () => (offered = true));
    const workers: Promise<string>[] = [];
    bob.on("worker", (w) => workers.push(w.evaluate(() => (globalThis as unknown as { name: string }).name).catch(() => "")));
    await card.getByRole("button", { name: "Download tampered.bin" }).click();
    await expect(card.getByTestId("attachment-error").textContent({ timeout: 30_000 })).resolves.toMatch(/segment 20/);
    expect(offered).toBe(false);
    // Opened by the attachment worker, not on the page.
    expect(await Promise.all(workers)).toContain("qsec-attachment");
    // No opened part of it stays in the origin-private file system.
    await stagingEmpty(bob, "qsec-downloads");
    for (const p of [alice, bob]) await p.context().close();
  });

  test("Cancel stops an upload (nothing announced, nothing kept on the server or staged) and a download (nothing offered, nothing staged)", async () => {
    const room = `cancel-${Date.now().toString(36)}`;
    const { alice, bob } = await aliceAndBob(server.url, room);
    const store = path.join(server.dataDir, "attachments");
    const storedNow = () => new Set(readdirSync(store).filter((f) => !f.endsWith(".json")));
    const before = storedNow();
    // Upload requests are held for a while (a slow network), so Cancel comes mid-upload.
    await alice.route("**/attachments/**", async (route) => {
      if (route.request().method() === "PATCH") await new Promise((r) => setTimeout(r, 1500));
      return route.continue().catch(() => undefined);
    });
    const file = Buffer.alloc(6 * 1024 * 1024, 9);
    await alice.getByTestId("attach-input").setInputFiles([{ name: "cancelled.bin", mimeType: "application/octet-stream", buffer: file }]);
    await alice.getByRole("button", { name: "Cancel upload of cancelled.bin" }).click({ timeout: 30_000 });
    await alice.getByTestId("upload-item").waitFor({ state: "detached", timeout: 30_000 });
    expect(await alice.getByTestId("upload-error").count()).toBe(0);
    await alice.unroute("**/attachments/**");
    // The server deleted what it had received; no staging file is left in the browser.
    await until(() => [...storedNow()].every((f) => before.has(f)), 10_000, "the cancelled upload's file to go");
    await stagingEmpty(alice, "qsec-uploads");
    expect(await bob.locator('[data-testid="attachment-card"]', { hasText: "cancelled.bin" }).count()).toBe(0);

    // A download held by a slow network, cancelled: no file offered, nothing staged.
    await alice.getByTestId("attach-input").setInputFiles([{ name: "kept.bin", mimeType: "application/octet-stream", buffer: file }]);
    const card = bob.locator('[data-testid="attachment-card"]', { hasText: "kept.bin" });
    await card.waitFor({ timeout: 30_000 });
    await bob.route("**/attachments/**", async (route) => {
      if (route.request().method() === "GET") await new Promise((r) => setTimeout(r, 1500));
      return route.continue().catch(() => undefined);
    });
    let offered = false;
    bob.on("download", () => (offered = true));
    await card.getByRole("button", { name: "Download kept.bin" }).click();
    await card.getByRole("button", { name: "Cancel download of kept.bin" }).click({ timeout: 30_000 });
    await card.getByRole("button", { name: "Download kept.bin" }).waitFor({ timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 2000));
    expect(offered).toBe(false);
    await stagingEmpty(bob, "qsec-downloads");
    for (const p of [alice, bob]) await p.context().close();
  });

  test("where the staging worker cannot start, the page seals the upload itself", async () => {
    const room = `nowk-${Date.now().toString(36)}`;
    const { alice, bob } = await aliceAndBob(server.url, room);
    // Every worker script is refused (Next.js's Turbopack starts each worker from a
    // turbopack-worker-… bootstrap, in development and production builds).
    let refused = 0;
    await alice.route(/turbopack-worker-/, (route) => {
      refused += 1;
      return route.fulfill({ status: 404, body: "no worker here" });
    });
    const file = Buffer.alloc(3 * 1024 * 1024 + 1);
    for (let i = 0; i < file.length; i++) file[i] = (i * 13 + 1) & 0xff;
    await alice.getByTestId("attach-input").setInputFiles([{ name: "fallback.bin", mimeType: "application/octet-stream", buffer: file }]);
    await bob.locator('[data-testid="attachment-card"]', { hasText: "fallback.bin" }).waitFor({ timeout: 60_000 });
    expect(refused).toBeGreaterThan(0);
    expect(await alice.getByTestId("upload-error").count()).toBe(0);
    expect((await downloadBytes(bob, "fallback.bin")).equals(file)).toBe(true);
    for (const p of [alice, bob]) await p.context().close();
  });

  test("a short video: its poster frame inline, and Play shows it inline once downloaded and checked", async () => {
    const room = `vid-${Date.now().toString(36)}`;
    const { alice, bob } = await aliceAndBob(server.url, room);
    // A one-second 64×48 WebM made in the page (MediaRecorder over a painted canvas): no fixture,
    // and no MP4 codec needed (Debian's Chromium may have none).
    const webm = Buffer.from(await alice.evaluate(recordWebm), "base64");
    expect(webm.length).toBeGreaterThan(100);
    await alice.getByTestId("attach-input").setInputFiles([{ name: "clip.webm", mimeType: "video/webm", buffer: webm }]);

    const poster = bob.getByRole("img", { name: "Preview of clip.webm" });
    await poster.waitFor({ timeout: 30_000 });
    expect(await poster.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await bob.getByRole("button", { name: "Play clip.webm" }).click();
    const video = bob.getByTestId("attachment-video");
    await video.waitFor({ timeout: 30_000 });
    expect(await video.getAttribute("aria-label")).toBe("Video clip.webm");
    // The decrypted, checked file plays: the element has its frames.
    await bob.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid="attachment-video"]');
        return !!v && v.readyState >= 2 && v.videoWidth === 64 && v.videoHeight === 48;
      },
      undefined,
      { timeout: 30_000 },
    );
    expect(await bob.getByTestId("attachment-error").count()).toBe(0);
    for (const p of [alice, bob]) await p.context().close();
  });
});

/** Runs in the page: a WebM of 15 painted frames, base64. */
async function recordWebm(): Promise<string> {
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 48;
  const ctx = canvas.getContext("2d")!;
  const rec = new MediaRecorder(canvas.captureStream(15), { mimeType: "video/webm" });
  const parts: Blob[] = [];
  rec.ondataavailable = (e) => parts.push(e.data);
  const stopped = new Promise((r) => (rec.onstop = r));
  rec.start(100);
  for (let i = 0; i < 15; i++) {
    ctx.fillStyle = `hsl(${i * 24}, 80%, 50%)`;
    ctx.fillRect(0, 0, 64, 48);
    await new Promise((r) => setTimeout(r, 66));
  }
  rec.stop();
  await stopped;
  const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin);
}
