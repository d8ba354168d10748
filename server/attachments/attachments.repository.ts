/**
 * Attachment rows: reservation (with quotas), the access rule every capability and every HTTP
 * request is checked against, and the deletions of retention and orphan purging. Portable Prisma
 * calls only (SQLite and PostgreSQL). Rows hold ids, sizes and epochs, never a name or type.
 */
import type { Attachment, PrismaClient } from "@prisma/client";

export type AttachmentRow = Attachment;

export async function attachmentUsage(prisma: PrismaClient, roomId: string, uploaderId: string): Promise<{ room: number; member: number }> {
  const [room, member] = await Promise.all([
    prisma.attachment.aggregate({ where: { roomId }, _sum: { size: true } }),
    prisma.attachment.aggregate({ where: { roomId, uploaderId }, _sum: { size: true } }),
  ]);
  return { room: room._sum.size ?? 0, member: member._sum.size ?? 0 };
}

export async function reserveAttachment(
  prisma: PrismaClient,
  a: { id: string; roomId: string; uploaderId: string; kind: "room" | "dm"; recipientId: string | null; epoch: number; size: number },
): Promise<void> {
  await prisma.attachment.create({ data: a });
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
