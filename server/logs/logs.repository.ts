import type { PrismaClient } from "@prisma/client";
import { ROOM_EVENT_LOG_TYPES, type LogEntry, type LogEventType } from "@/lib/protocol";

export function toLogEntry(r: {
  id: number;
  roomId: string;
  type: string;
  actorId: string | null;
  targetId: string | null;
  meta: string;
  createdAt: Date;
}): LogEntry {
  return {
    id: r.id,
    roomId: r.roomId,
    type: r.type as LogEventType,
    actorId: r.actorId,
    targetId: r.targetId,
    meta: JSON.parse(r.meta) as Record<string, unknown>,
    createdAt: r.createdAt.toISOString(),
  };
}

/** Log types a member may see only when they are its actor or target (who messages whom privately). */
export const PRIVATE_LOG_TYPES: ReadonlySet<string> = new Set(["DIRECT_MESSAGE_RELAYED", "BB84_RELAYED", "KEY_SHARE_RELAYED", "SECURITY_REJECTED"]);

export function visibleTo(entry: Pick<LogEntry, "type" | "actorId" | "targetId">, userId: string): boolean {
  if (entry.type === "SECURITY_REJECTED") return false; // operators only
  if (!PRIVATE_LOG_TYPES.has(entry.type)) return true;
  return entry.actorId === userId || entry.targetId === userId;
}

/** A member's view of a room's log: the latest `limit` rows (or those after sinceId), oldest first. */
/** logs:fetch's narrowing beyond sinceId: rows below `beforeId`, only the timeline's room events. */
export interface LogFilter {
  beforeId?: number;
  events?: boolean;
}

export async function fetchMemberLogs(
  prisma: PrismaClient,
  roomId: string,
  userId: string,
  sinceId: number | undefined,
  limit: number,
  filter: LogFilter = {},
): Promise<LogEntry[]> {
  const where = memberLogWhere(roomId, userId, sinceId, filter);
  const rows =
    sinceId !== undefined
      ? await prisma.roomLog.findMany({ where, orderBy: { id: "asc" }, take: limit })
      : (await prisma.roomLog.findMany({ where, orderBy: { id: "desc" }, take: limit })).reverse();
  return rows.map(toLogEntry);
}

/** The rows of a room's log a member may read (after sinceId, before filter.beforeId, when given). */
export function memberLogWhere(roomId: string, userId: string, sinceId: number | undefined, filter: LogFilter = {}) {
  const id = { ...(sinceId !== undefined && { gt: sinceId }), ...(filter.beforeId !== undefined && { lt: filter.beforeId }) };
  return {
    roomId,
    ...(Object.keys(id).length ? { id } : {}),
    type: filter.events ? { in: [...ROOM_EVENT_LOG_TYPES] } : { not: "SECURITY_REJECTED" },
    OR: [{ type: { notIn: [...PRIVATE_LOG_TYPES] } }, { actorId: userId }, { targetId: userId }],
  };
}
