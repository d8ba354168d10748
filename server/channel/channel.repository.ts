/** A room's simulation channel settings as stored: three columns on Room, snapshotted on each Bb84Session. */
import type { PrismaClient } from "@prisma/client";
import type { ChannelSettings } from "@/lib/protocol";

/** Stored channel columns (a Room row, or a Bb84Session's snapshot) as ChannelSettings. */
export function channelOf(row: { channelNoise: number; channelLoss: number; channelEve: number }): ChannelSettings {
  return { noise: row.channelNoise, loss: row.channelLoss, eve: row.channelEve };
}

/** Stores a room's settings; false when there is no such room. */
export async function updateRoomChannel(prisma: PrismaClient, roomId: string, channel: ChannelSettings): Promise<boolean> {
  const res = await prisma.room.updateMany({
    where: { id: roomId },
    data: { channelNoise: channel.noise, channelLoss: channel.loss, channelEve: channel.eve },
  });
  return res.count > 0;
}
