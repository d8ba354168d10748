/**
 * The room log groups a BB84 session's relayed frames: the server already coalesces them per
 * flush, but a session of many round trips still leaves dozens of "BB84 frame relayed" rows that
 * would push everything else out of view. Consecutive rows (in display order) of one session
 * become one row with the frame and byte totals; both directions are shown as the two parties.
 */
import type { LogEntry } from "@/lib/protocol";

export interface GroupedLogEntry extends LogEntry {
  /** How many stored rows this displayed row stands for (absent: 1, the stored row itself). */
  rows?: number;
  /** Frames went both ways between actor and target. */
  bothWays?: boolean;
}

function sessionOf(l: LogEntry): string | null {
  return l.type === "BB84_RELAYED" && typeof l.meta?.sessionId === "string" ? l.meta.sessionId : null;
}

const num = (v: unknown, fallback: number) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

/**
 * Rows in display order (newest first); the first row of a group keeps its id, time and parties.
 * Rows that are not grouped are returned as the same objects, so memoized rows do not re-render.
 */
export function groupRelayRows(logs: readonly LogEntry[]): GroupedLogEntry[] {
  const out: GroupedLogEntry[] = [];
  for (const l of logs) {
    const sid = sessionOf(l);
    const prev = out[out.length - 1];
    if (sid !== null && prev && sessionOf(prev) === sid) {
      const same = prev.actorId === l.actorId && prev.targetId === l.targetId;
      const reverse = prev.actorId === l.targetId && prev.targetId === l.actorId;
      if (same || reverse) {
        out[out.length - 1] = {
          ...prev,
          meta: { ...prev.meta, count: num(prev.meta.count, 1) + num(l.meta.count, 1), bytes: num(prev.meta.bytes, 0) + num(l.meta.bytes, 0) },
          rows: (prev.rows ?? 1) + 1,
          bothWays: (prev.bothWays ?? false) || reverse,
        };
        continue;
      }
    }
    out.push(l);
  }
  return out;
}
