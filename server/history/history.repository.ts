/**
 * Stored envelopes (rooms with history): each row is a relayed `message:received` payload exactly as
 * sent (signed ciphertext, never plaintext). Written in batches off the relay's hot path
 * (EnvelopeWriter, like the log writer), read newest first by cursor for history:fetch, purged by
 * retention. Portable Prisma calls, and one raw range query written for both SQLite and PostgreSQL.
 */
import { dialectOf, placeholders } from "../db-dialect";
import { inTurn } from "../logs/paged-fetch";
import type { Prisma, PrismaClient } from "@prisma/client";
import type { HistoryMessage, MessageReceived } from "@/lib/protocol";

export interface EnvelopeInput {
  roomId: string;
  epoch: number;
  senderId: string;
  kind: "room" | "dm";
  recipientId: string | null;
  envelope: MessageReceived;
}

type QueuedEnvelope = Prisma.EnvelopeCreateManyInput & { createdAt: string };

/**
 * Batches envelope rows and writes them every flushMs. On SQLite the whole batch travels as ONE
 * JSON parameter unpacked by json_each (as the log writer does: a model-API createMany binds seven
 * parameters a row through the driver adapter, which doubled the relay's CPU per message in
 * bench:relay); on any other provider it uses the portable createMany.
 */
export class EnvelopeWriter {
  private queue: QueuedEnvelope[] = [];
  private readonly sqlite: boolean;
  private flushing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly prisma: PrismaClient,
    flushMs = 50,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    this.sqlite = dialectOf(prisma) === "sqlite";
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  append(e: EnvelopeInput): void {
    if (this.closed) return;
    this.queue.push({
      roomId: e.roomId,
      epoch: e.epoch,
      senderId: e.senderId,
      kind: e.kind,
      recipientId: e.recipientId,
      body: JSON.stringify(e.envelope),
      createdAt: e.envelope.ts,
    });
  }

  /** Writes what is queued (history:fetch calls it first, so a page includes what was just relayed). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.write(batch)
      .then(
        () => {},
        (e: unknown) => this.onError(e),
      )
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  private async write(batch: QueuedEnvelope[]): Promise<unknown> {
    if (!this.sqlite) return this.prisma.envelope.createMany({ data: batch.map((r) => ({ ...r, createdAt: new Date(r.createdAt) })) });
    const rows = JSON.stringify(batch.map((r) => [r.roomId, r.epoch, r.senderId, r.kind, r.recipientId, r.body, r.createdAt]));
    return this.prisma.$executeRawUnsafe(
      `INSERT INTO "Envelope" ("roomId","epoch","senderId","kind","recipientId","body","createdAt")
       SELECT json_extract(value,'$[0]'), json_extract(value,'$[1]'), json_extract(value,'$[2]'), json_extract(value,'$[3]'),
              json_extract(value,'$[4]'), json_extract(value,'$[5]'), json_extract(value,'$[6]')
       FROM json_each(?) ORDER BY key`,
      rows,
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }
}

export interface EpochRange {
  fromEpoch: number;
  toEpoch: number | null;
}

/** The columns history:fetch reads (ids may come back as bigint from a raw query). */
interface StoredRow {
  id: number | bigint;
  body: string;
  kind: string;
  epoch: number | bigint;
  senderId: string;
  recipientId: string | null;
}

/** Whether a stored row is readable by `userId` with these membership periods. */
function readable(r: StoredRow, userId: string, periods: readonly EpochRange[]): boolean {
  if (r.kind === "dm") return r.senderId === userId || r.recipientId === userId;
  const epoch = Number(r.epoch);
  return periods.some((p) => epoch >= p.fromEpoch && (p.toEpoch === null || epoch <= p.toEpoch));
}

/**
 * One page for a reader: room envelopes of epochs inside the reader's periods and DMs they sent or
 * received, with cursor < before, newest first. Every row a member may read has an epoch within
 * one of their periods (a DM row carries the room's epoch when relayed, and only members send or
 * receive DMs), so the query is bounded below by the earliest period's first epoch and walks the
 * (roomId, id) index; the rest of the rule (gaps between periods, DMs of others) is applied here.
 * At most MAX_SCAN rows are examined per call: a page may then hold fewer than `limit` messages
 * with a non-null nextBefore (continue from it). A large page (limit above QUERY_ROWS) is read in
 * queries of QUERY_ROWS rows, each in its own event-loop turn through the queue of large reads
 * (server/logs/paged-fetch.ts): the driver is synchronous, so a 1,000-row page must not hold the
 * event loop for all its rows at once.
 */
export async function fetchHistoryPage(
  prisma: PrismaClient,
  roomId: string,
  userId: string,
  periods: readonly EpochRange[],
  before: number | undefined,
  limit: number,
): Promise<{ messages: HistoryMessage[]; nextBefore: number | null }> {
  if (periods.length === 0) return { messages: [], nextBefore: null };
  const minEpoch = Math.min(...periods.map((p) => p.fromEpoch));
  const messages: HistoryMessage[] = [];
  let cursor = before;
  let scanned = 0;
  const chunk = Math.min(Math.max(limit + 1, 100), QUERY_ROWS + 1);
  for (;;) {
    const from = cursor;
    // A raw range query on the (roomId, id) index (the same on SQLite and PostgreSQL): the model API's
    // per-row mapping cost about as much again as the query itself for these 500-byte rows.
    const sql = `SELECT "id", "body", "kind", "epoch", "senderId", "recipientId" FROM "Envelope"
      WHERE "roomId" = ? AND "epoch" >= ?${from !== undefined ? ` AND "id" < ?` : ""} ORDER BY "id" DESC LIMIT ?`;
    const params: unknown[] = from !== undefined ? [roomId, minEpoch, from, chunk] : [roomId, minEpoch, chunk];
    const query = () => prisma.$queryRawUnsafe<StoredRow[]>(placeholders(prisma, sql), ...params);
    const rows = limit > QUERY_ROWS ? await inTurn(query) : await query();
    for (const r of rows) {
      if (messages.length === limit) return { messages, nextBefore: messages[messages.length - 1].cursor };
      cursor = Number(r.id);
      scanned += 1;
      if (!readable(r, userId, periods)) continue;
      try {
        messages.push({ ...(JSON.parse(r.body) as MessageReceived), cursor });
      } catch {
        /* a row this version did not write: skip it */
      }
    }
    if (rows.length < chunk) return { messages, nextBefore: null };
    if (scanned >= MAX_SCAN) return { messages, nextBefore: cursor ?? null };
  }
}

/** Rows one history:fetch examines at most (a member with a long gap between periods pages past it). */
const MAX_SCAN = 2_000;
/** Rows one query of a large page reads (one event-loop turn each). */
const QUERY_ROWS = 200;

export async function deleteEnvelopesOlderThan(prisma: PrismaClient, roomId: string, cutoff: Date): Promise<number> {
  const { count } = await prisma.envelope.deleteMany({ where: { roomId, createdAt: { lt: cutoff } } });
  return count;
}

/** Rooms that keep history, with their days (retention walks them). */
export async function roomsWithHistory(prisma: PrismaClient) {
  return prisma.room.findMany({ where: { historyDays: { not: null } }, select: { id: true, historyDays: true } });
}

/** Rooms without history that hold key blobs (retention drops blobs older than the membership TTL there). */
export async function ephemeralRoomsWithBlobs(prisma: PrismaClient, cutoff: Date) {
  const rows = await prisma.keyBlob.findMany({
    where: { createdAt: { lt: cutoff }, room: { historyDays: null } },
    select: { roomId: true },
    distinct: ["roomId"],
    take: 1000,
  });
  return rows.map((r) => r.roomId);
}
