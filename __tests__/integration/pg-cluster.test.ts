/**
 * Two real server processes (server/main.ts, relay only) sharing state through the machine's Redis
 * (a key prefix of their own, deleted afterwards) and one fresh PostgreSQL database: members
 * connected to different nodes chat in one room and see the same members, epochs and leader; the
 * room's capacity, its name check, the per-identity and per-address connection caps hold across
 * the nodes; a BB84 session between parties on different nodes relays frames both ways, and a
 * node killed with SIGKILL has its members go offline on the other node and its session end.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { io as ioClient } from "socket.io-client";
import { generateIdentity, signAuth } from "@/lib/crypto";
import { startAppServer, type AppServer } from "../e2e/helpers/app-server";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { pgAdmin, pgUrlFor } from "../helpers/test-db";
import { until } from "../helpers/waits";
import { startNginx, type TestNginx } from "../helpers/nginx";

const REDIS_URL = process.env.QSEC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const tag = randomBytes(6).toString("hex");
const prefix = `qsec_test_${tag}:`;
const dbName = `qsec_test_${tag}`;
const nodes: AppServer[] = [];
const clients: RawClient[] = [];

async function connect(url: string): Promise<RawClient> {
  const c = await connectRaw(url);
  clients.push(c);
  return c;
}

let env: Record<string, string>;
const balancers: TestNginx[] = [];

beforeAll(async () => {
  await pgAdmin((c) => c.query(`CREATE DATABASE "${dbName}"`));
  env = {
    QSEC_PAGES: "0",
    DATABASE_URL: pgUrlFor(dbName),
    ADMIN_TOKEN: "x".repeat(32),
    QSEC_REDIS_URL: REDIS_URL,
    QSEC_REDIS_PREFIX: prefix,
    QSEC_MAX_CONNECTIONS_PER_ADDRESS: "12",
  };
  // One after the other: the first one up migrates the database.
  nodes.push(await startAppServer({ env: { ...env, QSEC_NODE_ID: "a" } }));
  nodes.push(await startAppServer({ env: { ...env, QSEC_NODE_ID: "b" } }));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const lb of balancers) await lb.stop();
  for (const n of nodes) await n.stop();
  await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
  await redis.quit();
});

type State = { epoch: number; leaderId: string | null; members: { userId: string; online: boolean }[] };
const last = (c: RawClient, ev: string) => (c.received.get(ev) ?? []).at(-1) as State | undefined;
const summary = (s: State | undefined) => s && { epoch: s.epoch, leaderId: s.leaderId, members: s.members.map((m) => `${m.userId}:${m.online}`).sort() };

test("members on two nodes chat in one room and see the same members, epochs and leader; caps hold across nodes", async () => {
  const [a, b] = nodes.map((n) => n.url);
  const alice = await connect(a);
  const bob = await connect(b);
  const carol = await connect(a);

  const j1 = await alice.call("room:join", { roomId: "xnode", displayName: "alice", capacity: 3 });
  expect(j1).toMatchObject({ ok: true, data: { created: true } });
  const j2 = await bob.call("room:join", { roomId: "xnode", displayName: "bob" });
  expect(j2).toMatchObject({ ok: true, data: { created: false } });
  // The name check sees the member on the other node.
  expect(await carol.call("room:join", { roomId: "xnode", displayName: "BOB" })).toMatchObject({ ok: false, error: { code: "NAME_TAKEN" } });
  const j3 = await carol.call("room:join", { roomId: "xnode", displayName: "carol" });
  expect(j3).toMatchObject({ ok: true });
  const epochs = [j1, j2, j3].map((j) => (j as { data: { epoch: number } }).data.epoch);
  expect(epochs[1]).toBe(epochs[0] + 1);
  expect(epochs[2]).toBe(epochs[1] + 1);

  // Capacity 3, counted across nodes.
  const dave = await connect(b);
  expect(await dave.call("room:join", { roomId: "xnode", displayName: "dave" })).toMatchObject({ ok: false, error: { code: "ROOM_FULL" } });

  // Everyone, on either node, ends with the same view.
  await until(() => [alice, bob, carol].every((c) => last(c, "room:updated")?.epoch === epochs[2]), 10_000);
  const views = [alice, bob, carol].map((c) => summary(last(c, "room:updated")));
  expect(views[1]).toEqual(views[0]);
  expect(views[2]).toEqual(views[0]);
  expect(views[0]!.members).toHaveLength(3);
  expect(views[0]!.members.every((m) => m.endsWith(":true"))).toBe(true);

  // A room message from node B reaches both members on node A, once each; the sender gets none.
  const sent = await bob.call("message:send", {
    roomId: "xnode",
    epoch: epochs[2],
    counter: 0,
    iv: "AAAAAAAAAAAAAAAA",
    ciphertext: "QUJDRA",
    signature: "A".repeat(86),
  });
  expect(sent).toMatchObject({ ok: true });
  await until(() => (alice.received.get("message:received") ?? []).length === 1 && (carol.received.get("message:received") ?? []).length === 1, 10_000);
  expect(bob.received.get("message:received")).toBeUndefined();
  // A stale epoch is refused on the other node too.
  expect(
    await alice.call("message:send", {
      roomId: "xnode",
      epoch: epochs[1],
      counter: 0,
      iv: "AAAAAAAAAAAAAAAA",
      ciphertext: "QUJDRA",
      signature: "A".repeat(86),
    }),
  ).toMatchObject({ ok: false, error: { code: "STALE_EPOCH" } });

  // Alice (node A) leaves: bob (node B) and carol (node A) see one new epoch; bob's node took her out.
  expect(await alice.call("room:leave", { roomId: "xnode" })).toMatchObject({ ok: true });
  await until(() => [bob, carol].every((c) => last(c, "room:updated")?.epoch === epochs[2] + 1), 10_000);
  expect(summary(last(bob, "room:updated"))).toEqual(summary(last(carol, "room:updated")));
  expect(
    last(bob, "room:updated")!
      .members.map((m) => m.userId)
      .sort(),
  ).toEqual([bob.userId, carol.userId].sort());
  // Now there is room: dave (node B) joins; the epoch advances once more, seen on node A.
  expect(await dave.call("room:join", { roomId: "xnode", displayName: "dave" })).toMatchObject({ ok: true, data: { epoch: epochs[2] + 2 } });
  await until(() => last(carol, "room:updated")?.epoch === epochs[2] + 2, 10_000);

  // The per-identity cap (8 connections) counts both nodes: a 9th closes the oldest, on the other node.
  const tabs: RawClient[] = [];
  const first = await connectRaw(a, { identity: alice.identity });
  clients.push(first);
  for (let i = 0; i < 7; i++) {
    const t = await connectRaw(i % 2 === 0 ? b : a, { identity: alice.identity });
    clients.push(t);
    tabs.push(t);
  }
  // alice's own first connection counts too: 9 now, so her oldest (the original, on node A) went.
  await until(() => (alice.received.get("session:replaced") ?? []).length === 1, 10_000, "alice replaced");
  const ninth = await connectRaw(b, { identity: alice.identity });
  clients.push(ninth);
  await until(() => (first.received.get("session:replaced") ?? []).length === 1, 10_000, "first replaced");
  expect(tabs.every((t) => !t.received.has("session:replaced"))).toBe(true);
  // A 10th, on node B, replaces the oldest left, tabs[0], on node B too: the node that counted it
  // replaces it itself, by the same path (the notice still arrives before the close).
  const tenth = await connectRaw(b, { identity: alice.identity });
  clients.push(tenth);
  await until(() => (tabs[0].received.get("session:replaced") ?? []).length === 1, 10_000, "tabs[0] replaced");
  expect(tabs.slice(1).every((t) => !t.received.has("session:replaced"))).toBe(true);
  expect([ninth, tenth].every((t) => t.socket.connected && !t.received.has("session:replaced"))).toBe(true);

  // The per-address cap (12 here) counts both nodes: we hold 14 opened, 3 replaced and closed → 11; one more fits, the next is refused.
  await until(() => !alice.socket.connected && !first.socket.connected && !tabs[0].socket.connected, 10_000);
  // The replaced connections' slots come back once their nodes saw them close: one more then fits.
  let extra: RawClient | null = null;
  for (let i = 0; i < 100 && !extra; i++) extra = await connectRaw(b, { authenticate: false }).catch(() => null);
  expect(extra).not.toBeNull();
  clients.push(extra!);
  await expect(connectRaw(a, { authenticate: false })).rejects.toThrow(/TOO_MANY_CONNECTIONS/);
});

/** nginx (deploy/nginx.conf.template) in front of node A, with node B as its backup: who lands where is known. */
async function startBalancer(primary: string, backup: string): Promise<string> {
  const portOf = (u: string) => new URL(u).port;
  const lb = await startNginx([`server 127.0.0.1:${portOf(primary)} max_fails=1 fail_timeout=5s;`, `server 127.0.0.1:${portOf(backup)} backup;`]);
  balancers.push(lb);
  return lb.url;
}

/** Closes the earlier tests' clients and waits until both nodes have released their connection slots (Redis). */
async function closeClients() {
  for (const c of clients.splice(0)) c.close();
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    for (let i = 0; i < 500; i++) {
      const counts = Object.values(await redis.hGetAll(`${prefix}addr:127.0.0.1`)).map(Number);
      if (counts.every((n) => n <= 0)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("connection slots not released");
  } finally {
    await redis.quit();
  }
}

/** A member whose socket reconnects by itself (the raw helper's does not), as a browser's does, recording what it receives. */
async function reconnectingMember(url: string) {
  const identity = await generateIdentity();
  const sock = ioClient(url, { transports: ["websocket"], forceNew: true });
  const got = new Map<string, unknown[]>();
  sock.onAny((ev: string, p: unknown) => got.set(ev, [...(got.get(ev) ?? []), p]));
  const call = (ev: string, p: unknown) =>
    (sock.timeout(5000).emitWithAck(ev, p) as Promise<{ ok: boolean; data?: any; error?: any }>).catch((e: Error) => {
      throw new Error(`${ev}: ${e.message}`);
    });
  const auth = async () => {
    const hello = await call("auth:hello", {});
    const proof = await call("auth:prove", {
      signingKey: identity.signingKey,
      agreementKey: identity.agreementKey,
      agreementSig: identity.agreementSig,
      signature: await signAuth(identity, hello.data.nonce),
    });
    expect(proof).toMatchObject({ ok: true });
  };
  await new Promise<void>((r) => sock.once("connect", () => r()));
  await auth();
  const messages = () => (got.get("message:received") ?? []).map((m) => (m as { id: string }).id);
  return { identity, userId: identity.userId, sock, got, call, auth, messages };
}

const roomMessage = (roomId: string, epoch: number, counter: number) => ({
  roomId,
  epoch,
  counter,
  iv: "AAAAAAAAAAAAAAAA",
  ciphertext: "QUJDRA",
  signature: "A".repeat(86),
});

test("SIGTERM of a node behind nginx: its member reconnects to the other node, recovers its session and gets every message sent meanwhile, once", async () => {
  const [a, b] = nodes.map((n) => n.url);
  await closeClients();
  const lb = await startBalancer(a, b);
  const bob = await connect(b);
  const alice = await reconnectingMember(lb); // through nginx: node A
  try {
    expect(await alice.call("room:join", { roomId: "move", displayName: "alice" })).toMatchObject({ ok: true });
    const joined = await bob.call("room:join", { roomId: "move", displayName: "bob" });
    expect(joined).toMatchObject({ ok: true });
    const epoch = (joined as { data: { epoch: number } }).data.epoch;
    const ids: string[] = [];
    const sent = async (counter: number) => {
      const r = (await bob.call("message:send", roomMessage("move", epoch, counter))) as { ok: boolean; data: { id: string } };
      expect(r.ok).toBe(true);
      ids.push(r.data.id);
    };
    await sent(0);
    await until(() => alice.messages().length === 1, 10_000);

    const stopping = nodes[0].stop();
    await until(() => !alice.sock.connected, 10_000, "alice disconnected");
    // While alice is away: bob (node B) keeps sending.
    await sent(1);
    await sent(2);
    await stopping;
    await until(() => alice.sock.connected, 15_000, "alice back through nginx");
    expect(alice.sock.recovered).toBe(true);
    await until(() => alice.messages().length >= 3, 10_000, "missed messages");
    // Back in the room for good: authenticate, re-join (no new epoch), more messages.
    await alice.auth();
    expect(await alice.call("room:join", { roomId: "move", displayName: "alice" })).toMatchObject({ ok: true, data: { resumed: true, epoch } });
    await sent(3);
    await until(() => alice.messages().length >= 4, 10_000, "the message after the move");
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive right after its original
    expect(alice.messages()).toEqual(ids);
  } finally {
    alice.sock.close();
  }
  // Node A again, for the next test.
  nodes[0] = await startAppServer({ env: { ...env, QSEC_NODE_ID: "a2" } });
});

test("SIGKILL of a node behind nginx while a BB84 session runs across nodes: the session ends (NODE_LOST) on both sides, the member recovers on the other node with what it missed, once, and no new epoch", async () => {
  const [a, b] = nodes.map((n) => n.url);
  await closeClients();
  const lb = await startBalancer(a, b);
  const erin = await connect(b);
  const frank = await reconnectingMember(lb); // node A (nginx's primary)
  try {
    const j = await erin.call("room:join", { roomId: "kill", displayName: "erin" });
    expect(await frank.call("room:join", { roomId: "kill", displayName: "frank" })).toMatchObject({ ok: true });
    const epoch = (j as { data: { epoch: number } }).data.epoch + 1;
    await until(() => last(erin, "room:updated")?.members.length === 2, 10_000);

    // Frank (node A) starts: node A holds the session; erin's frames and report come from node B.
    const started = await frank.call("bb84:start", { roomId: "kill", peerId: erin.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" });
    expect(started).toMatchObject({ ok: true, data: { outcome: "running" } });
    const sessionId = (started as { data: { id: string } }).data.id;
    const frame = new Uint8Array([1, 2, 3, 4]);
    expect(await frank.call("bb84:relay", { roomId: "kill", to: erin.userId, sessionId, frame })).toMatchObject({ ok: true });
    expect(await erin.call("bb84:relay", { roomId: "kill", to: frank.userId, sessionId, frame })).toMatchObject({ ok: true });
    await until(() => (erin.received.get("bb84:frame") ?? []).length === 1 && (frank.got.get("bb84:frame") ?? []).length === 1, 10_000);
    expect(await erin.call("bb84:report", { roomId: "kill", sessionId, outcome: "success", finalLength: 100 })).toMatchObject({
      ok: true,
      data: { id: sessionId, outcome: "running" },
    });
    expect(await erin.call("bb84:relay", { roomId: "kill", to: frank.userId, sessionId: "0".repeat(32), frame })).toMatchObject({
      ok: false,
      error: { code: "UNKNOWN_SESSION" },
    });
    const ids: string[] = [];
    const sent = async (counter: number) => {
      const r = (await erin.call("message:send", roomMessage("kill", epoch, counter))) as { ok: boolean; data: { id: string } };
      expect(r.ok).toBe(true);
      ids.push(r.data.id);
    };
    await sent(0);
    await until(() => frank.messages().length === 1, 10_000);

    await nodes[0].kill();
    await sent(1); // while frank's node is dead
    const ended = (u: unknown) => (u as { id: string }).id === sessionId && (u as { abortCode: string }).abortCode === "NODE_LOST";
    await until(() => (erin.received.get("bb84:updated") ?? []).some(ended), 20_000, "the session's end at erin");
    await until(() => frank.sock.connected, 15_000, "frank back through nginx");
    expect(frank.sock.recovered).toBe(true);
    await until(() => frank.messages().length >= 2, 10_000, "the missed message");
    await until(() => (frank.got.get("bb84:updated") ?? []).some(ended), 10_000, "the session's end at frank");
    await frank.auth();
    expect(await frank.call("room:join", { roomId: "kill", displayName: "frank" })).toMatchObject({ ok: true, data: { resumed: true, epoch } });
    await sent(2);
    await until(() => frank.messages().length >= 3, 10_000, "the message after the move");
    await new Promise((r) => setTimeout(r, 300));
    expect(frank.messages()).toEqual(ids);
    // The dead node's session no longer counts toward the BUSY caps: the pair starts anew, on node B.
    expect(await erin.call("bb84:start", { roomId: "kill", peerId: frank.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })).toMatchObject({
      ok: true,
      data: { outcome: "running" },
    });
    // Erin's node answers her report from the stored row; the epoch never moved.
    expect(await erin.call("bb84:report", { roomId: "kill", sessionId, outcome: "aborted", abortCode: "X", abortReason: "x", abortBy: "peer" })).toMatchObject({
      ok: true,
      data: { outcome: "aborted", abortCode: "NODE_LOST" },
    });
    expect(last(erin, "room:updated")!.epoch).toBe(epoch);
  } finally {
    frank.sock.close();
  }
});
