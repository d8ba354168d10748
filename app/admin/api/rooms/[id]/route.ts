/** GET /admin/api/rooms/<id> — one room: counters, channel settings, members present now. */
import { apiError, json } from "@/server/admin/http";
import { adminRoomRoute, type RoomRouteContext } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: RoomRouteContext): Promise<Response> {
  return adminRoomRoute(req, ctx, {}, async ({ admin, roomId }) => {
    const room = await admin.getRoom(roomId);
    return room ? json(room) : apiError(404, "NOT_FOUND", "no such room");
  });
}
