/** The batched log writer against a real migrated SQLite database. */
import { LogWriter } from "@/server/logs/log-writer";
import type { LogEntry } from "@/lib/protocol";
import { startTestServer } from "../helpers/server";

test("a large batch is stored in order, with the ids and fields its listeners were told", async () => {
  const srv = await startTestServer();
  try {
    await srv.prisma.room.create({ data: { id: "logs" } });
    const writer = new LogWriter(srv.prisma, 10_000); // flushed by hand below
    const told: LogEntry[] = [];
    writer.onWritten((entries) => told.push(...entries));
    const n = 3000;
    for (let i = 0; i < n; i++) {
      writer.append({
        roomId: "logs",
        type: i % 2 ? "MESSAGE_RELAYED" : "DIRECT_MESSAGE_RELAYED",
        actorId: `a${i}`,
        targetId: i % 3 ? null : `t${i}`,
        meta: { bytes: i, note: "quote\" and ' and \\ survive" },
      });
    }
    writer.touchRoom("logs", 7);
    await writer.close();
    const rows = await srv.prisma.roomLog.findMany({ where: { roomId: "logs" }, orderBy: { id: "asc" } });
    expect(rows).toHaveLength(n);
    expect(told).toHaveLength(n);
    rows.forEach((r, i) => {
      expect(r.actorId).toBe(`a${i}`);
      expect(r.targetId).toBe(i % 3 ? null : `t${i}`);
      expect(JSON.parse(r.meta)).toEqual({ bytes: i, note: "quote\" and ' and \\ survive" });
      expect(told[i]).toMatchObject({ id: r.id, actorId: `a${i}`, meta: { bytes: i } });
      expect(told[i].createdAt).toBe(r.createdAt.toISOString());
    });
    const room = await srv.prisma.room.findUniqueOrThrow({ where: { id: "logs" } });
    expect(room.messageCount).toBe(7);
    // Appends after close are ignored rather than lost silently into a dead timer.
    writer.append({ roomId: "logs", type: "MESSAGE_RELAYED" });
    expect(writer.pending).toBe(0);
  } finally {
    await srv.close();
  }
});

test("a failed flush keeps its rows for the next one", async () => {
  const srv = await startTestServer();
  try {
    const errors: unknown[] = [];
    const writer = new LogWriter(srv.prisma, 10_000, (e) => errors.push(e));
    writer.append({ roomId: "no-such-room", type: "MESSAGE_RELAYED" }); // foreign key violation
    await writer.flush();
    expect(errors).toHaveLength(1);
    expect(writer.pending).toBe(1);
    await srv.prisma.room.create({ data: { id: "no-such-room" } });
    await writer.flush();
    expect(await srv.prisma.roomLog.count({ where: { roomId: "no-such-room" } })).toBe(1);
    await writer.close();
  } finally {
    await srv.close();
  }
});

test("relay rows with one key coalesce within a flush; other keys and flushes stay apart", async () => {
  const srv = await startTestServer();
  try {
    await srv.prisma.room.create({ data: { id: "co" } });
    const writer = new LogWriter(srv.prisma, 10_000);
    for (let i = 0; i < 500; i++)
      writer.append({ roomId: "co", type: "MESSAGE_RELAYED", actorId: "a", meta: { epoch: 1, bytes: 10, recipients: 1 }, coalesceKey: "k-a" });
    writer.append({ roomId: "co", type: "MESSAGE_RELAYED", actorId: "b", meta: { epoch: 1, bytes: 7, recipients: 1 }, coalesceKey: "k-b" });
    writer.append({ roomId: "co", type: "MEMBER_JOINED", actorId: "c", meta: { displayName: "c" } });
    await writer.flush();
    writer.append({ roomId: "co", type: "MESSAGE_RELAYED", actorId: "a", meta: { epoch: 1, bytes: 3, recipients: 1 }, coalesceKey: "k-a" });
    await writer.close();
    const rows = await srv.prisma.roomLog.findMany({ where: { roomId: "co" }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.type, r.actorId, JSON.parse(r.meta)])).toEqual([
      ["MESSAGE_RELAYED", "a", { epoch: 1, bytes: 5000, recipients: 1, count: 500 }],
      ["MESSAGE_RELAYED", "b", { epoch: 1, bytes: 7, recipients: 1, count: 1 }],
      ["MEMBER_JOINED", "c", { displayName: "c" }],
      ["MESSAGE_RELAYED", "a", { epoch: 1, bytes: 3, recipients: 1, count: 1 }],
    ]);
  } finally {
    await srv.close();
  }
});
