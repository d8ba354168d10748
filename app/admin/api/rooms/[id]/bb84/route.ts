/** GET /admin/api/rooms/<id>/bb84 — the room's BB84 session summaries, newest first (non-secret). */
import { roomIdSchema } from "@/lib/protocol/events";
import { apiError, guard, json } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const g = await guard(req);
  if (g instanceof Response) return g;
  const { id } = await ctx.params;
  if (!roomIdSchema.safeParse(id).success) return apiError(400, "INVALID_PAYLOAD", "bad room id");
  return json({ sessions: await g.admin.listSessions(id) });
}
