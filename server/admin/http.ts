/**
 * Helpers for the admin API's route handlers. Every handler but login starts with guard() (through
 * app/admin/_lib/api-route.ts): no admin console (the app runs without server/main.ts) → 503; a
 * state-changing request from another origin → 403; no valid session cookie → 401. Pages have their
 * own check (app/admin/_lib/guard.ts) on top of the layout's: defence in depth, and each handler
 * checks for itself.
 */
import type { AdminConsole } from "./console";
import type { AdminSession } from "./session";
import { adminConsole } from "./registry";
import { sameOrigin } from "./origin";

export const NO_STORE = { "cache-control": "no-store" } as const;

export function json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(data), { status, headers: { "content-type": "application/json; charset=utf-8", ...NO_STORE, ...headers } });
}

export function apiError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message } }, status, headers);
}

/** The peer address, as set by server/main.ts (which overwrites any client-sent value). */
export function remoteAddress(req: Request): string {
  return req.headers.get("x-qsec-remote-addr") ?? "unknown";
}

export function isHttps(req: Request): boolean {
  try {
    return new URL(req.url).protocol === "https:";
  } catch {
    return false;
  }
}

export function checkOrigin(req: Request): boolean {
  const fetchSite = req.headers.get("sec-fetch-site");
  if (fetchSite && fetchSite !== "same-origin" && fetchSite !== "none") return false;
  return sameOrigin(req.headers.get("origin"), req.headers.get("host"), isHttps(req));
}

export async function guard(req: Request, opts: { mutating?: boolean } = {}): Promise<{ admin: AdminConsole; session: AdminSession } | Response> {
  const admin = adminConsole();
  if (!admin) return apiError(503, "UNAVAILABLE", "the admin console runs only inside the QSEC server (npm run dev / npm start)");
  if (opts.mutating && !checkOrigin(req)) return apiError(403, "FORBIDDEN", "cross-origin request refused");
  const session = await admin.auth.verifyCookieHeader(req.headers.get("cookie"));
  if (!session) return apiError(401, "NOT_AUTHENTICATED", "admin session required: log in at /admin/login");
  return { admin, session };
}
