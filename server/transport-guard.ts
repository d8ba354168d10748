/**
 * Per-address connection limits, counted where transport connections really open and close (the
 * engine.io connection and its "close" event, which always fires), not in Socket.IO middleware:
 * a connect and a close in one polling payload used to bump a middleware counter whose matching
 * "disconnect" never fired, and ~130 such requests locked the address out until restart.
 *
 * Two kinds of transport connection are counted per remote address:
 * - admitted: it has a socket on the main namespace (passed this guard's middleware). At most
 *   `maxConnectionsPerAddress`; one more is refused with connect_error "TOO_MANY_CONNECTIONS"
 *   and its transport closed.
 * - pending: open at the engine level but not (or no longer) admitted — a handshake that never
 *   sent CONNECT, a raw WebSocket, an admin-namespace connection. Refused at the handshake
 *   (`allowRequest`, HTTP 403) past `maxPendingPerAddress` per address or `maxPendingTotal` in all,
 *   and closed by Socket.IO's connect timeout (`LIMITS.connectTimeoutMs`) if no namespace is joined.
 */
import type { IncomingMessage } from "node:http";
import type { QsecServer } from "./socket-types";
import type { SharedState } from "./cluster/shared-state";
import type { RedisState } from "./cluster/redis-state";

/**
 * The client's address: the peer's, or behind a trusted load balancer (QSEC_TRUST_PROXY) the last
 * X-Forwarded-For entry, the one the balancer itself appended (earlier entries are the client's word).
 */
export function clientAddress(req: Pick<IncomingMessage, "headers" | "socket"> | undefined, peer: string | undefined, trustProxy: boolean): string {
  if (trustProxy && req) {
    const xff = req.headers["x-forwarded-for"];
    const last = (Array.isArray(xff) ? xff.join(",") : (xff ?? "")).split(",").pop()?.trim();
    if (last) return last;
  }
  return peer ?? req?.socket?.remoteAddress ?? "unknown";
}

export interface TransportLimits {
  maxConnectionsPerAddress: number;
  maxPendingPerAddress: number;
  maxPendingTotal: number;
  /** A transport that has joined no namespace by then is discarded. Socket.IO's own connect
   *  timeout must be longer: its orderly close lets a polling transport linger 30 s. */
  connectTimeoutMs: number;
}

type AllowRequest = (req: IncomingMessage, fn: (err: string | null | undefined, success: boolean) => void) => void;

interface EngineConn {
  remoteAddress: string;
  request?: IncomingMessage;
  readyState: string;
  once(ev: "close", fn: () => void): void;
  close(discard?: boolean): void;
}

interface Entry {
  addr: string;
  admitted: boolean;
  /** Joined some namespace (the main one or /admin). */
  joined: boolean;
}

interface AddressCount {
  open: number;
  admitted: number;
  conns: Set<EngineConn>;
}

export class TransportGuard {
  private readonly conns = new Map<EngineConn, Entry>();
  private readonly byAddress = new Map<string, AddressCount>();
  private pendingTotal = 0;
  /** Several nodes: slots this node holds in the shared per-address count (Redis), per address. */
  private readonly sharedSlots = new Map<string, number>();
  /** Addresses whose release Redis missed (it was away): their field is set again on the next restoreShared(). */
  private readonly unsynced = new Set<string>();

  constructor(
    private readonly limits: TransportLimits,
    /** Several nodes: the per-address cap also holds across them (Redis); and whether to trust X-Forwarded-For. */
    private readonly cluster: { shared?: SharedState; trustProxy?: boolean } = {},
  ) {}

  /** Open transport connections of an address (admitted and pending); for tests and the abuse bench. */
  count(addr: string): { open: number; admitted: number } {
    const c = this.byAddress.get(addr);
    return { open: c?.open ?? 0, admitted: c?.admitted ?? 0 };
  }

  /** Every open transport connection from the same address as this one (itself included). */
  sameAddress(conn: object): Iterable<object> {
    const entry = this.conns.get(conn as EngineConn);
    return entry ? (this.byAddress.get(entry.addr)?.conns ?? []) : [];
  }

  /**
   * Several nodes, Redis back after an outage (a restart forgets the counts): this node's field of
   * each address's shared count is set again to the slots it holds, so the cap counts the
   * connections opened before the restart at once, not when they reconnect. Sent synchronously
   * (RedisState.onReconnect), before any new connection of this node can take a slot.
   */
  restoreShared(): Promise<void> {
    const shared = this.cluster.shared;
    if (!shared || shared.kind !== "redis") return Promise.resolve();
    const counts = new Map(this.sharedSlots);
    for (const addr of this.unsynced) if (!counts.has(addr)) counts.set(addr, 0); // its field goes
    this.unsynced.clear();
    return (shared as RedisState).restoreAddresses(counts);
  }

  private release(shared: SharedState, addr: string) {
    shared.releaseAddress(addr).catch(() => this.unsynced.add(addr));
  }

  private slot(addr: string, delta: 1 | -1) {
    const n = (this.sharedSlots.get(addr) ?? 0) + delta;
    if (n > 0) this.sharedSlots.set(addr, n);
    else this.sharedSlots.delete(addr);
  }

  /** engine.io's allowRequest, run for every new handshake (never for requests of an open session). */
  allowRequest(next?: AllowRequest): AllowRequest {
    return (req, fn) => {
      const addr = clientAddress(req, req.socket.remoteAddress, this.cluster.trustProxy ?? false);
      const c = this.byAddress.get(addr);
      const pending = c ? c.open - c.admitted : 0;
      if (pending >= this.limits.maxPendingPerAddress || this.pendingTotal >= this.limits.maxPendingTotal) return fn("TOO_MANY_CONNECTIONS", false);
      if (c && c.open >= this.limits.maxConnectionsPerAddress + this.limits.maxPendingPerAddress) return fn("TOO_MANY_CONNECTIONS", false);
      if (next) return next(req, fn);
      fn(null, true);
    };
  }

  attach(io: QsecServer): void {
    io.engine.on("connection", (conn: EngineConn) => {
      const addr = clientAddress(conn.request, conn.remoteAddress, this.cluster.trustProxy ?? false);
      const entry: Entry = { addr, admitted: false, joined: false };
      const timer = setTimeout(() => {
        if (!entry.joined && this.conns.has(conn)) conn.close(true);
      }, this.limits.connectTimeoutMs);
      timer.unref();
      this.conns.set(conn, entry);
      const c = this.byAddress.get(addr) ?? { open: 0, admitted: 0, conns: new Set<EngineConn>() };
      c.open += 1;
      c.conns.add(conn);
      this.byAddress.set(addr, c);
      this.pendingTotal += 1;
      conn.once("close", () => {
        clearTimeout(timer);
        this.conns.delete(conn);
        if (entry.admitted) c.admitted -= 1;
        else this.pendingTotal -= 1;
        c.open -= 1;
        c.conns.delete(conn);
        if (c.open <= 0) this.byAddress.delete(addr);
      });
    });

    const joined = (socket: { conn: unknown }) => {
      const entry = this.conns.get(socket.conn as EngineConn);
      if (entry) entry.joined = true;
    };
    io.on("connection", joined);
    io.on("new_namespace", (nsp) => nsp.on("connection", joined));

    io.use((socket, next) => {
      const conn = socket.conn as unknown as EngineConn;
      const entry = this.conns.get(conn);
      if (!entry || conn.readyState !== "open") return next(new Error("connection closed"));
      const c = this.byAddress.get(entry.addr)!;
      // One main-namespace socket per transport connection: several CONNECT packets sent before
      // the first completes would otherwise each get a socket, outside the per-address cap.
      if (entry.admitted || c.admitted >= this.limits.maxConnectionsPerAddress) {
        next(new Error("TOO_MANY_CONNECTIONS"));
        // After the CONNECT_ERROR packet is queued (next() answers on the next tick).
        if (!entry.admitted) setImmediate(() => conn.close());
        return;
      }
      entry.admitted = true;
      c.admitted += 1;
      this.pendingTotal -= 1;
      let sharedSlot = false;
      socket.once("disconnect", () => {
        if (sharedSlot) {
          // Counted here at once; if Redis misses the release, the next restoreShared() corrects it.
          this.slot(entry.addr, -1);
          this.release(shared!, entry.addr);
        }
        sharedSlot = false;
        if (!entry.admitted || !this.conns.has(conn)) return; // the transport's close already counted it
        entry.admitted = false;
        c.admitted -= 1;
        this.pendingTotal += 1;
      });
      const shared = this.cluster.shared;
      if (!shared || shared.kind === "memory") return next();
      // Several nodes: the address's connections on every live node count (a Lua script in Redis).
      shared.reserveAddress(entry.addr, this.limits.maxConnectionsPerAddress).then(
        (ok) => {
          if (ok && conn.readyState === "open") {
            sharedSlot = true;
            this.slot(entry.addr, 1);
            return next();
          }
          if (ok) this.release(shared, entry.addr);
          next(new Error(ok ? "connection closed" : "TOO_MANY_CONNECTIONS"));
          setImmediate(() => conn.close());
        },
        () => {
          next(new Error("UNAVAILABLE"));
          setImmediate(() => conn.close());
        },
      );
    });
  }
}
