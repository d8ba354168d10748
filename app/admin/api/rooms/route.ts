/** GET /admin/api/rooms?q=&sort=&dir=&page=&pageSize= — the rooms overview as JSON. */
import { guard, json } from "@/server/admin/http";
import { parseRoomListQuery } from "@/server/admin/rooms.query";

export const dynamic = "force-dynamic";

export async function GET(req: Request): Promise<Response> {
  const g = await guard(req);
  if (g instanceof Response) return g;
  return json(await g.admin.listRooms(parseRoomListQuery(new URL(req.url).searchParams)));
}
