/**
 * The production build in Debian's Chromium: `next build` into its own folder, the real server with
 * NODE_ENV=production, and a user on each loopback name (http://localhost and http://127.0.0.1)
 * joining one room, exchanging messages both ways and opening the admin login. Dev-mode pages are
 * covered by the other browser suites; this one catches what only a production bundle breaks
 * (bundling of shared lib/ code, server/client boundaries, hydration of prerendered pages).
 */
import type { Browser } from "playwright-core";
import { buildAppOnce, startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, openRoom, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";

jest.setTimeout(120_000);

const DIST = ".next-e2e-prod";
let server: AppServer;
let browser: Browser;

beforeAll(async () => {
  await buildAppOnce(DIST); // shared with pg-cluster.e2e (the same build, made once per run)
  server = await startAppServer({ distDir: DIST, production: true, readyTimeoutMs: 60_000 });
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

test("a member on localhost and one on 127.0.0.1 chat in one room of the production build", async () => {
  const localhost = server.url;
  const loopback = server.url.replace("//localhost:", "//127.0.0.1:");
  const room = `prod-${Date.now().toString(36)}`;

  const alice = await openRoom(browser, localhost, room, "Alice");
  await waitForRoom(alice, { members: 1 });
  const bob = await openRoom(browser, loopback, room, "Bob");
  await waitForRoom(bob, { members: 2 });
  await waitForRoom(alice, { members: 2 });

  await sendMessage(alice, "hello from localhost");
  await waitForMessage(bob, "hello from localhost");
  await sendMessage(bob, "hello from 127.0.0.1");
  await waitForMessage(alice, "hello from 127.0.0.1");
});

test.each(["localhost", "127.0.0.1"])("the landing page and the admin login load without script errors on %s", async (host) => {
  const base = server.url.replace("//localhost:", `//${host}:`);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/`);
  await page.getByTestId("landing-form").waitFor();
  await page.goto(`${base}/admin/login`);
  await page.locator("h1").first().waitFor();
  expect(errors).toEqual([]);
  await page.close();
});
