/**
 * Caps and budgets that must hold across nodes (issue 11, item 2), each seen from a client placed
 * on a given node: two application instances in this process sharing one fresh PostgreSQL database
 * and one fresh Redis key prefix (the machine's Redis, or for the restart test a redis-server of its
 * own, killed and started again).
 *
 * - BB84's BUSY caps (one session per pair in a room, 4 per member) count every node's sessions.
 * - The read and history row budgets and the key-backup look-up limits are per client address (and
 *   per backup id) across nodes: what an address spent on one node is spent on the other.
 * - After a Redis restart, the nodes count their connections again at once (per identity, per
 *   address), store their rooms again with the connections that closed meanwhile taken out, and
 *   register their running BB84 sessions again; while it is down, reads and look-ups go on.
 */
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { startTestServer, type TestServer } from "../helpers/server";
import { ownRedis, type OwnRedis } from "../helpers/own-redis";
import { until } from "../helpers/waits";

jest.setTimeout(60_000);

let srv: TestServer | null = null;
let redis: OwnRedis | null = null;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await redis?.start(); // a test that failed while its Redis was down: the nodes close through it
  await srv?.close();
  srv = null;
  await redis?.dispose();
  redis = null;
});

async function on(url: string, opts?: Parameters<typeof connectRaw>[1]): Promise<RawClient> {
  const c = await connectRaw(url, opts);
  clients.push(c);
  return c;
}

async function join(c: RawClient, roomId: string, displayName: string, extra: object = {}) {
  expect(await c.call("room:join", { roomId, displayName, ...extra })).toMatchObject({ ok: true });
}

const start = (c: RawClient, roomId: string, peer: RawClient) =>
  c.call("bb84:start", { roomId, peerId: peer.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" }) as Promise<
    { ok: true; data: { id: string } } | { ok: false; error: { code: string; message: string } }
  >;

test("BB84 BUSY caps count every node's sessions: 4 on node A, the 5th from node B is refused; released when one ends", async () => {
  srv = await startTestServer({ nodes: 2, spread: false });
  const [A, B] = srv.nodes.map((n) => n.url);
  const m = await on(A);
  const mOnB = await on(B, { identity: m.identity }); // the same member, a second tab on node B
  const peers = [await on(B), await on(A), await on(B), await on(A), await on(B)];
  await join(m, "busy", "m");
  await join(mOnB, "busy", "m");
  for (const [i, p] of peers.entries()) await join(p, "busy", `p${i + 1}`);

  const ids: string[] = [];
  for (const p of peers.slice(0, 4)) {
    const r = await start(m, "busy", p);
    expect(r).toMatchObject({ ok: true });
    if (r.ok) ids.push(r.data.id);
  }
  // Node B holds none of the four; it still refuses the member's fifth.
  expect(await start(mOnB, "busy", peers[4])).toMatchObject({ ok: false, error: { code: "BUSY", message: "at most 4 sessions at once" } });
  // The peer on node B can't start one with the member either (the member is at the cap).
  expect(await start(peers[4], "busy", m)).toMatchObject({
    ok: false,
    error: { code: "BUSY", message: "that member is running too many sessions; try later" },
  });
  // One session per pair: p1 (node B) with the member, who runs one with p1 on node A.
  expect(await start(peers[0], "busy", m)).toMatchObject({ ok: false, error: { code: "BUSY", message: "a session with this member is already running" } });

  // p1 aborts the first session from node B (its report goes to node A, which ends it): the
  // member is below the cap again, and node B now starts the fifth.
  const report = await peers[0].call("bb84:report", {
    roomId: "busy",
    sessionId: ids[0],
    outcome: "aborted",
    abortCode: "CANCELLED",
    abortReason: "stop",
    abortBy: "self",
  });
  expect(report).toMatchObject({ ok: true, data: { outcome: "aborted" } });
  expect(await start(mOnB, "busy", peers[4])).toMatchObject({ ok: true });
  // And node A sees the session node B holds: the pair is busy, and the member at the cap again.
  expect(await start(m, "busy", peers[4])).toMatchObject({ ok: false, error: { code: "BUSY", message: "a session with this member is already running" } });
  expect(await start(m, "busy", peers[0])).toMatchObject({ ok: false, error: { code: "BUSY", message: "at most 4 sessions at once" } });
});

test("row budgets and backup look-up limits are per client address (and backup id) across nodes", async () => {
  srv = await startTestServer({
    nodes: 2,
    spread: false,
    trustProxy: true,
    // Small address budgets, refilled slowly (a row a second), so one read spends most of one.
    rateLimits: { addressReadRowBurst: 300, addressReadRowsPerSecond: 1, addressHistoryRowBurst: 150, addressHistoryRowsPerSecond: 1 },
    backupLookups: { perAddressBurst: 2, perAddressPerMinute: 1, perIdBurst: 3, perIdPerMinute: 1 },
  });
  const [A, B] = srv.nodes.map((n) => n.url);
  const from = (url: string, ip: string, authenticate = true) => on(url, { authenticate, headers: { "x-forwarded-for": ip } });

  // Reads (logs:fetch, bb84:list): one budget for the address on both nodes.
  const onA = await from(A, "198.51.100.1");
  const onB = await from(B, "198.51.100.1");
  const elsewhere = await from(B, "198.51.100.2");
  await join(onA, "reads", "r0", { history: { days: 7 } });
  await join(onB, "reads", "r1");
  await join(elsewhere, "reads", "r2");
  expect(await onA.call("logs:fetch", { roomId: "reads", limit: 200 })).toMatchObject({ ok: true });
  expect(await onB.call("logs:fetch", { roomId: "reads", limit: 200 })).toMatchObject({
    ok: false,
    error: { code: "RATE_LIMITED", message: "too many rows read; slow down" },
  });
  expect(await onB.call("bb84:list", { roomId: "reads", limit: 100 })).toMatchObject({ ok: true });
  expect(await onA.call("bb84:list", { roomId: "reads", limit: 100 })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
  // Another address has its own.
  expect(await elsewhere.call("logs:fetch", { roomId: "reads", limit: 200 })).toMatchObject({ ok: true });

  // history:fetch's own budget, the same way.
  expect(await onB.call("history:fetch", { roomId: "reads", limit: 100 })).toMatchObject({ ok: true });
  expect(await onA.call("history:fetch", { roomId: "reads", limit: 100 })).toMatchObject({
    ok: false,
    error: { code: "RATE_LIMITED", message: "too much history read; slow down" },
  });
  expect(await elsewhere.call("history:fetch", { roomId: "reads", limit: 100 })).toMatchObject({ ok: true });

  // Backup look-ups per address: two on node A, the third on node B is refused.
  const anonA = await from(A, "198.51.100.3", false);
  const anonB = await from(B, "198.51.100.3", false);
  for (const id of ["1", "2"]) expect(await anonA.call("backup:fetch", { backupId: id.repeat(32) })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
  expect(await anonB.call("backup:fetch", { backupId: "3".repeat(32) })).toMatchObject({
    ok: false,
    error: { code: "RATE_LIMITED", message: expect.stringMatching(/from this address/) },
  });
  // Per backup id, whoever asks: three addresses on alternate nodes, the fourth is refused.
  const id = "a".repeat(32);
  for (const [i, url] of [A, B, A].entries())
    expect(await (await from(url, `198.51.100.${10 + i}`, false)).call("backup:fetch", { backupId: id })).toMatchObject({
      ok: false,
      error: { code: "NO_BACKUP" },
    });
  expect(await (await from(B, "198.51.100.20", false)).call("backup:fetch", { backupId: id })).toMatchObject({
    ok: false,
    error: { code: "RATE_LIMITED", message: expect.stringMatching(/this backup/) },
  });
});

test("after a Redis restart the nodes count their connections again, store their rooms and re-register their BB84 sessions, without clients reconnecting", async () => {
  redis = await ownRedis();
  await redis.start();
  // Every client comes from 127.0.0.1: 11 connections at most for the address, across both nodes.
  srv = await startTestServer({ nodes: 2, spread: false, redisUrl: redis.url, maxConnectionsPerAddress: 11 });
  const [A, B] = srv.nodes.map((n) => n.url);
  // One identity with 8 connections (its cap), the oldest on node A; three members in a room.
  const tabs: RawClient[] = [await on(A)];
  for (let i = 1; i < 8; i++) tabs.push(await on(i % 2 === 0 ? A : B, { identity: tabs[0].identity }));
  const y = await on(A);
  const z = await on(B);
  const w = await on(B); // 11 connections now
  for (const [c, name] of [
    [y, "y"],
    [z, "z"],
    [w, "w"],
  ] as const)
    await join(c, "restart", name);
  const session = await start(y, "restart", w); // held by node A, Bob on node B
  expect(session).toMatchObject({ ok: true });
  const sessionId = session.ok ? session.data.id : "";

  await redis.stop();
  z.close(); // closes while Redis is away: its node can't take it out of the room now
  // Reads and look-ups go on meanwhile, charged to each node's own budgets.
  expect(await y.call("logs:fetch", { roomId: "restart", limit: 10 })).toMatchObject({ ok: true });
  expect(await w.call("bb84:list", { roomId: "restart", limit: 10 })).toMatchObject({ ok: true });
  expect(await w.call("backup:fetch", { backupId: "b".repeat(32) })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
  await new Promise((r) => setTimeout(r, 500));
  await redis.start(); // the same port, empty

  // Node B stored the room again without z: y (node A) is told z went offline, although nobody reconnected.
  const zOnline = () => {
    const updates = (y.received.get("room:updated") ?? []) as { roomId: string; members: { userId: string; online: boolean }[] }[];
    return updates
      .filter((u) => u.roomId === "restart")
      .at(-1)
      ?.members.find((m) => m.userId === z.userId)?.online;
  };
  await until(() => zOnline() === false, 20_000, "z offline at y");
  // Node A is back too (a command that needs Redis passes there).
  for (let i = 0; ; i++) {
    const r = await y.call("room:join", { roomId: "restart-2", displayName: "y" });
    if (r !== "no-ack" && r.ok) break;
    if (i > 100) throw new Error("node A did not get Redis back: " + JSON.stringify(r));
    await new Promise((res) => setTimeout(res, 100));
  }

  // The identity's 9th connection (node B) still replaces its oldest (node A).
  const ninth = await on(B, { identity: tabs[0].identity });
  await until(() => (tabs[0].received.get("session:replaced") ?? []).length === 1 && !tabs[0].socket.connected, 10_000, "the oldest tab replaced");
  expect(tabs.slice(1).every((t) => !t.received.has("session:replaced"))).toBe(true);
  expect(ninth.socket.connected).toBe(true);

  // The address holds 10 connections (8 tabs, y, w): one more, then the cap.
  await on(A, { authenticate: false });
  await expect(connectRaw(B, { authenticate: false })).rejects.toThrow(/TOO_MANY_CONNECTIONS/);

  // The BB84 session registered again: w's frames through node B reach y on node A, and node B
  // knows the pair is busy.
  expect(await w.call("bb84:relay", { roomId: "restart", to: y.userId, sessionId, frame: Buffer.from([1, 2, 3]) })).toMatchObject({ ok: true });
  await until(() => (y.received.get("bb84:frame") ?? []).length === 1, 10_000, "w's frame at y");
  expect(await start(w, "restart", y)).toMatchObject({ ok: false, error: { code: "BUSY", message: "a session with this member is already running" } });
});
