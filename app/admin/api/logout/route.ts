/** POST /admin/api/logout — revokes the session (its admin sockets close) and clears the cookie. */
import { guard, isHttps, json } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function POST(req: Request): Promise<Response> {
  const g = await guard(req, { mutating: true });
  if (g instanceof Response) return g;
  g.admin.endSession(g.session);
  return json({ ok: true }, 200, { "set-cookie": g.admin.auth.clearCookie(isHttps(req)) });
}
