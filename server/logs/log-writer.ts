/**
 * Structured room logs, written off the relay's hot path: handlers append to an in-memory queue and
 * a timer flushes it every `flushMs` (default 50 ms) in one transaction, so a hard crash loses at
 * most the rows of the last interval. Room counters (message count, last activity) ride along in
 * the same transaction. close() flushes what is queued (SIGTERM path).
 */
import type { PrismaClient } from "@prisma/client";
import type { LogEntry, LogEventType } from "@/lib/protocol";

export interface LogInput {
  roomId: string;
  type: LogEventType;
  actorId?: string | null;
  targetId?: string | null;
  meta?: Record<string, unknown>;
}

export type LogListener = (entry: LogEntry) => void;

export class LogWriter {
  private queue: (LogInput & { createdAt: Date })[] = [];
  private activity = new Map<string, { messages: number; at: Date }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private listeners = new Set<LogListener>();
  private closed = false;

  constructor(private readonly prisma: PrismaClient, private readonly flushMs = 50, private readonly onError: (e: unknown) => void = () => {}) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** Called with each row once it is stored (with its id), e.g. to push it live to the room. */
  onWritten(fn: LogListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  append(input: LogInput): void {
    if (this.closed) return;
    this.queue.push({ ...input, createdAt: new Date() });
  }

  /** Counts a relayed chat message against the room (message count and last activity). */
  touchRoom(roomId: string, messages = 0): void {
    const a = this.activity.get(roomId);
    if (a) {
      a.messages += messages;
      a.at = new Date();
    } else this.activity.set(roomId, { messages, at: new Date() });
  }

  get pending(): number {
    return this.queue.length;
  }

  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.queue.length === 0 && this.activity.size === 0) return;
    const batch = this.queue;
    const activity = this.activity;
    this.queue = [];
    this.activity = new Map();
    this.flushing = this.write(batch, activity).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(batch: (LogInput & { createdAt: Date })[], activity: Map<string, { messages: number; at: Date }>) {
    try {
      const [rows] = await this.prisma.$transaction([
        this.prisma.roomLog.createManyAndReturn({
          data: batch.map((b) => ({
            roomId: b.roomId,
            type: b.type,
            actorId: b.actorId ?? null,
            targetId: b.targetId ?? null,
            meta: JSON.stringify(b.meta ?? {}),
            createdAt: b.createdAt,
          })),
        }),
        ...[...activity].map(([id, a]) =>
          this.prisma.room.updateMany({ where: { id }, data: { messageCount: { increment: a.messages }, lastActivityAt: a.at } }),
        ),
      ]);
      for (const r of rows) {
        const entry: LogEntry = {
          id: r.id,
          roomId: r.roomId,
          type: r.type as LogEventType,
          actorId: r.actorId,
          targetId: r.targetId,
          meta: JSON.parse(r.meta) as Record<string, unknown>,
          createdAt: r.createdAt.toISOString(),
        };
        for (const l of this.listeners) l(entry);
      }
    } catch (e) {
      // Put the rows back so a transient failure (e.g. SQLITE_BUSY) loses nothing.
      this.queue = batch.concat(this.queue);
      for (const [id, a] of activity) this.touchRoom(id, a.messages);
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
