/**
 * Simulation channel settings of a room (noise, loss, eavesdropper fraction): stored on the Room
 * row, mirrored in the live room, pushed to the connections in the room as `channel:updated`, and logged. Used
 * by members' simulation controls (`channel:set`, channel.handlers.ts) and by the admin console
 * (by = null). A BB84 session snapshots the settings current at its start.
 */
import { channelSettingsSchema, type ChannelSettings } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { Deps } from "../context";
import { updateRoomChannel } from "./channel.repository";

export async function setRoomChannel(deps: Deps, roomId: string, channel: ChannelSettings, by: string | null): Promise<ChannelSettings> {
  const parsed = channelSettingsSchema.safeParse(channel);
  if (!parsed.success) refuse("INVALID_PAYLOAD", `channel: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const next = parsed.data;
  return deps.presence.withRoom(roomId, async () => {
    if (!(await updateRoomChannel(deps.prisma, roomId, next))) refuse("INVALID_PAYLOAD", `no room ${roomId}`);
    const live = deps.presence.rooms.get(roomId);
    const before = live ? { ...live.channel } : null;
    if (live) live.channel = { ...next };
    const ts = new Date().toISOString();
    deps.logs.append({
      roomId,
      type: "CHANNEL_SETTINGS_CHANGED",
      actorId: by,
      meta: { ...next, ...(before && { before }), by: by === null ? "admin" : "member" },
    });
    deps.io.to(roomId).emit("channel:updated", { roomId, channel: { ...next }, by, ts });
    return { ...next };
  });
}
