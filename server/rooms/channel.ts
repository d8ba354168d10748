/**
 * Simulation channel settings of a room (noise, loss, eavesdropper fraction): stored on the Room
 * row, mirrored in the live room, pushed to present members as `channel:updated`, and logged. Used
 * by members' simulation controls (`channel:set`) and by the admin console (by = null). A BB84
 * session snapshots the settings current at its start.
 */
import { channelSettingsSchema, type ChannelSettings } from "@/lib/protocol";
import { refuse } from "../command";
import type { Deps } from "../context";

/** Stored channel columns (a Room row, or a Bb84Session's snapshot) as ChannelSettings. */
export function channelOf(row: { channelNoise: number; channelLoss: number; channelEve: number }): ChannelSettings {
  return { noise: row.channelNoise, loss: row.channelLoss, eve: row.channelEve };
}

export async function setRoomChannel(deps: Deps, roomId: string, channel: ChannelSettings, by: string | null): Promise<ChannelSettings> {
  const parsed = channelSettingsSchema.safeParse(channel);
  if (!parsed.success) refuse("INVALID_PAYLOAD", `channel: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const next = parsed.data;
  return deps.presence.withRoom(roomId, async () => {
    const res = await deps.prisma.room.updateMany({
      where: { id: roomId },
      data: { channelNoise: next.noise, channelLoss: next.loss, channelEve: next.eve },
    });
    if (res.count === 0) refuse("INVALID_PAYLOAD", `no room ${roomId}`);
    const live = deps.presence.rooms.get(roomId);
    const before = live ? { ...live.channel } : null;
    if (live) live.channel = { ...next };
    const ts = new Date().toISOString();
    deps.logs.append({ roomId, type: "CHANNEL_SETTINGS_CHANGED", actorId: by, meta: { ...next, ...(before && { before }), by: by === null ? "admin" : "member" } });
    deps.io.to(roomId).emit("channel:updated", { roomId, channel: { ...next }, by, ts });
    return { ...next };
  });
}

/** The settings a new session uses: the live room's, else the stored ones. */
export async function currentChannel(deps: Deps, roomId: string): Promise<ChannelSettings> {
  const live = deps.presence.rooms.get(roomId);
  if (live) return { ...live.channel };
  const row = await deps.prisma.room.findUnique({ where: { id: roomId }, select: { channelNoise: true, channelLoss: true, channelEve: true } });
  return row ? channelOf(row) : { noise: 0, loss: 0, eve: 0 };
}
