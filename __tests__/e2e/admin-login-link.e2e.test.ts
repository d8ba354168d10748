/**
 * The development login link: a dev server started without ADMIN_TOKEN makes a token and prints one
 * link with it in the URL fragment; opening that link in Chromium logs in and lands on /admin, with
 * the fragment gone from the address bar, and the token never reaches the server in a request line
 * or a Referer. A link with a wrong token says so and leaves the form. Pasted into a tab already on
 * the login page, also while it hydrates, the link logs in as well.
 */
import type { Browser, Request } from "playwright-core";
import { startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, newPage } from "./helpers/browser";

jest.setTimeout(240_000);

let server: AppServer;
let browser: Browser;

beforeAll(async () => {
  // Its own Next build folder, like every e2e suite (one dev server per folder).
  server = await startAppServer({ distDir: ".next-e2e-admin-link", env: { ADMIN_TOKEN: "" }, readyTimeoutMs: 120_000 });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

function printedLink(): { link: string; token: string } {
  const m = /^\s*(https?:\/\/localhost:\d+\/admin\/login#token=([A-Za-z0-9_-]+))\s*$/m.exec(server.output());
  if (!m) throw new Error(`no login link in the server output:\n${server.output()}`);
  return { link: m[1], token: m[2] };
}

test("the printed link logs in with one click and lands on /admin without the token in the address", async () => {
  const { link, token } = printedLink();
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits, base64url
  expect(link.startsWith(`${server.url}/admin/login#token=`)).toBe(true);
  expect(server.output().split(token).length - 1).toBe(1); // printed once, inside the link

  const page = await newPage(browser);
  const requests: Request[] = [];
  page.on("request", (r) => requests.push(r));
  await page.goto(link, { timeout: 150_000 });
  await page.getByTestId("admin-rooms").waitFor({ timeout: 150_000 });
  expect(new URL(page.url()).pathname).toBe("/admin");
  expect(page.url()).not.toContain(token);
  expect(await page.evaluate(() => window.location.hash)).toBe("");
  // Logged in for real: the session cookie opens the API.
  expect((await page.request.get(`${server.url}/admin/api/session`)).status()).toBe(200);

  // The fragment stayed in the browser: no request line or Referer carried it, and the server never logged it.
  expect(requests.length).toBeGreaterThan(0);
  for (const r of requests) {
    expect(r.url()).not.toContain(token);
    expect((await r.allHeaders()).referer ?? "").not.toContain(token);
  }
  expect(server.output().split(token).length - 1).toBe(1);

  // The link opened again with the session still alive: the login page sends the browser on to
  // /admin, which drops the fragment the browser carried over the redirect.
  await page.goto(link, { timeout: 150_000 });
  await page.getByTestId("admin-rooms").waitFor({ timeout: 150_000 });
  expect(new URL(page.url()).pathname).toBe("/admin");
  await page.waitForFunction(() => window.location.hash === "", null, { timeout: 30_000 });
  expect(page.url()).not.toContain(token);
  await page.context().close();
});

test("a link with a wrong token says so, drops the fragment and leaves the form", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/admin/login#token=not-the-admin-token-0123456789`, { timeout: 150_000 });
  await page.getByTestId("admin-login-error").waitFor({ timeout: 60_000 });
  expect(await page.getByTestId("admin-login-error").textContent()).toMatch(/login link did not work: wrong admin token/);
  expect(new URL(page.url()).pathname).toBe("/admin/login");
  expect(await page.evaluate(() => window.location.hash)).toBe("");
  await page.getByTestId("admin-token").waitFor();
  await page.context().close();
});

test("the link pasted into a tab already on the login page (only the fragment changes, no reload) still logs in", async () => {
  const { link, token } = printedLink();
  const page = await newPage(browser);
  // Where a newcomer lands first: /admin sends a browser without a session to the login form.
  await page.goto(`${server.url}/admin`, { timeout: 150_000 });
  await page.getByTestId("admin-login-form").waitFor({ timeout: 150_000 });
  expect(new URL(page.url()).pathname).toBe("/admin/login");
  // Hydrated (React enables the button for a typed token), so the fragment below arrives after the
  // page has read its own address: the case of a link pasted into the address bar later.
  await page.getByTestId("admin-token").fill("x");
  await page.waitForFunction(() => !(document.querySelector('[data-testid="admin-login-submit"]') as HTMLButtonElement).disabled, null, { timeout: 60_000 });
  await page.getByTestId("admin-token").fill("");
  // Same path, new fragment: the browser does not load the page again.
  await page.goto(link, { timeout: 150_000 });
  await page.getByTestId("admin-rooms").waitFor({ timeout: 60_000 });
  expect(new URL(page.url()).pathname).toBe("/admin");
  expect(page.url()).not.toContain(token);
  await page.context().close();
});

test("the link pasted while the login page is still hydrating (the server-rendered form already shown) logs in too", async () => {
  const { token } = printedLink();
  // The window is between the router reading the address and the form's effect: the fragment
  // arrived with nobody listening and the router's first commit wrote the address back without it,
  // so the form just stayed (about one try in two before the fix). Several fresh tabs, each pasting
  // as soon as the form is on screen.
  for (let i = 0; i < 4; i++) {
    const page = await newPage(browser);
    await page.goto(`${server.url}/admin/login`, { waitUntil: "commit", timeout: 150_000 });
    await page.getByTestId("admin-login-form").waitFor({ timeout: 150_000 });
    await page.evaluate((t) => {
      window.location.hash = `token=${t}`;
    }, token);
    await page.getByTestId("admin-rooms").waitFor({ timeout: 60_000 });
    expect(new URL(page.url()).pathname).toBe("/admin");
    expect(page.url()).not.toContain(token);
    await page.context().close();
  }
});
