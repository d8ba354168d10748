/** GET /admin/api/session — whether the caller's cookie is a valid admin session, and until when. */
import { json } from "@/server/admin/http";
import { adminRoute } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function GET(req: Request): Promise<Response> {
  return adminRoute(req, {}, async ({ session }) => json({ ok: true, expiresAt: session.expiresAt.toISOString() }));
}
