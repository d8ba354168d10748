/** GET /admin/api/rooms?q=&sort=&dir=&page=&pageSize= — the rooms overview as JSON. */
import { json } from "@/server/admin/http";
import { parseRoomListQuery } from "@/server/admin/rooms.query";
import { adminRoute } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function GET(req: Request): Promise<Response> {
  return adminRoute(req, {}, async ({ admin }) => json(await admin.listRooms(parseRoomListQuery(new URL(req.url).searchParams))));
}
