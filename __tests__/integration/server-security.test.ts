/**
 * The relay against hostile clients: every refused attempt answers with its code, nothing is
 * relayed, and the server keeps serving honest clients afterwards.
 */
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { sleep, until } from "../helpers/waits";
import { startTestServer, type TestServer } from "../helpers/server";
import { b64 } from "../helpers/bytes";
import { COMMAND_NAMES, LIMITS } from "@/lib/protocol";

let srv: TestServer;
const clients: RawClient[] = [];
async function client(opts?: Parameters<typeof connectRaw>[1]) {
  const c = await connectRaw(srv.url, opts);
  clients.push(c);
  return c;
}
async function join(c: RawClient, roomId: string, displayName: string, extra: Record<string, unknown> = {}) {
  const r = await c.call("room:join", { roomId, displayName, ...extra });
  if (r === "no-ack" || !r.ok) throw new Error("join failed " + JSON.stringify(r));
  return r.data;
}
const msg = (roomId: string, epoch: number, extra: Record<string, unknown> = {}) => ({
  roomId,
  epoch,
  counter: 1,
  iv: b64(12),
  ciphertext: b64(40),
  signature: b64(64),
  ...extra,
});

beforeEach(async () => {
  srv = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv.close();
});

async function serverStillServes() {
  const probe = await client();
  const r = await probe.call("room:join", { roomId: "alive-check", displayName: "probe" });
  expect(r).toMatchObject({ ok: true });
}

test("every command is refused before authentication", async () => {
  const c = await client({ authenticate: false });
  for (const name of COMMAND_NAMES) {
    // The public ones: authentication itself (bb84:attach is a BB84 worker connection's, with a
    // ticket: bb84-worker-link.test.ts), and backup:fetch (a fresh browser restoring a key backup
    // has no identity yet; key-backup.test.ts covers its limits).
    if (name === "auth:hello" || name === "auth:prove" || name === "bb84:attach" || name === "backup:fetch") continue;
    const r = await c.call(name, { roomId: "r1" });
    expect(r).toMatchObject({ ok: false, error: { code: "NOT_AUTHENTICATED" } });
  }
});

test("authentication needs a fresh nonce signed by the key it claims", async () => {
  const honest = await client({ authenticate: false });
  const other = await client({ authenticate: false });
  const { signAuth } = await import("@/lib/crypto");
  // No nonce yet.
  const creds = (c: RawClient, signature: string) => ({
    signingKey: c.identity.signingKey,
    agreementKey: c.identity.agreementKey,
    agreementSig: c.identity.agreementSig,
    signature,
  });
  expect(await honest.call("auth:prove", creds(honest, b64(64)))).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } });
  // A signature over the nonce by a different key.
  const hello = (await honest.call("auth:hello", {})) as any;
  expect(await honest.call("auth:prove", { ...creds(honest, await signAuth(other.identity, hello.data.nonce)) })).toMatchObject({
    ok: false,
    error: { code: "AUTH_FAILED" },
  });
  // The nonce was consumed by that attempt: a correct signature over it no longer works.
  expect(await honest.call("auth:prove", creds(honest, await signAuth(honest.identity, hello.data.nonce)))).toMatchObject({
    ok: false,
    error: { code: "AUTH_FAILED" },
  });
  // Another socket's nonce is useless here.
  const otherHello = (await other.call("auth:hello", {})) as any;
  expect(await honest.call("auth:prove", creds(honest, await signAuth(honest.identity, otherHello.data.nonce)))).toMatchObject({
    ok: false,
    error: { code: "AUTH_FAILED" },
  });
  // Honest path, and the id is derived from the key, not chosen.
  const fresh = (await honest.call("auth:hello", {})) as any;
  const ok = await honest.call("auth:prove", creds(honest, await signAuth(honest.identity, fresh.data.nonce)));
  expect(ok).toEqual({ ok: true, data: { userId: honest.identity.userId } });
  // An agreement key not bound by the signing key is refused.
  const mallory = await client({ authenticate: false });
  const h2 = (await mallory.call("auth:hello", {})) as any;
  expect(
    await mallory.call("auth:prove", {
      signingKey: mallory.identity.signingKey,
      agreementKey: honest.identity.agreementKey,
      agreementSig: mallory.identity.agreementSig,
      signature: await signAuth(mallory.identity, h2.data.nonce),
    }),
  ).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } });
});

test("forged identity fields are refused and nothing is relayed", async () => {
  const alice = await client();
  const bob = await client();
  const st = await join(alice, "room-a", "alice");
  await join(bob, "room-a", "bob");
  const epoch = (await alice.call("keys:list", { roomId: "room-a" })) as any;
  expect(epoch.ok).toBe(true);
  const current = st.epoch + 1;
  for (const forged of [{ from: bob.userId }, { ts: "2020-01-01T00:00:00Z" }, { id: "x" }, { userId: bob.userId }]) {
    const r = await alice.call("message:send", msg("room-a", current, forged));
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  }
  const honest = await alice.call("message:send", msg("room-a", current));
  expect(honest).toMatchObject({ ok: true });
  await until(() => (bob.received.get("message:received") ?? []).length === 1, 2000, "the honest message");
  await sleep(100);
  const got = bob.received.get("message:received") as any[];
  expect(got).toHaveLength(1);
  expect(got[0].from).toBe(alice.userId); // set by the server
});

test("non-members can neither send to, read, nor reach a room", async () => {
  const alice = await client();
  const bob = await client();
  const eve = await client();
  await join(alice, "room-a", "alice");
  const st = await join(bob, "room-a", "bob");
  await join(eve, "room-e", "eve");
  const epoch = st.epoch;
  expect(await eve.call("message:send", msg("room-a", epoch))).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  expect(await eve.call("message:send", msg("room-a", 0, { to: alice.userId }))).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  expect(await eve.call("logs:fetch", { roomId: "room-a" })).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  expect(await eve.call("keys:list", { roomId: "room-a" })).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  expect(await eve.call("room:leave", { roomId: "room-a" })).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  expect(await eve.call("bb84:relay", { roomId: "room-a", to: alice.userId, sessionId: "ab".repeat(16), frame: Buffer.alloc(10) })).toMatchObject({
    ok: false,
    error: { code: "NOT_A_MEMBER" },
  });
  expect(
    await eve.call("roomkey:share", { roomId: "room-a", epoch, shares: [{ to: alice.userId, iv: b64(12), wrapped: b64(48), signature: b64(64) }] }),
  ).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  // Cross-room targeting: from her own room, Eve names members of another room.
  const eveRoom = (await eve.call("keys:list", { roomId: "room-e" })) as any;
  expect(eveRoom.ok).toBe(true);
  const eveEpoch = (await eve.call("room:join", { roomId: "room-e", displayName: "eve" })) as any;
  expect(await eve.call("message:send", msg("room-e", 0, { to: alice.userId }))).toMatchObject({ ok: false, error: { code: "UNKNOWN_PEER" } });
  expect(await eve.call("bb84:relay", { roomId: "room-e", to: bob.userId, sessionId: "ab".repeat(16), frame: Buffer.alloc(10) })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_PEER" },
  });
  expect(
    await eve.call("roomkey:share", {
      roomId: "room-e",
      epoch: eveEpoch.data.epoch,
      shares: [{ to: alice.userId, iv: b64(12), wrapped: b64(48), signature: b64(64) }],
    }),
  ).toMatchObject({ ok: false, error: { code: "UNKNOWN_PEER" } });
  await sleep(150);
  for (const c of [alice, bob]) {
    expect(c.received.get("message:received")).toBeUndefined();
    expect(c.received.get("bb84:frame")).toBeUndefined();
    expect(c.received.get("roomkey:shared")).toBeUndefined();
  }
  // Eve's refused attempts are recorded for operators, without payloads, and not shown to members.
  await srv.app.deps.logs.flush();
  const rejected = await srv.prisma.roomLog.findMany({ where: { roomId: "room-a", type: "SECURITY_REJECTED" } });
  expect(rejected.length).toBeGreaterThanOrEqual(5);
  expect(rejected.every((r) => r.actorId === eve.userId)).toBe(true);
  const aliceLogs = (await alice.call("logs:fetch", { roomId: "room-a" })) as any;
  expect(aliceLogs.data.logs.some((l: any) => l.type === "SECURITY_REJECTED")).toBe(false);
});

test("the prototype's generic relay event and unknown events are refused", async () => {
  const alice = await client();
  const bob = await client();
  await join(alice, "room-a", "alice");
  await join(bob, "room-a", "bob");
  const r = await alice.call("relay", { type: "message:received", room: "room-a", from: bob.userId });
  expect(r).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  (alice.socket as any).emit("message:received", { from: bob.userId }); // a server event sent by a client
  await sleep(150);
  expect(bob.received.get("message:received")).toBeUndefined();
});

test("direct messages reach their one recipient only", async () => {
  const [a, b, c] = [await client(), await client(), await client()];
  await join(a, "room-d", "a");
  await join(b, "room-d", "b");
  await join(c, "room-d", "c");
  const r = await a.call("message:send", msg("room-d", 0, { to: b.userId }));
  expect(r).toMatchObject({ ok: true });
  await until(() => (b.received.get("message:received") ?? []).length === 1, 2000, "DM at b");
  await sleep(150);
  expect((b.received.get("message:received") as any[])[0]).toMatchObject({ from: a.userId, to: b.userId });
  expect(c.received.get("message:received")).toBeUndefined();
  // C's room log does not show who messaged whom privately.
  await srv.app.deps.logs.flush();
  const logs = (await c.call("logs:fetch", { roomId: "room-d" })) as any;
  expect(logs.data.logs.some((l: any) => l.type === "DIRECT_MESSAGE_RELAYED")).toBe(false);
  const bLogs = (await b.call("logs:fetch", { roomId: "room-d" })) as any;
  expect(bLogs.data.logs.some((l: any) => l.type === "DIRECT_MESSAGE_RELAYED" && l.actorId === a.userId)).toBe(true);
});

test("key shares: only the epoch's leader, only for the current epoch, only to members", async () => {
  const a = await client();
  const b = await client();
  await join(a, "room-k", "a");
  const st = await join(b, "room-k", "b");
  const leader = [a, b].find((x) => x.userId === st.leaderId)!;
  const other = leader === a ? b : a;
  const share = (to: string) => ({ to, iv: b64(12), wrapped: b64(48), signature: b64(64) });
  expect(await other.call("roomkey:share", { roomId: "room-k", epoch: st.epoch, shares: [share(leader.userId)] })).toMatchObject({
    ok: false,
    error: { code: "NOT_LEADER" },
  });
  expect(await leader.call("roomkey:share", { roomId: "room-k", epoch: st.epoch - 1, shares: [share(other.userId)] })).toMatchObject({
    ok: false,
    error: { code: "STALE_EPOCH" },
  });
  expect(await leader.call("roomkey:share", { roomId: "room-k", epoch: st.epoch, shares: [share("f".repeat(32))] })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_PEER" },
  });
  expect(await leader.call("roomkey:share", { roomId: "room-k", epoch: st.epoch, shares: [share(other.userId), share(other.userId)] })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_PEER" },
  });
  expect(await leader.call("roomkey:share", { roomId: "room-k", epoch: st.epoch, shares: [share(other.userId)] })).toMatchObject({
    ok: true,
    data: { delivered: 1 },
  });
  await until(() => (other.received.get("roomkey:shared") ?? []).length === 1, 2000, "share");
  expect((other.received.get("roomkey:shared") as any[])[0]).toMatchObject({ from: leader.userId, epoch: st.epoch });
  // The other leaves: a new epoch, and a share addressed to them is refused, so they get nothing new.
  expect(await other.call("room:leave", { roomId: "room-k" })).toEqual({ ok: true, data: {} });
  const after = (await leader.call("keys:list", { roomId: "room-k" })) as any;
  expect(after.data.members.map((m: any) => m.userId)).toEqual([leader.userId]);
  const updates = leader.received.get("room:updated") as any[];
  expect(updates[updates.length - 1].epoch).toBe(st.epoch + 1);
  expect(await leader.call("roomkey:share", { roomId: "room-k", epoch: st.epoch + 1, shares: [share(other.userId)] })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_PEER" },
  });
  await sleep(100);
  expect(other.received.get("roomkey:shared")).toHaveLength(1);
});

test("oversize and malformed payloads get codes; the server survives all of them", async () => {
  const a = await client();
  const st = await join(a, "room-m", "a");
  const big = await a.call("message:send", msg("room-m", st.epoch, { ciphertext: "A".repeat(Math.ceil((LIMITS.maxMessageCiphertextBytes * 4) / 3) + 8) }));
  expect(big).toMatchObject({ ok: false, error: { code: "TOO_LARGE" } });
  const bad: unknown[][] = [
    [null],
    [42],
    ["room-m"],
    [[]],
    [{}],
    [{ roomId: "../../etc" }],
    [{ roomId: "room-m", epoch: -1, counter: 0, iv: b64(12), ciphertext: "", signature: b64(64) }],
    [{ roomId: "room-m", epoch: 1.5, counter: 0, iv: b64(12), ciphertext: "x", signature: b64(64) }],
    [{ roomId: "room-m", epoch: st.epoch, counter: 0, iv: "not base64!!", ciphertext: "x", signature: b64(64) }],
    [JSON.parse('{"__proto__":{"polluted":true},"roomId":"room-m"}')],
    [{ roomId: { $gt: "" } }],
    [msg("room-m", st.epoch), "extra argument"],
  ];
  for (const args of bad) {
    const r = await a.call("message:send", ...args);
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  }
  expect(({} as any).polluted).toBeUndefined();
  for (const name of COMMAND_NAMES) {
    for (const p of [undefined, null, "x", 1, [1, 2], { deep: { deeper: [{}] } }]) {
      const r = await a.call(name, p);
      expect(r).not.toBe("no-ack");
      expect(r).toMatchObject({ ok: false });
    }
  }
  // Events without an ack callback are handled without crashing either.
  (a.socket as any).emit("message:send", { nonsense: true });
  (a.socket as any).emit("room:join");
  // Bad display names and capacities.
  const c2 = await client();
  for (const p of [
    { displayName: "" },
    { displayName: "x".repeat(29) },
    { displayName: "a\u202Eb" },
    { displayName: "ok", capacity: 1 },
    { displayName: "ok", capacity: 1000 },
    { roomId: "x".repeat(33), displayName: "ok" },
  ]) {
    expect(await c2.call("room:join", p)).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  }
  // A frame over the transport cap closes that connection, not the server.
  const hog = await client();
  const closed = new Promise((r) => hog.socket.once("disconnect", r));
  (hog.socket as any).emit("bb84:relay", { roomId: "room-m", to: a.userId, sessionId: "ab".repeat(16), frame: Buffer.alloc(LIMITS.maxFrameBytes + 1000) });
  await closed;
  await serverStillServes();
});

test("a flood of commands is rate limited", async () => {
  const a = await client();
  await join(a, "room-r", "a");
  const results = await Promise.all(Array.from({ length: LIMITS.commandBurst + 60 }, () => a.call("keys:list", { roomId: "room-r" })));
  const limited = results.filter((r) => r !== "no-ack" && !r.ok && r.error.code === "RATE_LIMITED").length;
  expect(limited).toBeGreaterThan(0);
  expect(results.filter((r) => r !== "no-ack" && r.ok).length).toBeGreaterThan(0);
});

test("capacity set by the first joiner, unique display names, random room ids", async () => {
  const a = await client();
  const b = await client();
  const c = await client();
  const first = await join(a, "room-c", "a", { capacity: 2 });
  expect(first).toMatchObject({ capacity: 2, created: true });
  expect(await b.call("room:join", { roomId: "room-c", displayName: "A" })).toMatchObject({ ok: false, error: { code: "NAME_TAKEN" } });
  await join(b, "room-c", "b", { capacity: 10 });
  expect(await c.call("room:join", { roomId: "room-c", displayName: "c" })).toMatchObject({ ok: false, error: { code: "ROOM_FULL" } });
  const rnd = (await c.call("room:join", { displayName: "c" })) as any;
  expect(rnd.ok).toBe(true);
  expect(rnd.data.roomId).toMatch(/^[A-Za-z0-9_-]{12}$/);
  expect(rnd.data.created).toBe(true);
});

test("a second connection of an identity is the same member: no new epoch, both receive, one leave is the member's", async () => {
  const a = await client();
  const b = await client();
  await join(a, "room-x", "a");
  const st = await join(b, "room-x", "b");
  const b2 = await client({ identity: b.identity });
  const st2 = await join(b2, "room-x", "b");
  expect(b.received.get("session:replaced") ?? []).toHaveLength(0);
  expect(st2).toMatchObject({ epoch: st.epoch, resumed: true, created: false, visibleFrom: st.epoch });
  expect(st2.members.map((m: { userId: string }) => m.userId).sort()).toEqual([a.userId, b.userId].sort());
  const sent = await a.call("message:send", {
    roomId: "room-x",
    epoch: st.epoch,
    counter: 0,
    iv: "A".repeat(16),
    ciphertext: "AAAA",
    signature: "A".repeat(86),
  });
  expect(sent).toMatchObject({ ok: true });
  for (const tab of [b, b2]) await until(() => (tab.received.get("message:received") ?? []).length === 1, 2000, "both tabs receive");
  // One tab's leave is the member's leave: both tabs are out, a new epoch starts for a.
  expect(await b2.call("room:leave", { roomId: "room-x" })).toMatchObject({ ok: true });
  for (const tab of [b, b2]) await until(() => (tab.received.get("room:left") ?? []).length === 1, 2000, "room:left on both tabs");
  expect((b.received.get("room:left") as any[])[0]).toEqual({ roomId: "room-x", reason: "leave", by: null });
  expect(await b.call("keys:list", { roomId: "room-x" })).toMatchObject({ ok: false, error: { code: "NOT_A_MEMBER" } });
  const keys = (await a.call("keys:list", { roomId: "room-x" })) as any;
  expect(keys.data.members.map((m: { userId: string }) => m.userId)).toEqual([a.userId]);
});

test("a ninth connection of one identity closes the oldest; the member stays in the room", async () => {
  const a = await client();
  await join(a, "room-tabs", "a");
  const tabs = [a];
  for (let i = 0; i < 8; i++) tabs.push(await client({ identity: a.identity }));
  await until(() => (a.received.get("session:replaced") ?? []).length === 1, 2000, "oldest replaced");
  const last = tabs[tabs.length - 1];
  expect(await join(last, "room-tabs", "a")).toMatchObject({ resumed: true });
});

test("room logs are structured, live, and flushed on close", async () => {
  const a = await client();
  await join(a, "room-l", "a");
  const b = await client();
  await join(b, "room-l", "b");
  const live = () => ((a.received.get("log:appended") ?? []) as any[]).flatMap((batch) => batch.entries as any[]);
  await until(() => live().some((e) => e.type === "MEMBER_JOINED" && e.actorId === b.userId), 2000, "live join log");
  expect(((a.received.get("log:appended") ?? []) as any[]).every((batch) => batch.roomId === "room-l")).toBe(true);
  const entry = live().find((e) => e.type === "MEMBER_JOINED" && e.actorId === b.userId);
  expect(entry).toMatchObject({ roomId: "room-l", meta: { displayName: "b" } });
  expect(typeof entry.id).toBe("number");
  // Rows queued right before a clean shutdown are not lost.
  const st = (await a.call("keys:list", { roomId: "room-l" })) as any;
  expect(st.ok).toBe(true);
  for (let i = 0; i < 20; i++) srv.app.deps.logs.append({ roomId: "room-l", type: "MESSAGE_RELAYED", actorId: a.userId, meta: { bytes: i } });
  const prisma = srv.prisma;
  await srv.app.close();
  expect(await prisma.roomLog.count({ where: { roomId: "room-l", type: "MESSAGE_RELAYED" } })).toBe(20);
  expect(await prisma.membership.count({ where: { online: true } })).toBe(0);
});
