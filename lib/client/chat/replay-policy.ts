/**
 * Every rule against replayed messages, in one place:
 *   - the per-sender counter this client stamps on what it sends (seeded from the clock);
 *   - the replay window of counters seen per (sender, scope) for what it receives (ReplayGuard,
 *     consulted by lib/crypto's decryptMessage after the signature checks);
 *   - the "DM replay" rule: a direct message sent before this client started is refused.
 */
import { ReplayGuard, replayScope } from "@/lib/crypto";

/** How far a sender's clock may lag ours before its fresh direct messages look replayed. */
const DM_CLOCK_SKEW_MS = 5 * 60_000;

export class ReplayPolicy {
  /** Counters seen per (sender, scope): per room epoch for room messages, per room for direct ones. */
  readonly guard = new ReplayGuard();

  /**
   * Per-sender message counter, shared by every room and direct message this client sends.
   * It starts at Date.now() * 1000 (microseconds since the epoch, ~1.7e15, below 2^53) and
   * increments by one per message. Receivers keep a replay window per (sender, scope): per room
   * epoch for room messages, and per room for direct messages, which have no epoch. A reloaded tab
   * keeps its identity (IndexedDB) but loses this in-memory counter; if it restarted at 0, every
   * direct message it sent after the reload (same scope, lower counter) would be rejected as a
   * replay by peers who stayed. Seeding from the clock keeps the sequence increasing across
   * reloads unless a tab sent over 1000 messages per millisecond of its life or the clock went back.
   */
  private counter = Date.now() * 1000;

  /**
   * Direct messages use the pair key, which survives a reload, while the replay window lives in
   * memory. So that a recorded DM cannot be replayed into a reloaded tab, a DM whose authenticated
   * sentAt predates this client's start (less a clock-skew allowance) is rejected: the server only
   * delivers to present sockets, so no honest DM can be that old.
   */
  private readonly startedAt = Date.now();

  nextCounter(): number {
    this.counter += 1;
    return this.counter;
  }

  /** The DM replay rule (see startedAt): sentAt is the sender's authenticated timestamp. */
  isReplayedDirect(sentAt: number): boolean {
    return sentAt < this.startedAt - DM_CLOCK_SKEW_MS;
  }

  /** An epoch's key was dropped: its messages can't decrypt any more, so its window can go too. */
  forgetEpoch(roomId: string, epoch: number): void {
    this.guard.forgetScope(replayScope({ roomId, epoch, to: null }));
  }
}
