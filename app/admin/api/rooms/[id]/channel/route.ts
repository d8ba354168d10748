/**
 * PUT /admin/api/rooms/<id>/channel {noise, loss, eve} — the room's simulation channel ("attack
 * console"): stored, pushed to present members as `channel:updated` (by = null) and logged as
 * CHANNEL_SETTINGS_CHANGED, all by server/rooms/channel.ts.
 */
import { channelSettingsSchema } from "@/lib/protocol/events";
import { roomIdSchema } from "@/lib/protocol/events";
import { apiError, guard, json } from "@/server/admin/http";

export const dynamic = "force-dynamic";

export async function PUT(req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const g = await guard(req, { mutating: true });
  if (g instanceof Response) return g;
  const { id } = await ctx.params;
  if (!roomIdSchema.safeParse(id).success) return apiError(400, "INVALID_PAYLOAD", "bad room id");
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    return apiError(400, "INVALID_PAYLOAD", "expected a JSON body {noise, loss, eve}");
  }
  const parsed = channelSettingsSchema.safeParse(body);
  if (!parsed.success) return apiError(400, "INVALID_PAYLOAD", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const r = await g.admin.setChannel(id, parsed.data);
  if (!r.ok) return apiError(r.message.startsWith("no room") ? 404 : 400, r.code, r.message);
  return json({ ok: true, channel: r.channel });
}
