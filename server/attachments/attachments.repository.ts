/**
 * Attachment rows: reservation (with quotas, atomic), the access rule every capability and every
 * HTTP request is checked against, and the deletions of retention and orphan purging. Portable
 * Prisma calls but for the reservation (one raw statement per dialect). Rows hold ids, sizes and
 * epochs, never a name or type.
 */
import type { Attachment, PrismaClient } from "@prisma/client";
import { dialectOf } from "../db-dialect";

export type AttachmentRow = Attachment;

export type Reservation = "ok" | "room-quota" | "member-quota";

type NewAttachment = { id: string; roomId: string; uploaderId: string; kind: "room" | "dm"; recipientId: string | null; epoch: number; size: number };

/** SQLite: one statement, so the sums and the insert see the same database (SQLite runs one writer at a time). */
const RESERVE_SQLITE = `INSERT INTO "Attachment" ("id","roomId","uploaderId","kind","recipientId","epoch","size","createdAt")
  SELECT ?, ?, ?, ?, ?, ?, ?, ?
  WHERE (SELECT COALESCE(SUM("size"), 0) FROM "Attachment" WHERE "roomId" = ?) + ? <= ?
    AND (SELECT COALESCE(SUM("size"), 0) FROM "Attachment" WHERE "roomId" = ? AND "uploaderId" = ?) + ? <= ?`;

/**
 * Reserves an attachment only if the room's and the member's quotas have room for it, atomically,
 * so two simultaneous reservations cannot both fit in the last free space. SQLite: a conditional
 * INSERT … SELECT … WHERE sums fit (one statement). PostgreSQL: a transaction that first locks the
 * room's row (SELECT … FOR UPDATE), so reservations in one room queue behind each other, and each
 * sums (a fresh snapshot per statement under READ COMMITTED) what the ones before it committed.
 */
export async function reserveAttachment(prisma: PrismaClient, a: NewAttachment, quota: { roomBytes: number; memberBytes: number }): Promise<Reservation> {
  if (dialectOf(prisma) === "sqlite") {
    const n = await prisma.$executeRawUnsafe(
      RESERVE_SQLITE,
      ...[a.id, a.roomId, a.uploaderId, a.kind, a.recipientId, a.epoch, a.size, new Date().toISOString()],
      ...[a.roomId, a.size, quota.roomBytes, a.roomId, a.uploaderId, a.size, quota.memberBytes],
    );
    if (n === 1) return "ok";
    return (await usage(prisma, a.roomId, a.uploaderId)).room + a.size > quota.roomBytes ? "room-quota" : "member-quota";
  }
  return prisma.$transaction(
    async (tx) => {
      await tx.$queryRawUnsafe(`SELECT "id" FROM "Room" WHERE "id" = $1 FOR UPDATE`, a.roomId);
      const used = await usage(tx, a.roomId, a.uploaderId);
      if (used.room + a.size > quota.roomBytes) return "room-quota";
      if (used.member + a.size > quota.memberBytes) return "member-quota";
      await tx.attachment.create({ data: a });
      return "ok";
    },
    { maxWait: 10_000, timeout: 10_000 },
  );
}

async function usage(prisma: Pick<PrismaClient, "attachment">, roomId: string, uploaderId: string): Promise<{ room: number; member: number }> {
  const [room, member] = await Promise.all([
    prisma.attachment.aggregate({ where: { roomId }, _sum: { size: true } }),
    prisma.attachment.aggregate({ where: { roomId, uploaderId }, _sum: { size: true } }),
  ]);
  return { room: room._sum.size ?? 0, member: member._sum.size ?? 0 };
}

/**
 * A room message announces this attachment under `epoch`: readable by the members of that epoch
 * too (a member who joined after the upload finished, before the message went out). Only its
 * uploader's announcement of a finished room attachment counts; false if that is not what it is.
 */
export async function announceAttachment(prisma: PrismaClient, id: string, roomId: string, uploaderId: string, epoch: number): Promise<boolean> {
  const att = await prisma.attachment.findUnique({ where: { id }, select: { roomId: true, uploaderId: true, kind: true, complete: true, epochTo: true } });
  if (!att || att.roomId !== roomId || att.uploaderId !== uploaderId || att.kind !== "room" || !att.complete) return false;
  // Only ever widened: a later epoch is added, an earlier announcement keeps its readers.
  if ((att.epochTo ?? -1) < epoch) await prisma.attachment.updateMany({ where: { id, epochTo: { lt: epoch } }, data: { epochTo: epoch } });
  return true;
}

export async function findAttachment(prisma: PrismaClient, id: string): Promise<AttachmentRow | null> {
  return prisma.attachment.findUnique({ where: { id } });
}

export async function markComplete(prisma: PrismaClient, id: string, epochTo: number): Promise<void> {
  await prisma.attachment.updateMany({ where: { id }, data: { complete: true, completedAt: new Date(), epochTo } });
}

/**
 * May `userId` read this attachment? A current member of its room, and: for a room attachment, a
 * member during at least one of the epochs [epoch, epochTo] (the epochs in which it could have been
 * announced); for a direct message's attachment, its uploader or its recipient.
 */
export async function mayRead(prisma: PrismaClient, att: AttachmentRow, userId: string): Promise<boolean> {
  const member = await prisma.membership.findUnique({ where: { roomId_userId: { roomId: att.roomId, userId } }, select: { leftAt: true } });
  if (!member || member.leftAt) return false;
  if (att.kind === "dm") return userId === att.uploaderId || userId === att.recipientId;
  const to = att.epochTo ?? att.epoch;
  const overlapping = await prisma.membershipPeriod.count({
    where: { roomId: att.roomId, userId, fromEpoch: { lte: to }, OR: [{ toEpoch: null }, { toEpoch: { gte: att.epoch } }] },
  });
  return overlapping > 0;
}

/** May `userId` (still) upload this attachment's bytes? Its uploader, while a member, before it is complete. */
export async function mayUpload(prisma: PrismaClient, att: AttachmentRow, userId: string): Promise<boolean> {
  if (att.uploaderId !== userId) return false;
  const member = await prisma.membership.findUnique({ where: { roomId_userId: { roomId: att.roomId, userId } }, select: { leftAt: true } });
  return !!member && !member.leftAt;
}

/** Attachments of a room created before `before` (retention), oldest first. */
export async function attachmentsOlderThan(prisma: PrismaClient, roomId: string, before: Date, take = 1000) {
  return prisma.attachment.findMany({
    where: { roomId, createdAt: { lt: before } },
    select: { id: true, roomId: true, size: true },
    orderBy: { createdAt: "asc" },
    take,
  });
}

/** Unfinished uploads reserved before `before`. */
export async function unfinishedOlderThan(prisma: PrismaClient, before: Date, take = 1000) {
  return prisma.attachment.findMany({ where: { complete: false, createdAt: { lt: before } }, select: { id: true, roomId: true, size: true }, take });
}

export async function deleteAttachmentRows(prisma: PrismaClient, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return (await prisma.attachment.deleteMany({ where: { id: { in: ids } } })).count;
}

/** Which of these ids have a row (the store's scan deletes files with none). */
export async function existingIds(prisma: PrismaClient, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await prisma.attachment.findMany({ where: { id: { in: ids } }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

/** Rooms whose attachments retention looks at: every room with at least one attachment. */
export async function roomsWithAttachments(prisma: PrismaClient) {
  const rows = await prisma.attachment.findMany({ distinct: ["roomId"], select: { roomId: true } });
  const ids = rows.map((r) => r.roomId);
  return prisma.room.findMany({ where: { id: { in: ids } }, select: { id: true, historyDays: true } });
}
