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
import { TokenBucket } from "./rate-limit";
import type { QsecSocket } from "./socket-types";

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

/** Rows an expensive read may make the server read, per socket and per remote address (Deps.reads). */
export class ReadBudget {
  private readonly perSocket = new WeakMap<QsecSocket, TokenBucket>();
  private readonly perAddress = new Map<string, { bucket: TokenBucket; sockets: number }>();
  constructor(private readonly limits: ReadLimits) {}

  /** Charges an expensive read to the socket and its address; false when either budget is spent. */
  take(socket: QsecSocket, rows: number): boolean {
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
    // Both must have the rows; the address bucket is only charged when the socket's has them.
    if (!mine.peek(rows) || !shared!.bucket.peek(rows)) return false;
    mine.take(rows);
    shared!.bucket.take(rows);
    return true;
  }
}
