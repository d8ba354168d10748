/**
 * Rate limits on backup look-ups, beside the per-socket command bucket: per remote address (one
 * client opening many sockets) and per backup id (many addresses probing one name). A look-up hands
 * out a blob an attacker can then attack offline, so this slows enumeration of backup names; it
 * cannot slow guessing a passphrase against a blob already fetched (docs/security.md).
 */
import { BACKUP_LIMITS } from "@/lib/protocol";
import { TokenBucket } from "@/lib/protocol/token-bucket";
import type { BucketTake } from "../cluster/shared-state";
import { isRedisUnreachable } from "../cluster/redis-state";
import type { SharedBuckets } from "../cost";

export interface LookupLimits {
  perAddressPerMinute: number;
  perAddressBurst: number;
  perIdPerMinute: number;
  perIdBurst: number;
}

export const DEFAULT_LOOKUP_LIMITS: LookupLimits = {
  perAddressPerMinute: BACKUP_LIMITS.fetchPerAddressPerMinute,
  perAddressBurst: BACKUP_LIMITS.fetchPerAddressBurst,
  perIdPerMinute: BACKUP_LIMITS.fetchPerIdPerMinute,
  perIdBurst: BACKUP_LIMITS.fetchPerIdBurst,
};

/** Buckets kept at most; past it the oldest are dropped (a dropped bucket starts full again). */
const MAX_BUCKETS = 20_000;

/**
 * One process: the buckets live here. Several nodes (`cluster`): both limits are buckets every node
 * shares (Lua token buckets in Redis, `<prefix>rl:backup-addr:<address>` and
 * `<prefix>rl:backup-id:<id>`, taken together or not at all), so spreading look-ups over the nodes
 * gains nothing; while Redis can't be reached this node's own buckets count instead.
 */
export class BackupLookupLimiter {
  private byAddress = new Map<string, TokenBucket>();
  private byId = new Map<string, TokenBucket>();
  constructor(
    private readonly limits: LookupLimits = DEFAULT_LOOKUP_LIMITS,
    private readonly cluster?: SharedBuckets,
  ) {}

  /** "address" or "id" when that limit refuses this look-up (and nothing is taken from the other), else null. */
  async take(address: string, backupId: string): Promise<"address" | "id" | null> {
    if (!this.cluster) return this.takeHere(address, backupId);
    const buckets: BucketTake[] = [
      { key: `backup-addr:${address}`, ratePerSecond: this.limits.perAddressPerMinute / 60, burst: this.limits.perAddressBurst, cost: 1 },
      { key: `backup-id:${backupId}`, ratePerSecond: this.limits.perIdPerMinute / 60, burst: this.limits.perIdBurst, cost: 1 },
    ];
    try {
      const refused = await this.cluster.takeTokens(buckets);
      return refused === 0 ? "address" : refused === 1 ? "id" : null;
    } catch (e) {
      if (isRedisUnreachable(e)) return this.takeHere(address, backupId);
      throw e;
    }
  }

  private takeHere(address: string, backupId: string): "address" | "id" | null {
    const a = this.bucket(this.byAddress, address, this.limits.perAddressPerMinute, this.limits.perAddressBurst);
    const i = this.bucket(this.byId, backupId, this.limits.perIdPerMinute, this.limits.perIdBurst);
    if (!a.peek()) return "address";
    if (!i.peek()) return "id";
    a.take();
    i.take();
    return null;
  }

  private bucket(map: Map<string, TokenBucket>, key: string, perMinute: number, burst: number): TokenBucket {
    let b = map.get(key);
    if (b) {
      map.delete(key); // re-insert: Map order becomes least recently used first
    } else {
      b = new TokenBucket(perMinute / 60, burst);
      if (map.size >= MAX_BUCKETS) map.delete(map.keys().next().value as string);
    }
    map.set(key, b);
    return b;
  }
}
