/**
 * The one implementation of the admin log filter over RoomLog, used by the console's pages and
 * API, the streamed export and the logs CLI. Pagination is keyset on the primary key (id), never
 * OFFSET: a page costs the same at row 10 and at row 10 million, and rows appended meanwhile don't
 * shift pages.
 */
import type { Prisma, PrismaClient, RoomLog } from "@prisma/client";
import type { LogEntry } from "@/lib/protocol";
import type { LogFilter } from "@/lib/admin/log-filter";
import type { AdminLogEntry } from "@/lib/admin/events";
import { toLogEntry } from "@/server/logs/logs.repository";
import { dialectOf } from "@/server/db-dialect";

/**
 * A substring filter that ignores ASCII case on both engines: SQLite's LIKE already does, PostgreSQL
 * needs Prisma's `mode: "insensitive"` (ILIKE), which the SQLite client's types don't list.
 */
function containsAnyCase(prisma: PrismaClient, text: string): Prisma.StringFilter {
  return (dialectOf(prisma) === "postgresql" ? { contains: text, mode: "insensitive" } : { contains: text }) as Prisma.StringFilter;
}

export type { AdminLogEntry };

export const MAX_LOG_PAGE = 500;

/** Builds the Prisma where clause for a filter (an actor given as a name is resolved to user ids first). */
export async function logWhere(prisma: PrismaClient, f: LogFilter): Promise<Prisma.RoomLogWhereInput> {
  const and: Prisma.RoomLogWhereInput[] = [{ roomId: f.roomId }];
  if (f.types.length > 0) and.push({ type: { in: f.types } });
  if (f.from) and.push({ createdAt: { gte: f.from } });
  if (f.to) and.push({ createdAt: { lt: f.to } });
  if (f.text) and.push({ meta: containsAnyCase(prisma, f.text) });
  if (f.actor) {
    const actor = f.actor;
    // `contains` is LIKE (wildcards unescaped): re-check the names literally.
    const byName = (
      await prisma.user.findMany({ where: { displayName: containsAnyCase(prisma, actor) }, select: { id: true, displayName: true }, take: 1000 })
    ).filter((u) => u.displayName.toLowerCase().includes(actor.toLowerCase()));
    const or: Prisma.RoomLogWhereInput[] = byName.map((u) => ({ actorId: u.id }));
    if (/^[0-9a-f]{4,32}$/i.test(actor)) or.push({ actorId: { startsWith: actor.toLowerCase() } });
    and.push(or.length > 0 ? { OR: or } : { id: -1 }); // no such actor: nothing matches
  }
  return { AND: and };
}

export interface LogPage {
  entries: AdminLogEntry[];
  /** Pass as `before` (newest-first) or `after` (oldest-first) for the next page; null at the end. */
  nextCursor: number | null;
}

/**
 * One page of matching rows. order "desc" (the console: newest first, `before` = cursor) or
 * "asc" (export, CLI: oldest first, `after` = cursor).
 */
export async function queryLogs(
  prisma: PrismaClient,
  f: LogFilter,
  opts: { order?: "asc" | "desc"; cursor?: number | null; limit?: number; where?: Prisma.RoomLogWhereInput } = {},
): Promise<LogPage> {
  const order = opts.order ?? "desc";
  const limit = Math.max(1, Math.min(MAX_LOG_PAGE, opts.limit ?? 100));
  const where = opts.where ?? (await logWhere(prisma, f));
  // Prisma's `contains` on SQLite is LIKE without an escape: "%" and "_" in the text act as
  // wildcards there, so such a text is checked again here, literally (the query stays a superset).
  const literal = f.text && /[%_]/.test(f.text) ? f.text.toLowerCase() : null;
  const matches: RoomLog[] = [];
  let scan = opts.cursor ?? null;
  for (;;) {
    const rows = await prisma.roomLog.findMany({
      where: scan === null ? where : { AND: [where, { id: order === "desc" ? { lt: scan } : { gt: scan } }] },
      orderBy: { id: order },
      take: limit + 1,
    });
    for (const r of rows) {
      if (literal !== null && !r.meta.toLowerCase().includes(literal)) continue;
      matches.push(r);
      if (matches.length > limit) break;
    }
    if (matches.length > limit || rows.length <= limit) break;
    scan = rows[rows.length - 1].id;
  }
  const more = matches.length > limit;
  const page = more ? matches.slice(0, limit) : matches;
  const entries = await withNames(prisma, page.map(toLogEntry));
  return { entries, nextCursor: more ? page[page.length - 1].id : null };
}

/** Attaches current display names (read as data and rendered as text by every consumer). */
export async function withNames(prisma: PrismaClient, entries: LogEntry[]): Promise<AdminLogEntry[]> {
  const ids = new Set<string>();
  for (const e of entries) {
    if (e.actorId) ids.add(e.actorId);
    if (e.targetId) ids.add(e.targetId);
  }
  const users = ids.size === 0 ? [] : await prisma.user.findMany({ where: { id: { in: [...ids] } }, select: { id: true, displayName: true } });
  const names = new Map(users.map((u) => [u.id, u.displayName]));
  return entries.map((e) => ({
    ...e,
    actorName: e.actorId ? (names.get(e.actorId) ?? null) : null,
    targetName: e.targetId ? (names.get(e.targetId) ?? null) : null,
  }));
}

/**
 * Every matching row, oldest first, fetched `batch` rows at a time by keyset; memory stays at one
 * batch however large the room. `afterId` starts after a known row (the CLI's --follow).
 */
export async function* iterateLogs(prisma: PrismaClient, f: LogFilter, opts: { batch?: number; afterId?: number } = {}): AsyncGenerator<AdminLogEntry[]> {
  const where = await logWhere(prisma, f);
  let cursor: number | null = opts.afterId ?? null;
  for (;;) {
    const page = await queryLogs(prisma, f, { order: "asc", cursor, limit: opts.batch ?? MAX_LOG_PAGE, where });
    if (page.entries.length > 0) yield page.entries;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}
