/**
 * Stored envelopes (rooms with history): each row is a relayed `message:received` payload exactly as
 * sent (signed ciphertext, never plaintext). Written in batches off the relay's hot path
 * (EnvelopeWriter, like the log writer), read newest first by cursor for history:fetch, purged by
 * retention. Portable Prisma calls only (SQLite and PostgreSQL).
 */
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

export class EnvelopeWriter {
  private queue: Prisma.EnvelopeCreateManyInput[] = [];
  private flushing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly prisma: PrismaClient,
    flushMs = 50,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
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
      createdAt: new Date(e.envelope.ts),
    });
  }

  /** Writes what is queued (history:fetch calls it first, so a page includes what was just relayed). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.prisma.envelope
      .createMany({ data: batch })
      .then(
        () => {},
        (e: unknown) => this.onError(e),
      )
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
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

/**
 * One page for a reader: room envelopes of epochs inside the reader's periods and DMs they sent or
 * received, with cursor < before, newest first. Asks for one row more than `limit` to know if an
 * older readable row exists.
 */
export async function fetchHistoryPage(
  prisma: PrismaClient,
  roomId: string,
  userId: string,
  periods: readonly EpochRange[],
  before: number | undefined,
  limit: number,
): Promise<{ messages: HistoryMessage[]; nextBefore: number | null }> {
  const readable: Prisma.EnvelopeWhereInput[] = [
    { kind: "dm", senderId: userId },
    { kind: "dm", recipientId: userId },
    ...periods.map((p) => ({ kind: "room", epoch: p.toEpoch === null ? { gte: p.fromEpoch } : { gte: p.fromEpoch, lte: p.toEpoch } })),
  ];
  const rows = await prisma.envelope.findMany({
    where: { roomId, ...(before !== undefined && { id: { lt: before } }), OR: readable },
    select: { id: true, body: true },
    orderBy: { id: "desc" },
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  const messages: HistoryMessage[] = [];
  for (const r of page) {
    try {
      messages.push({ ...(JSON.parse(r.body) as MessageReceived), cursor: r.id });
    } catch {
      /* a row this version did not write: skip it */
    }
  }
  const last = page[page.length - 1];
  return { messages, nextBefore: rows.length > limit && last ? last.id : null };
}

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
