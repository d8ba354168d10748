/**
 * Connection-state recovery on another node loses nothing dispatched while the connection is being
 * admitted (server/cluster/streams-adapter.ts). Two real Socket.IO servers in this process share the
 * machine's Redis (a key prefix of their own) through QSEC's streams adapter. A client of node A
 * that got a room broadcast drops away; its session is stored ahead, as QSEC's nodes do (so a node
 * killed outright can be recovered from). It comes back on node B, whose admission of recovered
 * connections takes 600 ms here: a middleware standing in for QSEC's per-address slot, a Redis round
 * trip that a busy node stretches. Room broadcasts made meanwhile, on B itself and on A, must reach
 * it once each, in order, after what it missed while away. Before the fix they were lost: the
 * restore had read the stream already, and broadcasts only looked at admitted sockets (bench:cluster
 * lost 1 message in 6 after kill -9 this way).
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type RedisClientType } from "redis";
import { Server } from "socket.io";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { qsecStreamsAdapter } from "@/server/cluster/streams-adapter";
import { until } from "../helpers/waits";

const REDIS_URL = process.env.QSEC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `qsec_test_${randomBytes(6).toString("hex")}:`;

interface Node {
  io: Server;
  url: string;
  http: HttpServer;
  redis: RedisClientType;
}
const nodes: Node[] = [];
const clients: ClientSocket[] = [];

/**
 * A node; the two windows a broadcast could fall into, stretched: `admitMs`, how long its middleware
 * holds a recovered connection (as QSEC's Redis round trip for the per-address slot does), and
 * `afterRestoreMs`, a pause between the adapter's restore (the stream read) and the socket being made
 * (as when a local emit's XADD answer runs its continuation first); `restored` is called at its start.
 */
async function startNode(opts: { admitMs?: number; afterRestoreMs?: number; restored?: () => void } = {}): Promise<Node> {
  const redis = createClient({ url: REDIS_URL }) as RedisClientType;
  await redis.connect();
  const http = createServer();
  const io = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: false } });
  io.adapter(
    // A short blocking read, so the stream readers stop soon after the servers close.
    qsecStreamsAdapter(redis, {
      streamName: `${prefix}sio`,
      channelPrefix: `${prefix}sio`,
      sessionKeyPrefix: `${prefix}sio:session:`,
      blockTimeInMs: 200,
    }) as unknown as Parameters<Server["adapter"]>[0],
  );
  if (opts.afterRestoreMs) {
    const adapter = io.of("/").adapter as unknown as { restoreSession(pid: string, offset: string): Promise<unknown> };
    const restore = adapter.restoreSession.bind(adapter);
    adapter.restoreSession = async (pid, offset) => {
      const session = await restore(pid, offset);
      opts.restored?.();
      await new Promise((r) => setTimeout(r, opts.afterRestoreMs));
      return session;
    };
  }
  io.use((socket, next) => {
    if (socket.recovered && opts.admitMs) setTimeout(next, opts.admitMs);
    else next();
  });
  io.on("connection", (socket) => {
    if (!socket.recovered) void socket.join("room");
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const node = { io, http, redis, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
  nodes.push(node);
  return node;
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.io.close();
  const redis = nodes[0]?.redis;
  if (redis) for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
  for (const n of nodes) await n.redis.quit().catch(() => undefined);
});

/** A client; with `session`, one coming back with a dropped connection's session id and offset, as socket.io-client does when it reconnects. */
function client(url: string, session?: { pid: string; offset: string }) {
  const c = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false, autoConnect: false });
  if (session) Object.assign(c, { _pid: session.pid, _lastOffset: session.offset });
  clients.push(c);
  const got: number[] = [];
  c.on("m", (n: number) => got.push(n));
  c.connect();
  return { c, got };
}

/**
 * A member of node A's room drops away and comes back on node B (recovered); while B restores and
 * admits it (`inWindow` resolves), B and A broadcast to the room: it gets what it missed while away,
 * those two, then a live one, once each.
 */
async function comeBackOnB(a: Node, b: Node, inWindow: (sid: string) => Promise<void>) {
  const first = client(a.url);
  await until(() => first.c.connected, 10_000, "connected to A");
  const sid = first.c.id!;
  await until(() => a.io.of("/").adapter.rooms.get("room")?.has(sid) === true, 10_000, "in the room");
  // Stored ahead, as QSEC's nodes do at connect and on every room change.
  const serverSocket = a.io.of("/").sockets.get(sid)!;
  (a.io.of("/").adapter as unknown as { persistSession(s: object): void }).persistSession({
    sid,
    pid: (serverSocket as unknown as { pid: string }).pid,
    rooms: [...serverSocket.rooms],
    data: {},
  });
  b.io.to("room").emit("m", 0);
  await until(() => first.got.length === 1, 10_000, "the first broadcast");
  const { _pid: pid, _lastOffset: offset } = first.c as unknown as { _pid: string; _lastOffset: string };
  expect(typeof pid).toBe("string");
  expect(typeof offset).toBe("string");
  first.c.disconnect(); // gone without its node storing anything more (as with kill -9)
  await until(() => !a.io.of("/").sockets.has(sid), 10_000, "gone from A");

  a.io.to("room").emit("m", 1); // missed while away: the restore reads it from the stream

  // Back, on node B.
  const back = client(b.url, { pid, offset });
  await inWindow(sid);
  b.io.to("room").emit("m", 2); // from B itself (dispatched once XADD answers)
  a.io.to("room").emit("m", 3); // from A (dispatched by B's stream reader)
  await until(() => back.c.connected, 10_000, "admitted on B");
  expect(back.c.recovered).toBe(true);
  expect(back.c.id).toBe(sid);

  b.io.to("room").emit("m", 4); // live
  await until(() => back.got.length >= 4, 10_000, "four broadcasts");
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would come right after
  // What it missed first, the live one last; 2 and 3 went through Redis on two connections, so either order.
  expect(back.got).toHaveLength(4);
  expect(back.got[0]).toBe(1);
  expect(back.got[3]).toBe(4);
  expect([...back.got].sort()).toEqual([1, 2, 3, 4]);
}

test("a connection recovered on another node gets the room broadcasts dispatched while it was being admitted, once each, in order", async () => {
  const a = await startNode();
  const b = await startNode({ admitMs: 600 });
  const admitting = (b.io.of("/") as unknown as { _preConnectSockets: Map<string, unknown> })._preConnectSockets;
  await comeBackOnB(a, b, (sid) => until(() => admitting.has(sid), 10_000, "restored on B, being admitted"));
});

test("…and those dispatched after the restore read the stream but before the socket was made", async () => {
  let restored = false;
  const a = await startNode();
  const b = await startNode({ afterRestoreMs: 600, restored: () => (restored = true) });
  await comeBackOnB(a, b, () => until(() => restored, 10_000, "restored on B, socket not made yet"));
});
