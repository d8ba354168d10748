/** GET /admin/api/rooms/<id>/bb84 — the room's BB84 session summaries, newest first (non-secret). */
import { json } from "@/server/admin/http";
import { adminRoomRoute, type RoomRouteContext } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: RoomRouteContext): Promise<Response> {
  return adminRoomRoute(req, ctx, {}, async ({ admin, roomId }) => json({ sessions: await admin.listSessions(roomId) }));
}
