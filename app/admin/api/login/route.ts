/**
 * POST /admin/api/login {token} — the one admin route that needs no session. The token is compared
 * in constant time; failures are limited per address (429 + Retry-After); success sets the
 * session cookie (httpOnly, SameSite=Strict, expiring; Secure over HTTPS).
 */
import { adminConsole } from "@/server/admin/registry";
import { apiError, checkOrigin, isHttps, json, remoteAddress } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function POST(req: Request): Promise<Response> {
  const admin = adminConsole();
  if (!admin) return apiError(503, "UNAVAILABLE", "the admin console runs only inside the QSEC server");
  if (!checkOrigin(req)) return apiError(403, "FORBIDDEN", "cross-origin request refused");
  const addr = remoteAddress(req);
  const wait = await admin.limiter.retryAfter(addr);
  if (wait !== null) return apiError(429, "RATE_LIMITED", `too many failed logins; try again in ${wait} s`, { "retry-after": String(wait) });
  if (!admin.auth.enabled) return apiError(401, "LOCKED", "the admin console is locked: the server has no ADMIN_TOKEN");

  let token: unknown;
  try {
    const type = req.headers.get("content-type") ?? "";
    if (type.includes("application/json")) token = ((await req.json()) as { token?: unknown })?.token;
    else token = (await req.formData()).get("token");
  } catch {
    token = undefined;
  }
  if (!admin.auth.checkToken(token)) {
    await admin.limiter.fail(addr);
    admin.logger.warn("admin login failed", { addr });
    return apiError(401, "BAD_TOKEN", "wrong admin token");
  }
  await admin.limiter.succeed(addr);
  const { value, expiresAt } = await admin.auth.issue();
  admin.logger.info("admin login", { addr });
  return json({ ok: true, expiresAt: expiresAt.toISOString() }, 200, { "set-cookie": admin.auth.cookie(value, expiresAt, isHttps(req)) });
}
