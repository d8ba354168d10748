/**
 * Redis restarted under two running nodes (issue 11, item 5). The test runs its own redis-server on
 * a free port (never the machine's Redis, which other suites share): while it is down, commands
 * that need shared state answer UNAVAILABLE and new connections are refused with UNAVAILABLE, the
 * nodes keep running; once it is back (empty: no persistence), the nodes recover by themselves:
 * members chat across nodes again and a new member joins and is seen by everyone, with the members
 * who were online on both nodes still in the room.
 */
import { randomBytes } from "node:crypto";
import { startAppServer, type AppServer } from "../e2e/helpers/app-server";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { pgAdmin, pgUrlFor } from "../helpers/test-db";
import { until } from "../helpers/waits";
import { ownRedis, type OwnRedis } from "../helpers/own-redis";

const dbName = `qsec_test_${randomBytes(6).toString("hex")}`;
let redis: OwnRedis;
const nodes: AppServer[] = [];
const clients: RawClient[] = [];

const last = (c: RawClient, ev: string) => (c.received.get(ev) ?? []).at(-1) as { epoch: number; members: { userId: string; online: boolean }[] } | undefined;
const message = (roomId: string, epoch: number, counter: number) => ({
  roomId,
  epoch,
  counter,
  iv: "AAAAAAAAAAAAAAAA",
  ciphertext: "QUJDRA",
  signature: "A".repeat(86),
});

beforeAll(async () => {
  redis = await ownRedis();
  await redis.start();
  await pgAdmin((c) => c.query(`CREATE DATABASE "${dbName}"`));
  const env = {
    QSEC_PAGES: "0",
    DATABASE_URL: pgUrlFor(dbName),
    ADMIN_TOKEN: "x".repeat(32),
    QSEC_REDIS_URL: redis.url,
    QSEC_REDIS_PREFIX: "qsec_restart:",
  };
  nodes.push(await startAppServer({ env: { ...env, QSEC_NODE_ID: "a" } }));
  nodes.push(await startAppServer({ env: { ...env, QSEC_NODE_ID: "b" } }));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop();
  await redis?.dispose();
  await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
});

async function connect(url: string): Promise<RawClient> {
  const c = await connectRaw(url);
  clients.push(c);
  return c;
}

test("Redis restarted under two nodes: UNAVAILABLE while it is down, no node crashes, and chat across nodes resumes by itself", async () => {
  const [a, b] = nodes.map((n) => n.url);
  const alice = await connect(a);
  const bob = await connect(b);
  const carol = await connect(b); // connected before the outage, joins during and after it
  expect(await alice.call("room:join", { roomId: "outage", displayName: "alice" })).toMatchObject({ ok: true });
  const j = await bob.call("room:join", { roomId: "outage", displayName: "bob" });
  expect(j).toMatchObject({ ok: true });
  const epoch = (j as { data: { epoch: number } }).data.epoch;
  expect(await bob.call("message:send", message("outage", epoch, 0))).toMatchObject({ ok: true });
  await until(() => (alice.received.get("message:received") ?? []).length === 1, 10_000, "a message before the outage");

  await redis.stop();
  // Commands that need the shared state: a clear UNAVAILABLE, soon (no 10 s lock wait).
  const t0 = Date.now();
  expect(await carol.call("room:join", { roomId: "outage", displayName: "carol" })).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
  expect(await alice.call("room:join", { roomId: "elsewhere", displayName: "alice" })).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
  expect(Date.now() - t0).toBeLessThan(8000);
  // A new connection can't take its slot in the per-address count: refused, UNAVAILABLE.
  await expect(connectRaw(a, { authenticate: false })).rejects.toThrow(/UNAVAILABLE/);
  // The nodes stay up: their processes run and answer /healthz; the members' connections stay open.
  for (const n of nodes) expect((await fetch(`${n.url}/healthz`)).status).toBe(200);
  expect([alice, bob, carol].every((c) => c.socket.connected)).toBe(true);
  // Across a few reconnect attempts of the nodes' Redis clients.
  await new Promise((r) => setTimeout(r, 1500));
  for (const n of nodes) expect(n.output()).not.toMatch(/uncaught|unhandled/i);

  await redis.start(); // same port, empty
  // The members chat again, across nodes, without any restart: bob (node B) → alice (node A).
  const after = Date.now() + 20_000;
  for (let counter = 1; (alice.received.get("message:received") ?? []).length < 2; counter++) {
    if (Date.now() > after) throw new Error("no message reached alice after the outage");
    expect(await bob.call("message:send", message("outage", epoch, counter))).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 300));
  }
  // Carol joins now (retrying while the nodes reconnect): a new epoch that everyone sees, with
  // alice and bob, online on their two nodes, still in the room (the lost snapshot was rebuilt
  // from the nodes' copies, not from the database alone).
  let joined: unknown;
  for (let i = 0; i < 50; i++) {
    joined = await carol.call("room:join", { roomId: "outage", displayName: "carol" });
    if ((joined as { ok: boolean }).ok) break;
    expect(joined).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(joined).toMatchObject({ ok: true, data: { epoch: epoch + 1 } });
  await until(() => [alice, bob, carol].every((c) => last(c, "room:updated")?.epoch === epoch + 1), 10_000, "the new epoch everywhere");
  for (const c of [alice, bob, carol]) {
    const members = last(c, "room:updated")!.members;
    expect(members.map((m) => `${m.userId}:${m.online}`).sort()).toEqual([alice, bob, carol].map((x) => `${x.userId}:true`).sort());
  }
  // And a message in the new epoch reaches both other members, on both nodes.
  expect(await carol.call("message:send", message("outage", epoch + 1, 0))).toMatchObject({ ok: true });
  await until(
    () => (alice.received.get("message:received") ?? []).some((m) => (m as { epoch: number }).epoch === epoch + 1),
    10_000,
    "carol's message at alice",
  );
  await until(() => (bob.received.get("message:received") ?? []).some((m) => (m as { epoch: number }).epoch === epoch + 1), 10_000, "carol's message at bob");
});
