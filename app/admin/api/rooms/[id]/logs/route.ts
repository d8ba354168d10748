/**
 * GET /admin/api/rooms/<id>/logs?type=&actor=&from=&to=&text=&before=&limit= — one page of the
 * room's log, newest first; `nextCursor` goes into `before` for the next page.
 */
import { parseLogFilterParams } from "@/lib/admin/log-filter";
import { apiError, json } from "@/server/admin/http";
import { adminRoomRoute, type RoomRouteContext } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: RoomRouteContext): Promise<Response> {
  return adminRoomRoute(req, ctx, { roomIdCheckedBy: "filter" }, async ({ admin, roomId }) => {
    const params = new URL(req.url).searchParams;
    const parsed = parseLogFilterParams(roomId, params);
    if (!parsed.ok) return apiError(400, "INVALID_FILTER", parsed.error);
    const before = params.get("before");
    const cursor = before === null || before === "" ? null : Number(before);
    if (cursor !== null && !(Number.isSafeInteger(cursor) && cursor > 0)) return apiError(400, "INVALID_FILTER", "before: expected a row id");
    const limit = Number(params.get("limit") ?? 100);
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 500)) return apiError(400, "INVALID_FILTER", "limit: 1 to 500");
    return json(await admin.queryLogs(parsed.filter, { cursor, limit, order: "desc" }));
  });
}
