/**
 * Structured room logs, written off the relay's hot path: handlers append to an in-memory queue and
 * a timer flushes it every `flushMs` (default 50 ms) in one transaction, so a hard crash loses at
 * most the rows of the last interval. Room counters (message count, last activity) ride along in
 * the same transaction. close() flushes what is queued (SIGTERM path).
 *
 * A failed flush (the database restarting, unreachable, busy) puts its rows back and the next
 * interval tries again, so nothing is lost while the queue has room. The queue is bounded
 * (`maxQueue` rows, QSEC_LOG_QUEUE_MAX, default 100000, rows being written included): past it, new
 * rows are dropped and counted (`dropped`, shown by /healthz), and `onDrop` is told once per outage
 * (server/app.ts logs it as an error) so an operator knows rows are missing.
 *
 * The flush is one INSERT … SELECT FROM json_each(?) (PostgreSQL: jsonb_array_elements) RETURNING through Prisma's raw API: a
 * model-API createManyAndReturn is compiled afresh for every batch size (a quarter of the relay's
 * CPU in bench:relay), and binding six parameters a row through the driver adapter cost most of
 * the rest.
 */
import type { PrismaClient } from "@prisma/client";
import { dialectOf } from "@/server/db-dialect";

// All rows travel as ONE JSON parameter and the database unpacks them (SQLite: json_each; PostgreSQL:
// jsonb_array_elements WITH ORDINALITY): binding thousands of parameters through the driver adapter
// cost more than the insert itself. Rows come out in array order, so ascending ids follow the batch.
const BULK_INSERT = {
  sqlite: `INSERT INTO "RoomLog" ("roomId","type","actorId","targetId","meta","createdAt")
     SELECT json_extract(value,'$[0]'), json_extract(value,'$[1]'), json_extract(value,'$[2]'),
            json_extract(value,'$[3]'), json_extract(value,'$[4]'), json_extract(value,'$[5]')
     FROM json_each(?) ORDER BY key RETURNING "id"`,
  // createdAt is an ISO instant in UTC; the column is timestamp(3) without time zone holding UTC,
  // as Prisma writes it, so the cast goes through timestamptz AT TIME ZONE 'UTC'.
  postgresql: `INSERT INTO "RoomLog" ("roomId","type","actorId","targetId","meta","createdAt")
     SELECT e->>0, e->>1, e->>2, e->>3, e->>4, ((e->>5)::timestamptz AT TIME ZONE 'UTC')
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, i) ORDER BY i RETURNING "id"`,
};
const ROOM_ACTIVITY = {
  sqlite: `UPDATE "Room" SET "messageCount" = "messageCount" + ?, "lastActivityAt" = ? WHERE "id" = ?`,
  postgresql: `UPDATE "Room" SET "messageCount" = "messageCount" + $1, "lastActivityAt" = ($2::timestamptz AT TIME ZONE 'UTC') WHERE "id" = $3`,
};
import type { LogEntry, LogEventType } from "@/lib/protocol";

export interface LogInput {
  roomId: string;
  type: LogEventType;
  actorId?: string | null;
  targetId?: string | null;
  meta?: Record<string, unknown>;
  /**
   * Rows with the same key in one flush interval become one row whose meta.count counts them and
   * whose numeric meta.bytes is their sum (relayed messages and BB84 frames). A person typing
   * sends far fewer than one message per 50 ms, so chat keeps one row per message; a flood or a
   * BB84 session becomes one row per interval instead of thousands.
   */
  coalesceKey?: string;
}

/** Called once per flush with the stored rows (ids assigned), in insertion order. */
export type LogListener = (entries: LogEntry[]) => void;

interface Queued {
  roomId: string;
  type: LogEventType;
  actorId: string | null;
  targetId: string | null;
  meta: Record<string, unknown>;
  createdAt: string;
}

/** Rows the writer holds at most while the database can't take them (QSEC_LOG_QUEUE_MAX). */
export const DEFAULT_MAX_QUEUE = 100_000;

export class LogWriter {
  private queue: Queued[] = [];
  private coalesced = new Map<string, Queued>();
  private activity = new Map<string, { messages: number; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private listeners = new Set<LogListener>();
  private closed = false;
  /** Rows of the flush in progress (they come back on failure, so they count against the bound). */
  private inFlight = 0;
  /** Rows dropped because the queue was full (since start). */
  dropped = 0;
  private dropping = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly flushMs = 50,
    private readonly onError: (e: unknown) => void = () => {},
    private readonly maxQueue = DEFAULT_MAX_QUEUE,
    private readonly onDrop: (dropped: number) => void = () => {},
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  onWritten(fn: LogListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  append(input: LogInput): void {
    if (this.closed) return;
    const prev = input.coalesceKey !== undefined ? this.coalesced.get(input.coalesceKey) : undefined;
    if (prev) {
      prev.meta.count = (prev.meta.count as number) + 1;
      if (typeof input.meta?.bytes === "number") prev.meta.bytes = (prev.meta.bytes as number) + input.meta.bytes;
      return;
    }
    if (this.queue.length + this.inFlight >= this.maxQueue) {
      this.dropped += 1;
      if (!this.dropping) {
        this.dropping = true; // told once per outage; again after a flush has succeeded
        this.onDrop(this.dropped);
      }
      return;
    }
    if (input.coalesceKey !== undefined) {
      const row: Queued = {
        roomId: input.roomId,
        type: input.type,
        actorId: input.actorId ?? null,
        targetId: input.targetId ?? null,
        meta: { ...input.meta, count: 1 },
        createdAt: new Date().toISOString(),
      };
      this.coalesced.set(input.coalesceKey, row);
      this.queue.push(row);
      return;
    }
    this.queue.push({
      roomId: input.roomId,
      type: input.type,
      actorId: input.actorId ?? null,
      targetId: input.targetId ?? null,
      meta: input.meta ?? {},
      createdAt: new Date().toISOString(),
    });
  }

  /** Counts relayed chat messages against the room (message count and last activity). */
  touchRoom(roomId: string, messages = 0): void {
    const at = Date.now();
    const a = this.activity.get(roomId);
    if (a) {
      a.messages += messages;
      a.at = at;
    } else this.activity.set(roomId, { messages, at });
  }

  /** Rows not yet stored: queued, or in a flush that has not succeeded yet. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0 && this.activity.size === 0) return;
    const batch = this.queue;
    const activity = this.activity;
    this.queue = [];
    this.coalesced = new Map();
    this.activity = new Map();
    this.inFlight = batch.length;
    this.flushing = this.write(batch, activity).finally(() => {
      this.inFlight = 0;
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(batch: Queued[], activity: Map<string, { messages: number; at: number }>) {
    try {
      const dialect = dialectOf(this.prisma);
      const rows = JSON.stringify(batch.map((r) => [r.roomId, r.type, r.actorId, r.targetId, JSON.stringify(r.meta), r.createdAt]));
      const inserts = batch.length === 0 ? [] : [this.prisma.$queryRawUnsafe<{ id: number | bigint }[]>(BULK_INSERT[dialect], rows)];
      const updates = [...activity].map(([id, a]) => this.prisma.$executeRawUnsafe(ROOM_ACTIVITY[dialect], a.messages, new Date(a.at).toISOString(), id));
      const results = await this.prisma.$transaction([...inserts, ...updates]);
      this.dropping = false;
      // Rows are inserted in array order, so ascending ids match the batch order.
      const ids = results
        .slice(0, inserts.length)
        .flatMap((rows) => (rows as { id: number | bigint }[]).map((r) => Number(r.id)))
        .sort((a, b) => a - b);
      if (this.listeners.size === 0 || batch.length === 0) return;
      const entries: LogEntry[] = batch.map((r, i) => ({
        id: ids[i],
        roomId: r.roomId,
        type: r.type,
        actorId: r.actorId,
        targetId: r.targetId,
        meta: r.meta,
        createdAt: r.createdAt,
      }));
      for (const l of this.listeners) l(entries);
    } catch (e) {
      // Put the rows back so a transient failure (e.g. SQLITE_BUSY) loses nothing.
      this.queue = batch.concat(this.queue);
      for (const [id, a] of activity) {
        const cur = this.activity.get(id);
        this.activity.set(id, { messages: a.messages + (cur?.messages ?? 0), at: cur?.at ?? a.at });
      }
      this.onError(e);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    this.closed = true;
  }
}
