/**
 * Per-sender lower bounds for the replay guard (message.ts). When the guard evicts a
 * (sender, scope) window to stay within memory, the sender's bound rises to that window's highest
 * counter; a later counter at or below it, in a scope without a window, is rejected as a replay
 * (it may be an old message re-sent by a hostile relay, and the guard can no longer tell).
 * An honest sender's counter is shared by all its scopes and only grows, so its new messages stay
 * above the bound.
 *
 * One number per sender, at most `maxSenders` of them (the oldest bound is dropped past that):
 * reaching it takes that many distinct senders whose signatures verified, each a member the client
 * accepted (at most LIMITS.maxRoomMembers per room, lib/client/member-cap.ts).
 */
export class SenderFloors {
  private readonly floors = new Map<string, number>();
  constructor(private readonly maxSenders: number) {}

  /** True when `counter` is above the sender's bound (or it has none). */
  above(sender: string, counter: number): boolean {
    const f = this.floors.get(sender);
    return f === undefined || counter > f;
  }

  raise(sender: string, highest: number): void {
    const f = this.floors.get(sender);
    if (f !== undefined && f >= highest) return;
    this.floors.delete(sender); // re-insert: Map order = most recently raised last
    this.floors.set(sender, highest);
    while (this.floors.size > this.maxSenders) this.floors.delete(this.floors.keys().next().value as string);
  }

  get size(): number {
    return this.floors.size;
  }
}
