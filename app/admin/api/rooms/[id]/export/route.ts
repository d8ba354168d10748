/**
 * GET /admin/api/rooms/<id>/export?format=csv|json&<filter> — the filtered log as a download,
 * streamed page by page (oldest first), never loaded whole.
 */
import { parseLogFilterParams } from "@/lib/admin/log-filter";
import { apiError, NO_STORE } from "@/server/admin/http";
import { exportFileName } from "@/server/admin/export";
import { adminRoomRoute, type RoomRouteContext } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: RoomRouteContext): Promise<Response> {
  return adminRoomRoute(req, ctx, { roomIdCheckedBy: "filter" }, async ({ admin, roomId }) => {
    const params = new URL(req.url).searchParams;
    const format = params.get("format") ?? "csv";
    if (format !== "csv" && format !== "json") return apiError(400, "INVALID_FILTER", "format: csv or json");
    const parsed = parseLogFilterParams(roomId, params);
    if (!parsed.ok) return apiError(400, "INVALID_FILTER", parsed.error);
    return new Response(admin.exportLogs(parsed.filter, format), {
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
        "content-disposition": `attachment; filename="${exportFileName(parsed.filter.roomId, format)}"`,
        "x-content-type-options": "nosniff",
        ...NO_STORE,
      },
    });
  });
}
