/** GET /admin/api/rooms/<id> — one room: counters, channel settings, members present now. */
import { roomIdSchema } from "@/lib/protocol/events";
import { apiError, guard, json } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const g = await guard(req);
  if (g instanceof Response) return g;
  const { id } = await ctx.params;
  if (!roomIdSchema.safeParse(id).success) return apiError(400, "INVALID_PAYLOAD", "bad room id");
  const room = await g.admin.getRoom(id);
  return room ? json(room) : apiError(404, "NOT_FOUND", "no such room");
}
