/**
 * GET /admin/api/rooms/<id>/logs?type=&actor=&from=&to=&text=&before=&limit= — one page of the
 * room's log, newest first; `nextCursor` goes into `before` for the next page.
 */
import { parseLogFilterParams } from "@/lib/admin/log-filter";
import { apiError, guard, json } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const g = await guard(req);
  if (g instanceof Response) return g;
  const { id } = await ctx.params;
  const params = new URL(req.url).searchParams;
  const parsed = parseLogFilterParams(id, params);
  if (!parsed.ok) return apiError(400, "INVALID_FILTER", parsed.error);
  const before = params.get("before");
  const cursor = before === null || before === "" ? null : Number(before);
  if (cursor !== null && !(Number.isSafeInteger(cursor) && cursor > 0)) return apiError(400, "INVALID_FILTER", "before: expected a row id");
  const limit = Number(params.get("limit") ?? 100);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= 500)) return apiError(400, "INVALID_FILTER", "limit: 1 to 500");
  return json(await g.admin.queryLogs(parsed.filter, { cursor, limit, order: "desc" }));
}
