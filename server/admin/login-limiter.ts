/**
 * Failed-login limiter, per remote address: after `maxFailures` failures within `windowMs` the
 * address must wait until the oldest failure leaves the window (the login answers 429 with
 * Retry-After). A success clears the address's record. The map is pruned so a spray of addresses
 * cannot grow it without bound.
 */
/** What the login route asks (LoginLimiter in one process; RedisLoginLimiter across nodes). */
export interface LoginLimits {
  retryAfter(addr: string): number | null | Promise<number | null>;
  fail(addr: string): void | Promise<void>;
  succeed(addr: string): void | Promise<void>;
}

export class LoginLimiter implements LoginLimits {
  private failures = new Map<string, number[]>();

  constructor(
    readonly maxFailures = 5,
    readonly windowMs = 15 * 60_000,
    private readonly now = () => Date.now(),
  ) {}

  /** null when the address may try; otherwise the seconds until it may. */
  retryAfter(addr: string): number | null {
    const list = this.recent(addr);
    if (list.length < this.maxFailures) return null;
    return Math.max(1, Math.ceil((list[0] + this.windowMs - this.now()) / 1000));
  }

  fail(addr: string): void {
    const list = this.recent(addr);
    list.push(this.now());
    this.failures.set(addr, list);
    if (this.failures.size > 10_000) this.prune();
  }

  succeed(addr: string): void {
    this.failures.delete(addr);
  }

  private recent(addr: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.failures.get(addr) ?? []).filter((t) => t > cutoff);
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [a, list] of this.failures) if (!list.some((t) => t > cutoff)) this.failures.delete(a);
  }
}
