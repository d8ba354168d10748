/**
 * Token bucket: `rate` tokens per second, at most `burst` saved up. The server's rate limits, and
 * the BB84 client's copy of its frame and byte buckets (RelayPacer, lib/client/bb84-transport.ts).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = this.now();
  }
  /** Whether `n` tokens are available now, without taking them. */
  peek(n = 1): boolean {
    if (this.rate === Infinity) return true;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    return this.tokens >= n;
  }
  /** Gives back `n` tokens taken by a step that was then refused elsewhere (never above the burst). */
  give(n = 1): void {
    if (this.rate === Infinity) return;
    this.tokens = Math.min(this.burst, this.tokens + n);
  }
  take(n = 1): boolean {
    if (!this.peek(n)) return false;
    if (this.rate !== Infinity) this.tokens -= n;
    return true;
  }
  /** Takes `n` tokens whether or not they are there (the balance may go below zero); whether they were. */
  charge(n = 1): boolean {
    const had = this.peek(n);
    if (this.rate !== Infinity) this.tokens -= n;
    return had;
  }
}
