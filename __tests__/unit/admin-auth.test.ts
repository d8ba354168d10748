import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SignJWT, UnsecuredJWT } from "jose";
import { AdminAuth, ADMIN_COOKIE, readCookie, sessionKey, signSession } from "@/server/admin/session";
import { LoginLimiter } from "@/server/admin/login-limiter";
import { loadAdminToken } from "@/server/admin/token";

const TOKEN = "unit-test-admin-token-0123456789";

describe("admin session cookie", () => {
  const auth = new AdminAuth(TOKEN);

  test("a cookie the server issued is a session; its attributes keep it from scripts and other sites", async () => {
    const { value, expiresAt } = await auth.issue();
    expect(await auth.verify(value)).toMatchObject({ expiresAt });
    const cookie = auth.cookie(value, expiresAt, false);
    expect(cookie).toMatch(new RegExp(`^${ADMIN_COOKIE}=`));
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    expect(cookie).toMatch(/Expires=.+GMT/);
    expect(cookie).not.toContain("Secure");
    expect(auth.cookie(value, expiresAt, true)).toContain("Secure");
    expect(new AdminAuth(TOKEN, { secureCookies: true }).cookie(value, expiresAt, false)).toContain("Secure");
    expect(await auth.verifyCookieHeader(`a=b; ${ADMIN_COOKIE}=${value}; c=d`)).not.toBeNull();
  });

  test("forged, tampered, unsigned and expired cookies are refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const wrongKey = await signSession(sessionKey("some-other-token-0123456789"), { issuedAt: now, expiresAt: now + 3600 });
    const expired = await signSession(sessionKey(TOKEN), { issuedAt: now - 7200, expiresAt: now - 3600 });
    const { value } = await auth.issue();
    const [h, p, s] = value.split(".");
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    const tampered = [h, Buffer.from(JSON.stringify({ ...payload, exp: payload.exp + 86400 * 365 })).toString("base64url"), s].join(".");
    const unsigned = new UnsecuredJWT({})
      .setIssuer("qsec")
      .setAudience("qsec-admin-console")
      .setSubject("admin")
      .setJti("x")
      .setIssuedAt()
      .setExpirationTime("1h")
      .encode();
    const otherAudience = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("qsec")
      .setAudience("something-else")
      .setSubject("admin")
      .setJti("y")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(sessionKey(TOKEN));
    for (const v of [wrongKey, expired, tampered, unsigned, otherAudience, "", "garbage", `${value}x`]) expect(await auth.verify(v)).toBeNull();
  });

  test("logout revokes the session", async () => {
    const { value } = await auth.issue();
    const s = (await auth.verify(value))!;
    await auth.revoke(s);
    expect(await auth.verify(value)).toBeNull();
  });

  test("the token check accepts only the token; a server without one accepts nothing", async () => {
    expect(auth.checkToken(TOKEN)).toBe(true);
    for (const t of [TOKEN + "x", TOKEN.slice(0, -1), "", undefined, 42, null]) expect(auth.checkToken(t)).toBe(false);
    const locked = new AdminAuth(null);
    expect(locked.enabled).toBe(false);
    expect(locked.checkToken("")).toBe(false);
    expect(await locked.verify(await signSession(sessionKey(TOKEN), { issuedAt: 1, expiresAt: 2 ** 31 }))).toBeNull();
  });

  test("readCookie finds the named cookie only", () => {
    expect(readCookie("x=1; qsec_admin=abc; y=2", "qsec_admin")).toBe("abc");
    expect(readCookie("qsec_admin_other=abc", "qsec_admin")).toBeUndefined();
    expect(readCookie(undefined, "qsec_admin")).toBeUndefined();
  });
});

describe("failed-login limiter", () => {
  test("after five failures an address waits; others don't; a success clears the record", () => {
    let now = 1_000_000;
    const l = new LoginLimiter(5, 60_000, () => now);
    for (let i = 0; i < 5; i++) {
      expect(l.retryAfter("a")).toBeNull();
      l.fail("a");
    }
    expect(l.retryAfter("a")).toBe(60);
    expect(l.retryAfter("b")).toBeNull();
    now += 30_000;
    expect(l.retryAfter("a")).toBe(30);
    now += 30_001;
    expect(l.retryAfter("a")).toBeNull();
    l.fail("b");
    l.succeed("b");
    expect(l.retryAfter("b")).toBeNull();
  });
});

describe("admin token source", () => {
  test("ADMIN_TOKEN wins; production without it stays locked", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-admin-token-"));
    expect(loadAdminToken({ envToken: TOKEN, dataDir: dir, dev: true })).toEqual({ token: TOKEN, source: "env" });
    expect(loadAdminToken({ envToken: undefined, dataDir: dir, dev: false })).toEqual({ token: null, source: "none" });
  });

  test("in development a random token is made once, owner-only, and reused", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-admin-token-"));
    const first = loadAdminToken({ envToken: undefined, dataDir: path.join(dir, "data"), dev: true });
    expect(first.source).toBe("generated");
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file!, "utf8").trim()).toBe(first.token);
    const second = loadAdminToken({ envToken: undefined, dataDir: path.join(dir, "data"), dev: true });
    expect(second).toEqual({ token: first.token, source: "file", file: first.file });
    // A loosened file is tightened again.
    chmodSync(first.file!, 0o644);
    loadAdminToken({ envToken: undefined, dataDir: path.join(dir, "data"), dev: true });
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    // Two processes never get different tokens for one file: a short/empty file is replaced.
    writeFileSync(first.file!, "");
    const third = loadAdminToken({ envToken: undefined, dataDir: path.join(dir, "data"), dev: true });
    expect(third.source).toBe("generated");
    expect(third.token).not.toBe(first.token);
  });
});
