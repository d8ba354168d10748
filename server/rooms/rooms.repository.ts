/**
 * Rooms, memberships and membership periods in the database. Portable Prisma calls only (SQLite and
 * PostgreSQL). A membership ends (leftAt set, its period closed, its key blobs deleted) only on
 * leave, removal or expiry; a disconnect marks it offline.
 */
import type { PrismaClient } from "@prisma/client";

const ROOM_SELECT = {
  id: true,
  epoch: true,
  capacity: true,
  createdBy: true,
  historyDays: true,
  epochLeaderId: true,
  channelNoise: true,
  channelLoss: true,
  channelEve: true,
} as const;

export interface StoredMember {
  userId: string;
  displayName: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
  joinedAt: Date;
  lastSeenAt: Date;
  visibleFrom: number;
}

/** The room row and its current members (with the start epoch of each one's open period); null when missing. */
export async function loadRoom(prisma: PrismaClient, roomId: string) {
  const room = await prisma.room.findUnique({ where: { id: roomId }, select: ROOM_SELECT });
  if (!room) return null;
  const [memberships, periods] = await Promise.all([
    prisma.membership.findMany({
      where: { roomId, leftAt: null },
      include: { user: { select: { signingKey: true, agreementKey: true, agreementSig: true, displayName: true } } },
      orderBy: { joinedAt: "asc" },
    }),
    prisma.membershipPeriod.findMany({ where: { roomId, toEpoch: null }, select: { userId: true, fromEpoch: true } }),
  ]);
  const from = new Map(periods.map((p) => [p.userId, p.fromEpoch]));
  const members: StoredMember[] = memberships.map((m) => ({
    userId: m.userId,
    displayName: m.displayName || m.user.displayName,
    signingKey: m.user.signingKey,
    agreementKey: m.user.agreementKey,
    agreementSig: m.user.agreementSig,
    joinedAt: m.joinedAt,
    lastSeenAt: m.lastSeenAt,
    visibleFrom: from.get(m.userId) ?? room.epoch,
  }));
  return { room, members };
}

export async function createRoom(prisma: PrismaClient, roomId: string, creatorId: string, capacity: number | undefined, historyDays: number | null) {
  return prisma.room.create({
    data: { id: roomId, createdBy: creatorId, capacity: capacity ?? null, historyDays },
    select: ROOM_SELECT,
  });
}

/** A new member: current display name and keys, an online membership, a period from the new epoch. */
export async function recordJoin(
  prisma: PrismaClient,
  roomId: string,
  user: { id: string; displayName: string; signingKey: string; agreementKey: string; agreementSig: string },
  epoch: number,
) {
  const now = new Date();
  await prisma.$transaction([
    prisma.user.upsert({
      where: { id: user.id },
      create: { id: user.id, displayName: user.displayName, signingKey: user.signingKey, agreementKey: user.agreementKey, agreementSig: user.agreementSig },
      update: { displayName: user.displayName, agreementKey: user.agreementKey, agreementSig: user.agreementSig, lastSeenAt: now },
    }),
    prisma.membership.upsert({
      where: { roomId_userId: { roomId, userId: user.id } },
      create: { roomId, userId: user.id, joinedAt: now, online: true, displayName: user.displayName, lastSeenAt: now },
      update: { online: true, leftAt: null, joinedAt: now, displayName: user.displayName, lastSeenAt: now },
    }),
    // A period left open by an earlier membership (never expected) is closed before the new one.
    prisma.membershipPeriod.updateMany({ where: { roomId, userId: user.id, toEpoch: null }, data: { toEpoch: epoch - 1 } }),
    prisma.membershipPeriod.create({ data: { roomId, userId: user.id, fromEpoch: epoch } }),
    prisma.room.update({ where: { id: roomId }, data: { epoch, epochLeaderId: null, lastActivityAt: now } }),
  ]);
}

/** A member's connection is back (or another tab joined): online, last seen now, maybe a new name and keys. */
export async function recordResume(
  prisma: PrismaClient,
  roomId: string,
  user: { id: string; displayName: string; agreementKey: string; agreementSig: string },
) {
  const now = new Date();
  await prisma.$transaction([
    prisma.membership.updateMany({ where: { roomId, userId: user.id, leftAt: null }, data: { online: true, lastSeenAt: now, displayName: user.displayName } }),
    prisma.user.updateMany({ where: { id: user.id }, data: { agreementKey: user.agreementKey, agreementSig: user.agreementSig, lastSeenAt: now } }),
  ]);
}

/** The member's last connection to the room closed: still a member, offline, last seen now. */
export async function recordOffline(prisma: PrismaClient, roomId: string, userId: string, at: Date) {
  await prisma.$transaction([
    prisma.membership.updateMany({ where: { roomId, userId, leftAt: null }, data: { online: false, lastSeenAt: at } }),
    prisma.user.updateMany({ where: { id: userId }, data: { lastSeenAt: at } }),
  ]);
}

/**
 * The membership ends (leave, removal, expiry): period closed at the last epoch they were in, key
 * blobs waiting for them deleted, the room moved to `epoch` (the new one) and not keyed yet.
 */
export async function recordLeave(prisma: PrismaClient, roomId: string, userId: string, epoch: number) {
  const now = new Date();
  await prisma.$transaction([
    prisma.membership.updateMany({ where: { roomId, userId }, data: { online: false, leftAt: now, lastSeenAt: now } }),
    prisma.membershipPeriod.updateMany({ where: { roomId, userId, toEpoch: null }, data: { toEpoch: epoch - 1 } }),
    prisma.keyBlob.deleteMany({ where: { roomId, recipientId: userId } }),
    prisma.room.update({ where: { id: roomId }, data: { epoch, epochLeaderId: null, lastActivityAt: now } }),
  ]);
}

/** The current epoch of a room in the database (rooms with nobody connected), or null. */
export async function roomEpoch(prisma: PrismaClient, roomId: string): Promise<number | null> {
  const r = await prisma.room.findUnique({ where: { id: roomId }, select: { epoch: true } });
  return r?.epoch ?? null;
}

export async function setEpochLeader(prisma: PrismaClient, roomId: string, epoch: number, leaderId: string) {
  await prisma.room.updateMany({ where: { id: roomId, epoch }, data: { epochLeaderId: leaderId } });
}

/** Members with no connection whose last sighting is older than the cutoff. */
export async function findExpiredMembers(prisma: PrismaClient, cutoff: Date) {
  return prisma.membership.findMany({
    where: { leftAt: null, online: false, lastSeenAt: { lt: cutoff } },
    select: { roomId: true, userId: true, lastSeenAt: true },
    take: 1000,
  });
}

/** The membership periods of a user in a room (epochs they may read), newest first. */
export async function membershipPeriods(prisma: PrismaClient, roomId: string, userId: string, take = 100) {
  return prisma.membershipPeriod.findMany({
    where: { roomId, userId },
    select: { fromEpoch: true, toEpoch: true },
    orderBy: { id: "desc" },
    take,
  });
}

/** After a restart nobody is connected: memberships the last process left online are offline (still members). */
export async function markAllOffline(prisma: PrismaClient) {
  await prisma.membership.updateMany({ where: { online: true }, data: { online: false, lastSeenAt: new Date() } });
}

/** Removes a Room row a failed join created (join-cleanup.ts); its logs and memberships go with it. */
export async function deleteRoom(prisma: PrismaClient, roomId: string) {
  await prisma.room.deleteMany({ where: { id: roomId } });
}
