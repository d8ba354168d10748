/**
 * What a command costs, by the work it asks for. Every command takes one token from the socket's
 * command bucket before it is parsed; an expensive read (a database query returning up to `limit`
 * rows) then pays by its rows: one more command token per 100 rows, and its rows from a separate
 * read budget, per socket and per remote address. The flat one-token price let 20 sockets sending
 * `logs:fetch` with limit 500 at 45/s each (within the command limits) delay an honest member's
 * room message by 7.3 s; the read budget caps the rows one address can make the server read.
 * history:fetch has a budget of its own, sized for paging through a 10,000-message room (historyRows).
 */
import type { CommandName } from "@/lib/protocol";
import { LIMITS } from "@/lib/protocol";
import { TokenBucket } from "@/lib/protocol/token-bucket";
import type { QsecSocket } from "./socket-types";
import type { BucketTake } from "./cluster/shared-state";
import { isRedisUnreachable } from "./cluster/redis-state";

export interface ReadLimits {
  readRowsPerSecond: number;
  readRowBurst: number;
  addressReadRowsPerSecond: number;
  addressReadRowBurst: number;
}

export interface HistoryLimits {
  historyRowsPerSecond: number;
  historyRowBurst: number;
  addressHistoryRowsPerSecond: number;
  addressHistoryRowBurst: number;
}

/** The read budget's figures for history:fetch's own budget (ReadBudget is the same mechanism). */
export function historyReadLimits(l: HistoryLimits): ReadLimits {
  return {
    readRowsPerSecond: l.historyRowsPerSecond,
    readRowBurst: l.historyRowBurst,
    addressReadRowsPerSecond: l.addressHistoryRowsPerSecond,
    addressReadRowBurst: l.addressHistoryRowBurst,
  };
}

/** Rows a command may make the server read (0: not an expensive read), charged to Deps.reads. */
export function readRows(name: CommandName, payload: unknown): number {
  const limit = (payload as { limit?: unknown } | null)?.limit;
  if (name === "logs:fetch") return typeof limit === "number" ? limit : LIMITS.defaultLogFetch;
  if (name === "bb84:list") return typeof limit === "number" ? limit : LIMITS.defaultBb84List;
  return 0;
}

/**
 * Rows history:fetch asks for, charged to its own budget (Deps.historyReads) and not to the read
 * budget above: paging through a long history is what the command is for, so it gets a budget
 * sized for that (LIMITS.historyRowBurst) and pays no extra command tokens; a page is bounded by
 * the schema (LIMITS.maxHistoryFetch).
 */
export function historyRows(name: CommandName, payload: unknown): number {
  if (name !== "history:fetch") return 0;
  const limit = (payload as { limit?: unknown } | null)?.limit;
  return typeof limit === "number" ? limit : LIMITS.defaultHistoryFetch;
}

/** Extra command tokens for an expensive read, beyond the one every command pays. */
export function extraCommandTokens(rows: number): number {
  return Math.floor(rows / 100);
}

/**
 * Rows an expensive read may make the server read, per socket and per remote address (Deps.reads).
 *
 * One process: both buckets live here, and take() answers at once. Several nodes (`cluster`): a
 * socket lives on one node, so its bucket stays here; the address's bucket is shared by every
 * node (a Lua token bucket in Redis, `<prefix>rl:<name>:<address>`), so an address that spread
 * its sockets over the nodes still has one budget, and take() answers a promise. While Redis can't
 * be reached the address is charged to this node's own bucket instead (each node then limits it
 * alone, as before), so reads go on during an outage.
 */
export class ReadBudget {
  private readonly perSocket = new WeakMap<QsecSocket, TokenBucket>();
  private readonly perAddress = new Map<string, { bucket: TokenBucket; sockets: number }>();
  constructor(
    private readonly limits: ReadLimits,
    private readonly cluster?: { buckets: SharedBuckets; name: string },
  ) {}

  /** Charges an expensive read to the socket and its address; false when either budget is spent. */
  take(socket: QsecSocket, rows: number): boolean | Promise<boolean> {
    let mine = this.perSocket.get(socket);
    const addr = socket.data.address;
    let shared = this.perAddress.get(addr);
    if (!mine) {
      mine = new TokenBucket(this.limits.readRowsPerSecond, this.limits.readRowBurst);
      this.perSocket.set(socket, mine);
      if (!shared)
        this.perAddress.set(addr, (shared = { bucket: new TokenBucket(this.limits.addressReadRowsPerSecond, this.limits.addressReadRowBurst), sockets: 0 }));
      const entry = shared;
      entry.sockets += 1;
      socket.once("disconnect", () => {
        if (--entry.sockets <= 0 && this.perAddress.get(addr) === entry) this.perAddress.delete(addr);
      });
    }
    const local = shared!.bucket;
    if (this.cluster && this.limits.addressReadRowsPerSecond !== Infinity) {
      // The socket's rows are taken now and given back when the address's shared budget refuses:
      // as below, the address is charged only when the socket has the rows, the socket only when both do.
      if (!mine.take(rows)) return false;
      const socketBucket = mine;
      const bucket: BucketTake = {
        key: `${this.cluster.name}:${addr}`,
        ratePerSecond: this.limits.addressReadRowsPerSecond,
        burst: this.limits.addressReadRowBurst,
        cost: rows,
      };
      return this.cluster.buckets.takeTokens([bucket]).then(
        (refused) => {
          if (refused === -1) return true;
          socketBucket.give(rows);
          return false;
        },
        (e: unknown) => {
          if (!isRedisUnreachable(e)) {
            socketBucket.give(rows);
            throw e;
          }
          if (local.take(rows)) return true;
          socketBucket.give(rows);
          return false;
        },
      );
    }
    // Both must have the rows; the address bucket is only charged when the socket's has them.
    if (!mine.peek(rows) || !local.peek(rows)) return false;
    mine.take(rows);
    local.take(rows);
    return true;
  }
}

/** Token buckets every node shares (RedisState.takeTokens). */
export interface SharedBuckets {
  takeTokens(buckets: BucketTake[]): Promise<number>;
}
