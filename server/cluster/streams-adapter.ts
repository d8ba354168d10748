/**
 * Socket.IO's Redis streams adapter (@socket.io/redis-streams-adapter) as QSEC's nodes use it
 * (server/app.ts), with two changes:
 *
 * 1. Stored sessions carry no data. A recovered connection authenticates again (its socket.data is
 *    rebuilt on "connection"), and socket.data holds token buckets and Sets, which msgpack cannot
 *    encode (it would throw inside Socket.IO's close handler).
 *
 * 2. A recovered connection also gets the room broadcasts its new node dispatched while restoring
 *    and admitting it. Socket.IO recovers in steps: the adapter's restoreSession reads the packets
 *    missed since the client's offset from the Redis stream (XRANGE to its end), the socket is made,
 *    already in its rooms, and those packets are written to it; then the middlewares run (QSEC's
 *    per-address cap takes a slot in Redis: a round trip, longer on a busy node); only after them is
 *    the socket in `nsp.sockets`, where a broadcast looks for its recipients. A broadcast the node
 *    dispatched in between (read by its XREAD loop, or its own emit once XADD answered; that answer's
 *    continuation can even run before the socket is made, in the same tick as the restore's last
 *    XRANGE) lies past the end the restore read and skipped the socket: the member silently missed
 *    it (bench:cluster, kill -9 through nginx: 1 of 6 messages sent during the outage). So while a
 *    restore is in progress the node keeps the broadcasts it dispatches (with their stream offsets),
 *    and when the recovered connection is admitted ("connection", before anything later can be
 *    dispatched to it) it is given, in order, those past the newest offset the restore delivered
 *    (or the client's own offset) that its rooms would have received. Nothing twice: what the
 *    restore delivered is at or below that offset, and what comes after admission is live.
 */
import { createAdapter } from "@socket.io/redis-streams-adapter";

type StreamsOptions = NonNullable<Parameters<typeof createAdapter>[1]>;

/** Stream entry ids ("<ms>-<seq>"), compared as Redis orders them. */
export function compareOffsets(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
}

interface SessionLike {
  pid: string;
  missedPackets: unknown[][];
}
interface RecoveredSocket {
  pid?: string;
  recovered: boolean;
  rooms: Set<string>;
}
interface BroadcastOpts {
  rooms: Set<string>;
  except?: Set<string>;
}
interface AdapterInternals {
  persistSession(session: { data?: unknown }): void;
  restoreSession(pid: string, offset: string): Promise<SessionLike>;
  addOffsetIfNecessary(packet: unknown, opts: unknown, offset: string): void;
  apply(opts: BroadcastOpts, callback: (socket: unknown) => void): void;
}
/** A broadcast dispatched while a restore was in progress: its offset, audience and the write it made. */
interface Dispatched {
  offset: string;
  rooms: Set<string>;
  except?: Set<string>;
  deliver: (socket: unknown) => void;
}

/** How long a restore may take to be admitted (middlewares time out well before). */
const RESTORE_TTL_MS = 20_000;
/** Broadcasts kept while restores are in progress, at most (the oldest go first). */
const MAX_KEPT = 10_000;

export function qsecStreamsAdapter(redisClient: Parameters<typeof createAdapter>[0], opts: StreamsOptions) {
  const make = createAdapter(redisClient, opts);
  return function (nsp: { on(event: "connection", fn: (socket: RecoveredSocket) => void): void }) {
    const adapter = make(nsp as never);
    const a = adapter as unknown as AdapterInternals;

    const persist = a.persistSession.bind(a);
    a.persistSession = (session) => persist({ ...session, data: {} });

    // Restores in progress, by session pid: when each began, and once read, the newest stream offset
    // it delivered (or the client's offset). While any is pending, dispatched broadcasts are kept.
    const restoring = new Map<string, { since: number; upTo?: string }>();
    let kept: { at: number; d: Dispatched }[] = [];
    const prune = (now: number) => {
      for (const [pid, r] of restoring) if (now - r.since > RESTORE_TTL_MS) restoring.delete(pid);
      if (restoring.size === 0) kept = [];
      else {
        const oldest = Math.min(...[...restoring.values()].map((r) => r.since));
        if (kept.length && kept[0].at < oldest) kept = kept.filter((k) => k.at >= oldest);
      }
    };

    const restore = a.restoreSession.bind(a);
    a.restoreSession = async (pid, offset) => {
      const now = Date.now();
      prune(now);
      // From before the restore reads the stream: a broadcast dispatched from here on may be past its end.
      restoring.set(pid, { since: now });
      try {
        const session = await restore(pid, offset);
        let upTo = offset;
        for (const packet of session.missedPackets) {
          const o = packet[packet.length - 1]; // the adapter appends each missed packet's stream offset
          if (typeof o === "string" && compareOffsets(o, upTo) > 0) upTo = o;
        }
        restoring.set(pid, { since: now, upTo });
        return session;
      } catch (e) {
        restoring.delete(pid);
        prune(Date.now());
        throw e;
      }
    };

    // The stream offset of the broadcast being dispatched: set right before the in-memory
    // broadcast's apply() runs, in the same synchronous step (ClusterAdapter.onMessage and broadcast).
    let dispatching: string | undefined;
    const addOffset = a.addOffsetIfNecessary.bind(a);
    a.addOffsetIfNecessary = (packet, o, offset) => {
      dispatching = offset;
      addOffset(packet, o, offset);
    };
    const apply = a.apply.bind(a);
    a.apply = (o, callback) => {
      const offset = dispatching;
      dispatching = undefined;
      apply(o, callback);
      if (offset === undefined || restoring.size === 0) return;
      kept.push({ at: Date.now(), d: { offset, rooms: o.rooms, except: o.except, deliver: callback } });
      if (kept.length > MAX_KEPT) kept.shift();
    };

    nsp.on("connection", (socket) => {
      const r = socket.recovered && socket.pid ? restoring.get(socket.pid) : undefined;
      if (!r) return;
      restoring.delete(socket.pid!);
      if (r.upTo !== undefined) {
        const rooms = [...socket.rooms];
        for (const { d } of kept) {
          if (compareOffsets(d.offset, r.upTo) <= 0) continue;
          if (d.rooms.size > 0 && !rooms.some((room) => d.rooms.has(room))) continue;
          if (d.except && rooms.some((room) => d.except!.has(room))) continue;
          d.deliver(socket);
        }
      }
      prune(Date.now());
    });
    return adapter;
  };
}
