/** Grouping a BB84 session's relayed-frame rows in the room log (lib/ui/log-group.ts). */
import type { LogEntry } from "@/lib/protocol";
import { groupRelayRows } from "@/lib/ui/log-group";

let id = 100;
const row = (type: LogEntry["type"], actorId: string | null, targetId: string | null, meta: Record<string, unknown> = {}): LogEntry => ({
  id: id--,
  roomId: "r",
  type,
  actorId,
  targetId,
  meta,
  createdAt: "2026-01-01T00:00:00.000Z",
});

describe("groupRelayRows", () => {
  test("consecutive frames of one session become one row with totals, both directions", () => {
    const logs = [
      row("BB84_SESSION_SUMMARY", "a", "b", { sessionId: "s1" }),
      row("BB84_RELAYED", "a", "b", { sessionId: "s1", bytes: 100, count: 2 }),
      row("BB84_RELAYED", "b", "a", { sessionId: "s1", bytes: 50, count: 1 }),
      row("BB84_RELAYED", "a", "b", { sessionId: "s1", bytes: 1000, count: 3 }),
      row("MEMBER_JOINED", "b", null),
    ];
    const g = groupRelayRows(logs);
    expect(g.map((l) => l.type)).toEqual(["BB84_SESSION_SUMMARY", "BB84_RELAYED", "MEMBER_JOINED"]);
    expect(g[1]).toEqual(expect.objectContaining({ id: logs[1].id, actorId: "a", targetId: "b", rows: 3, bothWays: true }));
    expect(g[1].meta).toEqual({ sessionId: "s1", bytes: 1150, count: 6 });
    expect(g[0]).toBe(logs[0]); // not grouped: the very same object
    // The stored rows are not modified.
    expect(logs[1].meta).toEqual({ sessionId: "s1", bytes: 100, count: 2 });
  });

  test("different sessions, other parties, or rows in between are not merged", () => {
    const logs = [
      row("BB84_RELAYED", "a", "b", { sessionId: "s1", bytes: 1 }),
      row("BB84_RELAYED", "a", "b", { sessionId: "s2", bytes: 1 }),
      row("BB84_RELAYED", "a", "c", { sessionId: "s2", bytes: 1 }),
      row("MESSAGE_RELAYED", "a", null),
      row("BB84_RELAYED", "a", "c", { sessionId: "s2", bytes: 1 }),
      row("BB84_RELAYED", "a", "c", { bytes: 1 }),
      row("BB84_RELAYED", "a", "c", { bytes: 1 }),
    ];
    const g = groupRelayRows(logs);
    expect(g).toHaveLength(7);
    expect(g.every((l, i) => l === logs[i])).toBe(true);
  });

  test("rows without a count or bytes count as one frame of zero bytes", () => {
    const g = groupRelayRows([row("BB84_RELAYED", "a", "b", { sessionId: "s" }), row("BB84_RELAYED", "a", "b", { sessionId: "s", bytes: "x" })]);
    expect(g).toHaveLength(1);
    expect(g[0].meta).toEqual({ sessionId: "s", count: 2, bytes: 0 });
  });
});
