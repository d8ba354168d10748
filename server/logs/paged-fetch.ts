/**
 * logs:fetch in pages of 100 rows, yielding to the event loop between pages. The database driver
 * is synchronous: one 500-row read held the event loop for 12–60 ms on the 2-core machine, so a
 * burst of large reads from one address delayed everyone's room messages by whole reads; in pages,
 * an honest message waits for one page at most. Pages of all large reads go through one queue,
 * one page per event-loop turn: concurrent reads each yielding would otherwise run their next
 * pages back to back in the same turn. Same rows as fetchMemberLogs (logs.repository.ts).
 */
import type { PrismaClient } from "@prisma/client";
import type { LogEntry } from "@/lib/protocol";
import { fetchMemberLogs, memberLogWhere, type LogFilter } from "./logs.repository";

export const LOG_PAGE_ROWS = 100;
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

let tail: Promise<unknown> = Promise.resolve();
/** Runs one page's query after every earlier page, in a later event-loop turn (history:fetch's large pages use it too). */
export function inTurn<T>(query: () => Promise<T>): Promise<T> {
  const run = tail.then(yieldToLoop, yieldToLoop).then(query);
  tail = run.catch(() => {});
  return run;
}

export async function fetchMemberLogsPaged(
  prisma: PrismaClient,
  roomId: string,
  userId: string,
  sinceId: number | undefined,
  limit: number,
  filter: LogFilter = {},
): Promise<LogEntry[]> {
  if (limit <= LOG_PAGE_ROWS) return fetchMemberLogs(prisma, roomId, userId, sinceId, limit, filter);
  let cursor = sinceId;
  let want = limit;
  if (cursor === undefined) {
    // The latest `limit` rows: find where they begin (ids only), then read forward from there.
    const ids = await inTurn(() =>
      prisma.roomLog.findMany({ where: memberLogWhere(roomId, userId, undefined, filter), orderBy: { id: "desc" }, take: limit, select: { id: true } }),
    );
    if (ids.length === 0) return [];
    cursor = ids[ids.length - 1].id - 1;
    want = ids.length;
  }
  const out: LogEntry[] = [];
  while (out.length < want) {
    const from: number | undefined = cursor;
    const page: LogEntry[] = await inTurn(() => fetchMemberLogs(prisma, roomId, userId, from, Math.min(LOG_PAGE_ROWS, want - out.length), filter));
    out.push(...page);
    if (page.length === 0) break;
    cursor = page[page.length - 1].id;
  }
  return out;
}
