/**
 * The admin console's room overview: one SQL query with correlated sub-queries so every column
 * (online members, BB84 sessions, last QBER included) can be sorted and paginated in the database.
 * Members online come from Membership.online, which joins and leaves keep current (and a restart
 * resets); the sort column is picked from a closed list, never from input.
 */
import type { PrismaClient } from "@prisma/client";
import { dialectOf, placeholders } from "@/server/db-dialect";
import { z } from "zod";
import { wellFormedText } from "@/lib/protocol/text";
import { channelOf } from "../channel/channel.repository";

export const ROOM_SORTS = ["id", "createdAt", "online", "capacity", "lastActivityAt", "messageCount", "bb84Sessions", "lastQber"] as const;
export type RoomSort = (typeof ROOM_SORTS)[number];

export const roomListQuerySchema = z.object({
  q: wellFormedText().trim().max(64).optional().catch(undefined),
  sort: z.enum(ROOM_SORTS).catch("lastActivityAt"),
  dir: z.enum(["asc", "desc"]).catch("desc"),
  page: z.coerce.number().int().min(1).max(1_000_000).catch(1),
  pageSize: z.coerce.number().int().min(5).max(200).catch(25),
});
export type RoomListQuery = z.output<typeof roomListQuerySchema>;

export function parseRoomListQuery(params: Record<string, string | string[] | undefined> | URLSearchParams): RoomListQuery {
  const get = (k: string) => {
    const v = params instanceof URLSearchParams ? (params.get(k) ?? undefined) : params[k];
    return Array.isArray(v) ? v[0] : v;
  };
  return roomListQuerySchema.parse({ q: get("q") || undefined, sort: get("sort"), dir: get("dir"), page: get("page") ?? 1, pageSize: get("pageSize") ?? 25 });
}

export interface RoomRow {
  id: string;
  createdAt: string;
  online: number;
  capacity: number | null;
  lastActivityAt: string;
  messageCount: number;
  bb84Sessions: number;
  lastQber: number | null;
}

export interface RoomList {
  rooms: RoomRow[];
  total: number;
  page: number;
  pageSize: number;
  pages: number;
}

const ORDER: Record<RoomSort, string> = {
  id: `r."id"`,
  createdAt: `r."createdAt"`,
  online: `"online"`,
  capacity: `r."capacity"`,
  lastActivityAt: `r."lastActivityAt"`,
  messageCount: `r."messageCount"`,
  bb84Sessions: `"bb84Sessions"`,
  lastQber: `"lastQber"`,
};

const iso = (v: unknown) => (v instanceof Date ? v : new Date(String(v))).toISOString();

/** Search matches the room id or the display name of anyone who has been a member. */
export async function listRooms(prisma: PrismaClient, query: RoomListQuery): Promise<RoomList> {
  const params: unknown[] = [];
  let where = "";
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE is the same search.
    const op = dialectOf(prisma) === "postgresql" ? "ILIKE" : "LIKE";
    where = `WHERE r."id" ${op} ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM "Membership" m JOIN "User" u ON u."id" = m."userId" WHERE m."roomId" = r."id" AND u."displayName" ${op} ? ESCAPE '\\')`;
    params.push(like, like);
  }
  const [{ n }] = await prisma.$queryRawUnsafe<{ n: number | bigint }[]>(placeholders(prisma, `SELECT COUNT(*) AS n FROM "Room" r ${where}`), ...params);
  const total = Number(n);
  const pages = Math.max(1, Math.ceil(total / query.pageSize));
  const page = Math.min(query.page, pages);
  const dir = query.dir === "asc" ? "ASC" : "DESC";
  const rows = await prisma.$queryRawUnsafe<Record<string, unknown>[]>(
    placeholders(
      prisma,
      `SELECT r."id", r."createdAt", r."capacity", r."lastActivityAt", r."messageCount",
       (SELECT COUNT(*) FROM "Membership" m WHERE m."roomId" = r."id" AND m."online" = TRUE) AS "online",
       (SELECT COUNT(*) FROM "Bb84Session" s WHERE s."roomId" = r."id") AS "bb84Sessions",
       (SELECT s."qberEstimate" FROM "Bb84Session" s WHERE s."roomId" = r."id" AND s."qberEstimate" IS NOT NULL ORDER BY s."startedAt" DESC LIMIT 1) AS "lastQber"
     FROM "Room" r ${where}
     ORDER BY ${ORDER[query.sort]} ${dir} NULLS LAST, r."id" ASC
     LIMIT ? OFFSET ?`,
    ),
    ...params,
    query.pageSize,
    (page - 1) * query.pageSize,
  );
  return {
    total,
    page,
    pageSize: query.pageSize,
    pages,
    rooms: rows.map((r) => ({
      id: String(r.id),
      createdAt: iso(r.createdAt),
      online: Number(r.online),
      capacity: r.capacity === null ? null : Number(r.capacity),
      lastActivityAt: iso(r.lastActivityAt),
      messageCount: Number(r.messageCount),
      bb84Sessions: Number(r.bb84Sessions),
      lastQber: r.lastQber === null ? null : Number(r.lastQber),
    })),
  };
}

export interface RoomDetail {
  id: string;
  createdAt: string;
  capacity: number | null;
  epoch: number;
  lastActivityAt: string;
  messageCount: number;
  logCount: number;
  channel: { noise: number; loss: number; eve: number };
  /** Members present now (display names are user data: render as text). */
  members: { userId: string; displayName: string; joinedAt: string }[];
}

export async function getRoomDetail(prisma: PrismaClient, roomId: string): Promise<RoomDetail | null> {
  const room = await prisma.room.findUnique({ where: { id: roomId } });
  if (!room) return null;
  const [members, logCount] = await Promise.all([
    prisma.membership.findMany({ where: { roomId, online: true }, include: { user: { select: { displayName: true } } }, orderBy: { joinedAt: "asc" } }),
    prisma.roomLog.count({ where: { roomId } }),
  ]);
  return {
    id: room.id,
    createdAt: room.createdAt.toISOString(),
    capacity: room.capacity,
    epoch: room.epoch,
    lastActivityAt: room.lastActivityAt.toISOString(),
    messageCount: room.messageCount,
    logCount,
    channel: channelOf(room),
    members: members.map((m) => ({ userId: m.userId, displayName: m.user.displayName, joinedAt: m.joinedAt.toISOString() })),
  };
}
