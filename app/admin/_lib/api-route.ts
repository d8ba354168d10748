/**
 * The prologue every admin API route handler shares (all but login, which checks the token itself):
 * guard() from server/admin/http.ts — 503 without the console, 403 for a cross-origin mutating
 * request, 401 without a valid session — then, for /admin/api/rooms/<id>/… routes, the room id
 * from the path, refused with 400 unless it is a well-formed room id. The page-side check is
 * requireAdmin() in guard.ts.
 */
import { roomIdSchema } from "@/lib/protocol/events";
import type { AdminConsole } from "@/server/admin/console";
import type { AdminSession } from "@/server/admin/session";
import { apiError, guard } from "@/server/admin/http";

export interface AdminCall {
  admin: AdminConsole;
  session: AdminSession;
}

/** Next.js's second argument to a handler under app/admin/api/rooms/[id]/. */
export interface RoomRouteContext {
  params: Promise<{ id: string }>;
}

export async function adminRoute(req: Request, opts: { mutating?: boolean }, run: (call: AdminCall) => Promise<Response>): Promise<Response> {
  const g = await guard(req, { mutating: opts.mutating });
  if (g instanceof Response) return g;
  return run(g);
}

/**
 * adminRoute for a room's routes. `roomIdCheckedBy: "filter"` leaves the id to the handler's log
 * filter parser (lib/admin/log-filter.ts), which refuses a bad one as INVALID_FILTER.
 */
export async function adminRoomRoute(
  req: Request,
  ctx: RoomRouteContext,
  opts: { mutating?: boolean; roomIdCheckedBy?: "filter" },
  run: (call: AdminCall & { roomId: string }) => Promise<Response>,
): Promise<Response> {
  return adminRoute(req, opts, async (call) => {
    const { id } = await ctx.params;
    if (opts.roomIdCheckedBy !== "filter" && !roomIdSchema.safeParse(id).success) return apiError(400, "INVALID_PAYLOAD", "bad room id");
    return run({ ...call, roomId: id });
  });
}
