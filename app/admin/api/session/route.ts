/** GET /admin/api/session — whether the caller's cookie is a valid admin session, and until when. */
import { guard, json } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function GET(req: Request): Promise<Response> {
  const g = await guard(req);
  if (g instanceof Response) return g;
  return json({ ok: true, expiresAt: g.session.expiresAt.toISOString() });
}
