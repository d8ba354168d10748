/**
 * Every rule against replayed messages, in one place (issue 12 made history persistent, so the
 * same envelope is now legitimately seen again after a reload, through history:fetch):
 *
 * Live traffic (message:received) stays exact:
 *   - the per-session ReplayGuard: counters seen per (sender, scope) in this session, checked by
 *     lib/crypto's decryptMessage after the signature;
 *   - the session-start rule: a live message (room or direct) whose authenticated sentAt predates
 *     this client's start, less a clock-skew allowance, is refused. The server relays live only to
 *     sockets present at send time, so no honest live message is that old; what was sent while we
 *     were away arrives through history, never live. Epoch keys now survive a reload (the
 *     EpochKeyStore), so without this rule a relay could replay an old room message into a new
 *     session;
 *   - the exact session set below: a live message whose (sender, scope, counter) was already seen
 *     in this session under another id is a replay, also inside the skew allowance.
 *
 * Stored history (history:fetch) is verified (signature, room, epoch) and decrypted under the
 * epoch key we held, never through the live ReplayGuard (history is older than its window), and
 * de-duplicated exactly: one message per server id, and one id per (sender, scope, counter): a
 * second envelope claiming a triple already shown under another id is refused as a replay.
 *
 * The counter this client stamps comes from the CounterStore (reserved atomically, shared by the
 * tabs of one identity), so two tabs never stamp the same (sender, scope, counter).
 */
import { ReplayGuard, replayScope } from "@/lib/crypto";
import type { MessageReceived } from "@/lib/protocol";
import type { CounterStore } from "../persist";

/** How far a sender's clock may lag ours before its fresh live messages look replayed. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** What the session set says about an envelope. */
export type SeenVerdict = "new" | "duplicate" | "replay";

export class ReplayPolicy {
  /** Counters seen per (sender, scope) on the live path: per room epoch for room messages, per room for direct ones. */
  readonly guard = new ReplayGuard();

  /** Every (sender, scope, counter) shown in this session, live or from history → the server id it came with. */
  private readonly seen = new Map<string, string>();

  /** This client's start: the session-start rule for live messages (see above). */
  private readonly startedAt: number;

  constructor(
    private readonly userId: string,
    private readonly counters: CounterStore,
    now = Date.now(),
  ) {
    this.startedAt = now;
  }

  /** A counter no other client of this identity sharing the CounterStore has stamped. */
  async nextCounter(): Promise<number> {
    return this.counters.reserve(this.userId, 1);
  }

  /** The session-start rule: sentAt is the sender's authenticated timestamp of a live message. */
  isStaleLive(sentAt: number): boolean {
    return sentAt < this.startedAt - CLOCK_SKEW_MS;
  }

  /** Whether an envelope (already signature-checked) is new, the same message again, or a replay under another id. */
  check(env: Pick<MessageReceived, "id" | "from" | "roomId" | "epoch" | "to" | "counter">): SeenVerdict {
    const id = this.seen.get(tripleOf(env));
    if (id === undefined) return "new";
    return id === env.id ? "duplicate" : "replay";
  }

  /** Records an envelope that was shown (readable), so the same triple under another id is refused. */
  record(env: Pick<MessageReceived, "id" | "from" | "roomId" | "epoch" | "to" | "counter">): void {
    this.seen.set(tripleOf(env), env.id);
  }

  /** An epoch's key was dropped from the live set: its live messages can't decrypt any more, so its window can go too. */
  forgetEpoch(roomId: string, epoch: number): void {
    this.guard.forgetScope(replayScope({ roomId, epoch, to: null }));
  }

  /** We left a room: what we saw there no longer needs remembering. */
  forgetRoom(roomId: string): void {
    for (const k of [...this.seen.keys()]) if ((JSON.parse(k) as string[])[1].startsWith(`${roomId}/`)) this.seen.delete(k);
  }
}

function tripleOf(env: Pick<MessageReceived, "from" | "roomId" | "epoch" | "to" | "counter">): string {
  return JSON.stringify([env.from, replayScope(env), env.counter]);
}
