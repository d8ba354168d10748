/**
 * Socket.IO's Redis streams adapter (@socket.io/redis-streams-adapter) as QSEC's nodes use it
 * (server/app.ts), with two changes:
 *
 * 1. Stored sessions carry no data. A recovered connection authenticates again (its socket.data is
 *    rebuilt on "connection"), and socket.data holds token buckets and Sets, which msgpack cannot
 *    encode (it would throw inside Socket.IO's close handler).
 *
 * 2. A recovered connection also gets the room broadcasts its new node dispatched while the
 *    connection was being admitted. Socket.IO recovers in steps: the adapter's restoreSession reads
 *    the packets missed since the client's offset from the Redis stream (XRANGE to its end), the
 *    socket is made, already in its rooms, and those packets are written to it; then the
 *    middlewares run (QSEC's per-address cap takes a slot in Redis: a round trip, longer on a busy
 *    node); only after them is the socket in `nsp.sockets`, where a broadcast looks for its
 *    recipients. A broadcast the node dispatched in between (read by its XREAD loop, or its own
 *    emit once XADD answered) lies past the end the restore read and skipped the socket: the
 *    member silently missed it (bench:cluster, kill -9 through nginx: 1 of 6 messages sent during
 *    the outage). So such broadcasts are written to the recovered sockets still being admitted,
 *    ahead of the CONNECT packet exactly as Socket.IO writes the missed packets (the client buffers
 *    them until it is connected). A packet the restore already covered (stream offset not above the
 *    newest missed packet's, or the client's own offset) is not written again, so nothing arrives
 *    twice.
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
interface PreConnectSocket {
  id: string;
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

/** How long a restored session's offset is kept for its admission (middlewares time out well before). */
const RESTORED_TTL_MS = 60_000;

export function qsecStreamsAdapter(redisClient: Parameters<typeof createAdapter>[0], opts: StreamsOptions) {
  const make = createAdapter(redisClient, opts);
  return function (nsp: { _preConnectSockets?: Map<string, PreConnectSocket> }) {
    const adapter = make(nsp as never);
    const a = adapter as unknown as AdapterInternals;

    const persist = a.persistSession.bind(a);
    a.persistSession = (session) => persist({ ...session, data: {} });

    // Session pid → the newest stream offset its restore delivered (or the client's offset).
    const restored = new Map<string, { upTo: string; at: number }>();
    const restore = a.restoreSession.bind(a);
    a.restoreSession = async (pid, offset) => {
      const session = await restore(pid, offset);
      let upTo = offset;
      for (const packet of session.missedPackets) {
        const o = packet[packet.length - 1]; // the adapter appends each missed packet's stream offset
        if (typeof o === "string" && compareOffsets(o, upTo) > 0) upTo = o;
      }
      const now = Date.now();
      for (const [k, v] of restored) if (now - v.at > RESTORED_TTL_MS) restored.delete(k);
      restored.set(session.pid ?? pid, { upTo, at: now });
      return session;
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
      if (offset === undefined || restored.size === 0 || !nsp._preConnectSockets?.size) return;
      for (const s of nsp._preConnectSockets.values()) {
        const r = s.recovered && s.pid ? restored.get(s.pid) : undefined;
        if (!r || compareOffsets(offset, r.upTo) <= 0) continue;
        const rooms = [...s.rooms];
        if (o.rooms.size > 0 && !rooms.some((room) => o.rooms.has(room))) continue;
        if (o.except && rooms.some((room) => o.except!.has(room))) continue;
        callback(s);
      }
    };
    return adapter;
  };
}
