/** POST /admin/api/logout — revokes the session (its admin sockets close) and clears the cookie. */
import { isHttps, json } from "@/server/admin/http";
import { adminRoute } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function POST(req: Request): Promise<Response> {
  return adminRoute(req, { mutating: true }, async ({ admin, session }) => {
    await admin.endSession(session);
    return json({ ok: true }, 200, { "set-cookie": admin.auth.clearCookie(isHttps(req)) });
  });
}
