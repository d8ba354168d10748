import type { PrismaClient } from "@prisma/client";

export async function loadOrCreateRoom(prisma: PrismaClient, roomId: string, creatorId: string, capacity: number | undefined) {
  const existing = await prisma.room.findUnique({
    where: { id: roomId },
    select: { id: true, epoch: true, capacity: true, channelNoise: true, channelLoss: true, channelEve: true },
  });
  if (existing) return { room: existing, created: false };
  const room = await prisma.room.create({
    data: { id: roomId, createdBy: creatorId, capacity: capacity ?? null },
    select: { id: true, epoch: true, capacity: true, channelNoise: true, channelLoss: true, channelEve: true },
  });
  return { room, created: true };
}

/** Records a join: the member's current display name and keys, an online membership, and the new epoch. */
export async function recordJoin(
  prisma: PrismaClient,
  roomId: string,
  user: { id: string; displayName: string; signingKey: string; agreementKey: string },
  epoch: number,
) {
  const now = new Date();
  await prisma.$transaction([
    prisma.user.upsert({
      where: { id: user.id },
      create: { id: user.id, displayName: user.displayName, signingKey: user.signingKey, agreementKey: user.agreementKey },
      update: { displayName: user.displayName, agreementKey: user.agreementKey, lastSeenAt: now },
    }),
    prisma.membership.upsert({
      where: { roomId_userId: { roomId, userId: user.id } },
      create: { roomId, userId: user.id, joinedAt: now, online: true },
      update: { online: true, leftAt: null, joinedAt: now },
    }),
    prisma.room.update({ where: { id: roomId }, data: { epoch, lastActivityAt: now } }),
  ]);
}

export async function recordLeave(prisma: PrismaClient, roomId: string, userId: string, epoch: number) {
  const now = new Date();
  await prisma.$transaction([
    prisma.membership.updateMany({ where: { roomId, userId }, data: { online: false, leftAt: now } }),
    prisma.room.update({ where: { id: roomId }, data: { epoch, lastActivityAt: now } }),
    prisma.user.updateMany({ where: { id: userId }, data: { lastSeenAt: now } }),
  ]);
}

/** After a restart nobody is connected: memberships the last process left online are not. */
export async function markAllOffline(prisma: PrismaClient) {
  await prisma.membership.updateMany({ where: { online: true }, data: { online: false, leftAt: new Date() } });
}

/** Removes a Room row a failed join created (join-cleanup.ts); its logs and memberships go with it. */
export async function deleteRoom(prisma: PrismaClient, roomId: string) {
  await prisma.room.deleteMany({ where: { id: roomId } });
}
