/**
 * Access control of the admin console on the real server (Next.js pages + route handlers +
 * Socket.IO, server/main.ts). The pages and route handlers are ENUMERATED FROM THE FILESYSTEM
 * (app/admin/**\/page.tsx, every route.ts under app/admin/api), so a new one is covered — and must
 * refuse outsiders — without anyone remembering to add it here.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { io as ioc } from "socket.io-client";
import { ADMIN_COOKIE, sessionKey, signSession } from "@/server/admin/session";
import { startAppServer, type AppServer } from "../e2e/helpers/app-server";
import { connectRaw, type RawClient } from "../helpers/raw-client";

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, "..", "..");
const TOKEN = "access-test-admin-token-0123456789abcdef";
const ROOM = "access-room";
/** Reachable without a session, and why. */
const PUBLIC_PAGES = new Set(["/admin/login"]); // the login form
const PUBLIC_ROUTES = new Set(["POST /admin/api/login"]); // checks the token itself (tested below)

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** app/admin/(console)/rooms/[id]/page.tsx → /admin/rooms/access-room */
function urlOf(file: string): string {
  const rel = path.relative(path.join(ROOT, "app"), path.dirname(file)).split(path.sep);
  return (
    "/" +
    rel
      .filter((seg) => !/^\(.*\)$/.test(seg)) // route groups don't appear in URLs
      .map((seg) => (/^\[.+\]$/.test(seg) ? ROOM : seg))
      .join("/")
  );
}

const files = walk(path.join(ROOT, "app", "admin"));
const pages = files
  .filter((f) => path.basename(f) === "page.tsx")
  .map(urlOf)
  .sort();
const routes = files
  .filter((f) => path.basename(f) === "route.ts")
  .flatMap((f) => {
    const methods = [...readFileSync(f, "utf8").matchAll(/export\s+(?:async\s+)?function\s+(GET|POST|PUT|PATCH|DELETE)\b/g)].map((m) => m[1]);
    if (methods.length === 0) throw new Error(`${f}: no exported HTTP method found`);
    return methods.map((m) => ({ method: m, url: urlOf(f) }));
  })
  .sort((a, b) => `${a.method} ${a.url}`.localeCompare(`${b.method} ${b.url}`));

/** A body that a handler would accept from an admin, so a 401 can't be mistaken for a 400. */
function bodyFor(url: string): string | undefined {
  if (url.endsWith("/channel")) return JSON.stringify({ noise: 0.01, loss: 0, eve: 0.25 });
  if (url.endsWith("/retention")) return JSON.stringify({ days: 3650 });
  return undefined;
}

let server: AppServer;
let member: RawClient;
let validCookie: () => Promise<string>;
let forged: string;
let expired: string;

beforeAll(async () => {
  server = await startAppServer({ distDir: ".next-e2e-admin", env: { ADMIN_TOKEN: TOKEN } });
  member = await connectRaw(server.url);
  await member.call("room:join", { roomId: ROOM, displayName: "Member" });
  const now = Math.floor(Date.now() / 1000);
  validCookie = async () =>
    `${ADMIN_COOKIE}=${await signSession(sessionKey(TOKEN), { issuedAt: Math.floor(Date.now() / 1000), expiresAt: Math.floor(Date.now() / 1000) + 600 })}`;
  forged = `${ADMIN_COOKIE}=${await signSession(sessionKey("a-guess-that-is-not-the-token"), { issuedAt: now, expiresAt: now + 600 })}`;
  expired = `${ADMIN_COOKIE}=${await signSession(sessionKey(TOKEN), { issuedAt: now - 7200, expiresAt: now - 60 })}`;
}, 240_000);

afterAll(async () => {
  member?.close();
  await server?.stop();
}, 30_000);

test("the enumeration finds the console's pages and handlers", () => {
  expect(pages).toEqual(expect.arrayContaining(["/admin", "/admin/login", `/admin/rooms/${ROOM}`]));
  expect(routes.length).toBeGreaterThanOrEqual(8);
});

test("every admin page sends a visitor without a valid session to the login page, and shows nothing", async () => {
  for (const url of pages.filter((p) => !PUBLIC_PAGES.has(p))) {
    for (const cookie of [undefined, forged, expired, `${ADMIN_COOKIE}=not-a-jwt`]) {
      const res = await fetch(server.url + url, { redirect: "manual", headers: cookie ? { cookie } : {} });
      expect({ url, cookie: cookie?.slice(0, 20), status: res.status }).toEqual({ url, cookie: cookie?.slice(0, 20), status: 307 });
      expect(new URL(res.headers.get("location")!, server.url).pathname).toBe("/admin/login");
      const body = await res.text();
      expect(body).not.toContain("Member"); // no room data leaks into the redirect
    }
    const ok = await fetch(server.url + url, { redirect: "manual", headers: { cookie: await validCookie() } });
    expect({ url, status: ok.status }).toEqual({ url, status: 200 });
  }
  for (const url of PUBLIC_PAGES) expect((await fetch(server.url + url, { redirect: "manual" })).status).toBe(200);
});

test("every admin route handler refuses a request without a valid session (401), and serves an admin", async () => {
  for (const { method, url } of routes) {
    if (PUBLIC_ROUTES.has(`${method} ${url}`)) continue;
    const body = bodyFor(url);
    const headers = (cookie?: string): Record<string, string> => ({ ...(cookie ? { cookie } : {}), ...(body ? { "content-type": "application/json" } : {}) });
    for (const cookie of [undefined, forged, expired]) {
      const res = await fetch(server.url + url, { method, headers: headers(cookie), body, redirect: "manual" });
      expect({ method, url, status: res.status }).toEqual({ method, url, status: 401 });
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_AUTHENTICATED");
    }
    const ok = await fetch(server.url + url, { method, headers: headers(await validCookie()), body, redirect: "manual" });
    expect({ method, url, ok: ok.ok }).toEqual({ method, url, ok: true });
    await ok.arrayBuffer();
  }
});

test("state-changing requests from another origin are refused even with a session", async () => {
  const res = await fetch(`${server.url}/admin/api/rooms/${ROOM}/channel`, {
    method: "PUT",
    headers: { cookie: await validCookie(), "content-type": "application/json", origin: "http://evil.example" },
    body: JSON.stringify({ noise: 0, loss: 0, eve: 1 }),
  });
  expect(res.status).toBe(403);
});

test("the admin namespace refuses a handshake without a valid session", async () => {
  const attempt = (cookie?: string) =>
    new Promise<string>((resolve) => {
      const s = ioc(`${server.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: cookie ? { cookie } : {} });
      s.once("connect", () => (s.close(), resolve("connected")));
      s.once("connect_error", (e) => (s.close(), resolve(e.message)));
    });
  expect(await attempt()).toBe("NOT_AUTHENTICATED");
  expect(await attempt(forged)).toBe("NOT_AUTHENTICATED");
  expect(await attempt(expired)).toBe("NOT_AUTHENTICATED");
  expect(await attempt(await validCookie())).toBe("connected");
});

test("login sets a hardened session cookie; logout ends it", async () => {
  const res = await fetch(`${server.url}/admin/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: TOKEN }),
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get("set-cookie")!;
  expect(setCookie).toMatch(new RegExp(`^${ADMIN_COOKIE}=[^;]+; Path=/; HttpOnly; SameSite=Strict; Expires=`));
  const cookie = setCookie.split(";")[0];
  expect((await fetch(`${server.url}/admin/api/session`, { headers: { cookie } })).status).toBe(200);
  const out = await fetch(`${server.url}/admin/api/logout`, { method: "POST", headers: { cookie } });
  expect(out.status).toBe(200);
  expect(out.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  expect((await fetch(`${server.url}/admin/api/session`, { headers: { cookie } })).status).toBe(401);
});

test("repeated bad logins are rate-limited with 429 and Retry-After, even for the right token then", async () => {
  const login = (token: string) =>
    fetch(`${server.url}/admin/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await login(`wrong-${i}`)).status);
  expect(statuses).toEqual([401, 401, 401, 401, 401]);
  const limited = await login("wrong-again");
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await login(TOKEN)).status).toBe(429);
  // A spoofed address header doesn't get around it: the server sets the address itself.
  const spoofed = await fetch(`${server.url}/admin/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-qsec-remote-addr": "10.9.8.7" },
    body: JSON.stringify({ token: TOKEN }),
  });
  expect(spoofed.status).toBe(429);
});
