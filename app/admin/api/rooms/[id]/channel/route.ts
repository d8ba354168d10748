/**
 * PUT /admin/api/rooms/<id>/channel {noise, loss, eve} — the room's simulation channel ("attack
 * console"): stored, pushed to present members as `channel:updated` (by = null) and logged as
 * CHANNEL_SETTINGS_CHANGED, all by server/channel/channel.ts.
 */
import { channelSettingsSchema } from "@/lib/protocol/events";
import { apiError, json } from "@/server/admin/http";
import { adminRoomRoute, type RoomRouteContext } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

export async function PUT(req: Request, ctx: RoomRouteContext): Promise<Response> {
  return adminRoomRoute(req, ctx, { mutating: true }, async ({ admin, roomId }) => {
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return apiError(400, "INVALID_PAYLOAD", "expected a JSON body {noise, loss, eve}");
    }
    const parsed = channelSettingsSchema.safeParse(body);
    if (!parsed.success) return apiError(400, "INVALID_PAYLOAD", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const r = await admin.setChannel(roomId, parsed.data);
    if (!r.ok) return apiError(r.message.startsWith("no room") ? 404 : 400, r.code, r.message);
    return json({ ok: true, channel: r.channel });
  });
}
