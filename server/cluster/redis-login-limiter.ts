/**
 * The admin login limiter across nodes (server/admin/login-limiter.ts is the one-process form, same
 * rule): per client address, a sorted set of failure times in Redis (<prefix>login:<address>), so
 * failures on every node count toward one limit and a success on any node clears it.
 */
import { randomBytes } from "node:crypto";
import type { LoginLimits } from "../admin/login-limiter";
import type { RedisState } from "./redis-state";

export class RedisLoginLimiter implements LoginLimits {
  constructor(
    private readonly redis: RedisState,
    readonly maxFailures = 5,
    readonly windowMs = 15 * 60_000,
  ) {}

  private key(addr: string) {
    return this.redis.key("login", addr);
  }

  async retryAfter(addr: string): Promise<number | null> {
    const now = Date.now();
    const key = this.key(addr);
    const [, count, oldest] = (await this.redis.client
      .multi()
      .zRemRangeByScore(key, "-inf", now - this.windowMs)
      .zCard(key)
      .zRangeWithScores(key, 0, 0)
      .exec()) as unknown as [number, number, { score: number }[]];
    if (count < this.maxFailures) return null;
    return Math.max(1, Math.ceil(((oldest[0]?.score ?? now) + this.windowMs - now) / 1000));
  }

  async fail(addr: string): Promise<void> {
    const now = Date.now();
    const key = this.key(addr);
    await this.redis.client
      .multi()
      .zAdd(key, { score: now, value: `${now}-${randomBytes(6).toString("hex")}` })
      .pExpire(key, this.windowMs)
      .exec();
  }

  async succeed(addr: string): Promise<void> {
    await this.redis.client.del(this.key(addr));
  }
}
