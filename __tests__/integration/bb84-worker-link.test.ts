/**
 * BB84 worker connections (server/bb84/links.ts): a party in a Web Worker carries its session's
 * frames over a Socket.IO connection of its own, attached to its member connection with a one-time
 * ticket. Honest clients: the real ChatClient with worker engines (createWorkerEngine ⇄
 * serveQkdEngine over MessagePorts, the worker opening its own socket.io-client connection as in a
 * browser). Hostile ones speak the protocol by hand: they cannot attach to, route or relay for a
 * session that is not theirs, a link does nothing but relay and hears no room traffic, and a
 * link's closing ends the session routed to it.
 */
import type { MessagePort } from "node:worker_threads";
import type { ChatClient, RoomView } from "@/lib/client";
import type { LinkEvent, QkdEngineFactory } from "@/lib/client/bb84-types";
import { framedParty } from "@/lib/client/bb84-transport";
import { deriveBb84FrameKey } from "@/lib/crypto";
import { fromHex } from "@/lib/crypto/encoding";
import { createLocalEngine } from "@/lib/client/qkd-engine";
import { createWorkerEngine } from "@/lib/client/qkd-worker-engine";
import { LIMITS, type Bb84SessionSummary } from "@/lib/protocol";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { until } from "../helpers/waits";
import { startTestServer, type TestServer } from "../helpers/server";
import { honestClients } from "../helpers/clients";
import { portWorker, recordingEngine } from "../helpers/qkd-workers";

let srv: TestServer;
const { clients, makeClient } = honestClients(() => srv.url);
const raws: RawClient[] = [];
const ports: MessagePort[] = [];

beforeEach(async () => {
  srv = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of raws.splice(0)) r.close();
  for (const p of ports.splice(0)) p.close();
  await srv.close();
});

/** Worker engines whose parties record their final keys (test-only view into the result). */
function workerEngines(keys: Uint8Array[], slowLinkMs = 0): QkdEngineFactory {
  return (init) => createWorkerEngine(init, { spawn: () => portWorker(ports, recordingEngine(keys), { slowLinkMs }) });
}

const room = (c: ChatClient, roomId: string): RoomView => c.state.rooms[roomId]!;

async function raw(): Promise<RawClient> {
  const r = await connectRaw(srv.url);
  raws.push(r);
  return r;
}

/** A fresh connection that attaches as a link with `ticket` (or tries to). */
async function attach(ticket: string, textFrames?: boolean) {
  const link = await connectRaw(srv.url, { authenticate: false });
  raws.push(link);
  return { link, res: await link.call("bb84:attach", { ticket, ...(textFrames !== undefined && { textFrames }) }) };
}

const count = (r: RawClient, event: string) => r.received.get(event)?.length ?? 0;
const linkSockets = () => [...srv.app.io.sockets.sockets.values()].filter((s) => s.data.kind === "bb84");

test("parties in workers carry the session over their own connections: same keys, no frame through Alice's page, Bob's only before his route", async () => {
  const keysA: Uint8Array[] = [],
    keysB: Uint8Array[] = [];
  const a = await makeClient(undefined, { qkdEngine: workerEngines(keysA) });
  const b = await makeClient(undefined, { qkdEngine: workerEngines(keysB) });
  await a.join("qkd-link", "alice");
  await b.join("qkd-link", "bob");
  await until(() => room(a, "qkd-link").members.length === 2 && !room(a, "qkd-link").waitingForKey && !room(b, "qkd-link").waitingForKey, 5000, "keyed");
  const pageFrames = { a: 0, b: 0 };
  a.socket!.on("bb84:frame", () => pageFrames.a++);
  b.socket!.on("bb84:frame", () => pageFrames.b++);

  const v = await a.startBb84("qkd-link", b.userId, { qubits: 16384 });
  expect(v.status).toBe("success");
  await until(() => room(b, "qkd-link").bb84.live[0]?.status === "success", 5000, "bob's verdict");
  expect(keysA).toHaveLength(1);
  expect(Buffer.from(keysA[0]).equals(Buffer.from(keysB[0]))).toBe(true);
  // Alice routes before her first frame: every frame of Bob's reaches her worker. Bob may get
  // Alice's first frames on his page before his route (the next test forces that): no more.
  expect(pageFrames.a).toBe(0);
  expect(v.path?.linked).toBe(v.path?.frames);
  const bobPath = room(b, "qkd-link").bb84.live[0].path!;
  expect(bobPath.frames - bobPath.linked).toBe(pageFrames.b);
  expect(bobPath.linked).toBeGreaterThan(0);
  expect(v.transport.framesSent).toBeGreaterThan(0);
  expect(v.transport.framesReceived).toBeGreaterThan(0);
  // The two links: authenticated as their members, in no room, not among the identity's connections.
  const links = linkSockets();
  expect(links.map((s) => s.data.userId).sort()).toEqual([a.userId, b.userId].sort());
  for (const s of links) expect([...s.rooms]).toEqual([s.id]);
  expect(srv.socketsOf(a.userId)).toHaveLength(1);

  // A second session (new workers here: no pool with a test spawn) succeeds the same way; the pair is hardened.
  const again = await a.startBb84("qkd-link", b.userId, { qubits: 16384 });
  expect(again.status).toBe("success");
  expect(pageFrames.a).toBe(0);
  await until(() => room(a, "qkd-link").members.find((m) => m.userId === b.userId)?.qkd?.hardened === true, 5000, "hardened");
});

test("frames that reached the page before the session was routed to the worker are taken first, then the worker's own", async () => {
  const keysA: Uint8Array[] = [],
    keysB: Uint8Array[] = [];
  const a = await makeClient(undefined, { qkdEngine: workerEngines(keysA) });
  // Bob's worker opens its connection late: Alice's first frames reach Bob's page first.
  const b = await makeClient(undefined, { qkdEngine: workerEngines(keysB, 300) });
  await a.join("qkd-handover", "alice");
  await b.join("qkd-handover", "bob");
  await until(
    () => !room(a, "qkd-handover").waitingForKey && !room(b, "qkd-handover").waitingForKey && room(a, "qkd-handover").members.length === 2,
    5000,
    "keyed",
  );
  let bobPageFrames = 0;
  b.socket!.on("bb84:frame", () => bobPageFrames++);
  const v = await a.startBb84("qkd-handover", b.userId, { qubits: 65536 });
  expect(v.status).toBe("success");
  await until(() => room(b, "qkd-handover").bb84.live[0]?.status === "success", 5000, "bob's verdict");
  expect(Buffer.from(keysA[0]).equals(Buffer.from(keysB[0]))).toBe(true);
  const bob = room(b, "qkd-handover").bb84.live[0].path!;
  expect(bobPageFrames).toBeGreaterThan(0);
  expect(bob.frames - bob.linked).toBe(bobPageFrames); // the page's ones went to the party too
  expect(bob.linked).toBeGreaterThan(0);
});

test("the worker holds frames that come over its connection until the page has handed over those it got before the route switched", async () => {
  const alice = await raw();
  const bob = await raw();
  await alice.call("room:join", { roomId: "qkd-hold", displayName: "alice" });
  await bob.call("room:join", { roomId: "qkd-hold", displayName: "bob" });
  const started = await alice.call("bb84:start", { roomId: "qkd-hold", peerId: bob.userId, qubits: 1 << 20, cascadeVariant: "yanetal-tuned" });
  if (started === "no-ack" || !started.ok) throw new Error(JSON.stringify(started));
  const s = started.data as Bb84SessionSummary;
  const ab = { roomId: "qkd-hold", sessionId: s.id, from: alice.userId, to: bob.userId };
  const ba = { roomId: "qkd-hold", sessionId: s.id, from: bob.userId, to: alice.userId };
  const params = { qubits: s.qubits, cascadeVariant: s.cascadeVariant as never, qberThreshold: s.qberThreshold };
  // Alice in this thread; Bob in a worker with its own connection.
  const aliceKey = await deriveBb84FrameKey(alice.identity, { userId: bob.userId, agreementKey: bob.identity.agreementKey }, "qkd-hold", s.id);
  const bobKey = await deriveBb84FrameKey(bob.identity, { userId: alice.userId, agreementKey: alice.identity.agreementKey }, "qkd-hold", s.id);
  const aliceParty = framedParty(createLocalEngine({ role: "alice", sessionId: fromHex(s.id), params }), { key: aliceKey, tx: ab, rx: ba });
  const engine = createWorkerEngine(
    { role: "bob", sessionId: fromHex(s.id), params, channel: { ...s.channel } },
    { spawn: () => portWorker(ports, createLocalEngine) },
  );
  const bobParty = engine.framed!({ key: bobKey, tx: ba, rx: ab });
  const events: LinkEvent[] = [];
  const t = await bob.call("bb84:ticket", {});
  if (t === "no-ack" || !t.ok) throw new Error(JSON.stringify(t));
  expect(await bobParty.link!.connect(srv.url, t.data.ticket)).toBe(t.data.ticket);
  await bobParty.link!.direct((e) => events.push(e));
  await bobParty.start();

  const first = await aliceParty.start();
  if (first.kind !== "step") throw new Error(first.kind);
  expect(first.frames.length).toBeGreaterThanOrEqual(2); // Hello and a photon batch of several chunks
  const relay = (frame: Uint8Array) => alice.call("bb84:relay", { roomId: "qkd-hold", to: bob.userId, sessionId: s.id, frame: Buffer.from(frame) });
  // Alice's first frame reaches Bob's page; then Bob routes; the rest reach Bob's worker, which holds them.
  expect(await relay(first.frames[0])).toMatchObject({ ok: true });
  await until(() => count(bob, "bb84:frame") === 1, 3000, "first frame at bob's page");
  expect(await bob.call("bb84:route", { roomId: "qkd-hold", sessionId: s.id, ticket: t.data.ticket })).toMatchObject({ ok: true });
  for (const f of first.frames.slice(1)) expect(await relay(f)).toMatchObject({ ok: true });
  await new Promise((r) => setTimeout(r, 300));
  expect(events).toHaveLength(0);
  expect(count(bob, "bb84:frame")).toBe(1);
  // The page hands over its frame, then releases the held ones: Bob takes the whole message, answers over his link.
  const handed = await bobParty.receiveFrame(Buffer.from((bob.received.get("bb84:frame")![0] as { frame: Uint8Array }).frame));
  expect(handed.kind).not.toBe("invalid");
  await bobParty.link!.endMainPath();
  const steps = events.filter((e): e is Extract<LinkEvent, { kind: "step" }> => e.kind === "step");
  expect(steps).toHaveLength(first.frames.length - 1);
  expect(steps.every((e) => e.step.kind !== "invalid")).toBe(true);
  expect(steps.at(-1)!.step.kind).toBe("step");
  await until(() => count(alice, "bb84:frame") > 0, 3000, "bob's answer at alice");
  const answer = (alice.received.get("bb84:frame")![0] as { frame: Uint8Array }).frame;
  expect((await aliceParty.receiveFrame(Buffer.from(answer))).kind).not.toBe("invalid");
  engine.dispose();
});

test("a member's connection closing closes its links; a link closing ends the session routed to it", async () => {
  const a = await raw();
  const b = await raw();
  await a.call("room:join", { roomId: "qkd-close", displayName: "alice" });
  await b.call("room:join", { roomId: "qkd-close", displayName: "bob" });
  const started = await a.call("bb84:start", { roomId: "qkd-close", peerId: b.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" });
  if (started === "no-ack" || !started.ok) throw new Error(JSON.stringify(started));
  const sessionId = started.data.id as string;
  const t = await a.call("bb84:ticket", {});
  if (t === "no-ack" || !t.ok) throw new Error(JSON.stringify(t));
  const { link, res } = await attach(t.data.ticket, true);
  expect(res).toMatchObject({ ok: true, data: { userId: a.userId } });
  expect(await a.call("bb84:route", { roomId: "qkd-close", sessionId, ticket: t.data.ticket })).toMatchObject({ ok: true });
  // Bob's frame goes to Alice's link only; Alice's member connection may no longer relay, her link may.
  const frame = Buffer.alloc(64, 1);
  expect(await b.call("bb84:relay", { roomId: "qkd-close", to: a.userId, sessionId, frame })).toMatchObject({ ok: true });
  await until(() => count(link, "bb84:frame") === 1, 3000, "frame at the link");
  expect(count(a, "bb84:frame")).toBe(0);
  // The link asked for text frames: a small frame arrives as base64url (one WebSocket message).
  expect((link.received.get("bb84:frame")![0] as { frame: unknown }).frame).toBe(frame.toString("base64url"));
  expect(await a.call("bb84:relay", { roomId: "qkd-close", to: b.userId, sessionId, frame })).toMatchObject({ ok: false, error: { code: "UNKNOWN_SESSION" } });
  // A link may relay text frames; Bob's member connection gets the same bytes as binary. Bad text is refused.
  expect(await link.call("bb84:relay", { roomId: "qkd-close", to: b.userId, sessionId, frame: frame.toString("base64url") })).toMatchObject({ ok: true });
  await until(() => count(b, "bb84:frame") === 1, 3000, "frame at bob");
  expect(Buffer.from((b.received.get("bb84:frame")![0] as { frame: Uint8Array }).frame).equals(frame)).toBe(true);
  // Without an ack (how a worker sends Cascade's small frames): relayed in silence, or refused with a
  // bb84:refused that names the session, to the sender only.
  const noAck = (p: object) => (link.socket as unknown as { emit(e: string, p: object): void }).emit("bb84:relay", p);
  noAck({ roomId: "qkd-close", to: b.userId, sessionId, frame: Buffer.alloc(64, 3).toString("base64url") });
  await until(() => count(b, "bb84:frame") === 2, 3000, "the ack-less frame at bob");
  expect(Buffer.from((b.received.get("bb84:frame")![1] as { frame: Uint8Array }).frame).equals(Buffer.alloc(64, 3))).toBe(true);
  const other = "ab".repeat(16);
  noAck({ roomId: "qkd-close", to: b.userId, sessionId: other, frame: frame.toString("base64url") });
  noAck({ roomId: "qkd-close", to: b.userId, sessionId, frame: "not base64!" });
  await until(() => count(link, "bb84:refused") === 2, 3000, "two refusals");
  // (a malformed payload is refused before the handler runs, so refusals may come back out of order)
  expect(link.received.get("bb84:refused")).toEqual(
    expect.arrayContaining([
      { sessionId: other, error: { code: "UNKNOWN_SESSION", message: "no running BB84 session between you and that member in this room" } },
      { sessionId, error: { code: "INVALID_PAYLOAD", message: "frame: expected binary or base64url" } },
    ]),
  );
  expect(count(b, "bb84:frame")).toBe(2);
  expect(count(a, "bb84:refused") + count(b, "bb84:refused")).toBe(0);
  for (const bad of ["A", "AB", "not base64!"])
    expect(await link.call("bb84:relay", { roomId: "qkd-close", to: b.userId, sessionId, frame: bad })).toMatchObject({
      ok: false,
      error: { code: "INVALID_PAYLOAD" },
    });
  expect(
    await link.call("bb84:relay", { roomId: "qkd-close", to: b.userId, sessionId, frame: "A".repeat(Math.ceil((LIMITS.maxBb84TextFrameBytes * 4) / 3) + 4) }),
  ).toMatchObject({ ok: false, error: { code: "TOO_LARGE" } });
  // Routing is once per party.
  expect(await a.call("bb84:route", { roomId: "qkd-close", sessionId, ticket: t.data.ticket })).toMatchObject({ ok: false, error: { code: "BUSY" } });

  link.close();
  await until(
    () => ((b.received.get("bb84:updated") ?? []) as { id: string; outcome: string }[]).some((s) => s.id === sessionId && s.outcome === "aborted"),
    3000,
    "session ended",
  );
  const ended = ((b.received.get("bb84:updated") ?? []) as { id: string; outcome: string; abortReason: string }[]).find(
    (s) => s.id === sessionId && s.outcome === "aborted",
  );
  expect(ended?.abortReason).toMatch(/worker connection closed/);

  // A member connection's links close with it.
  const t2 = await a.call("bb84:ticket", {});
  if (t2 === "no-ack" || !t2.ok) throw new Error(JSON.stringify(t2));
  const second = await attach(t2.data.ticket);
  expect(second.res).toMatchObject({ ok: true });
  const closed = new Promise((r) => second.link.socket.once("disconnect", r));
  a.close();
  await closed;
});

test("an attacker cannot attach to, route or relay for another member's session, and a link does nothing but relay", async () => {
  const a = await raw();
  const b = await raw();
  const mallory = await raw();
  for (const [c, name] of [
    [a, "alice"],
    [b, "bob"],
    [mallory, "mallory"],
  ] as const)
    await c.call("room:join", { roomId: "qkd-hostile", displayName: name });
  const started = await a.call("bb84:start", { roomId: "qkd-hostile", peerId: b.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" });
  if (started === "no-ack" || !started.ok) throw new Error(JSON.stringify(started));
  const sessionId = started.data.id as string;
  const frame = Buffer.alloc(64, 2);

  // Tickets: only an authenticated member connection gets one; a forged or reused one attaches nothing.
  const anon = await connectRaw(srv.url, { authenticate: false });
  raws.push(anon);
  expect(await anon.call("bb84:ticket", {})).toMatchObject({ ok: false, error: { code: "NOT_AUTHENTICATED" } });
  expect((await attach("A".repeat(43))).res).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } });
  expect((await attach("not a ticket")).res).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  const mt = await mallory.call("bb84:ticket", {});
  if (mt === "no-ack" || !mt.ok) throw new Error(JSON.stringify(mt));
  const { link: evil, res } = await attach(mt.data.ticket);
  expect(res).toMatchObject({ ok: true, data: { userId: mallory.userId } }); // her own identity, never Alice's
  expect((await attach(mt.data.ticket)).res).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } }); // one use

  // Mallory's link cannot be routed to, or relay for, Alice and Bob's session.
  expect(await mallory.call("bb84:route", { roomId: "qkd-hostile", sessionId, ticket: mt.data.ticket })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_SESSION" },
  });
  expect(await evil.call("bb84:relay", { roomId: "qkd-hostile", to: b.userId, sessionId, frame })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_SESSION" },
  });
  // Alice cannot route her session to Mallory's link (the ticket is not one of her connection's)...
  expect(await a.call("bb84:route", { roomId: "qkd-hostile", sessionId, ticket: mt.data.ticket })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_SESSION" },
  });
  // ...and a link of Alice's, routed, is the only one of hers that relays: Mallory's still cannot.
  const at = await a.call("bb84:ticket", {});
  if (at === "no-ack" || !at.ok) throw new Error(JSON.stringify(at));
  const { link: good } = await attach(at.data.ticket);
  // Mallory, holding Alice's ticket value (it leaked), cannot route with it from her connection.
  expect(await mallory.call("bb84:route", { roomId: "qkd-hostile", sessionId, ticket: at.data.ticket })).toMatchObject({ ok: false });
  expect(await a.call("bb84:route", { roomId: "qkd-hostile", sessionId, ticket: at.data.ticket })).toMatchObject({ ok: true });
  expect(await evil.call("bb84:relay", { roomId: "qkd-hostile", to: b.userId, sessionId, frame })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_SESSION" },
  });
  expect(await good.call("bb84:relay", { roomId: "qkd-hostile", to: b.userId, sessionId, frame })).toMatchObject({ ok: true });

  // A link does nothing else, and hears no room traffic.
  for (const [name, p] of [
    ["room:join", { roomId: "qkd-hostile", displayName: "again" }],
    ["auth:hello", {}],
    ["bb84:ticket", {}],
    ["bb84:start", { roomId: "qkd-hostile", peerId: a.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" }],
    ["logs:fetch", { roomId: "qkd-hostile" }],
  ] as const)
    expect(await good.call(name, p)).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  const before = count(a, "room:updated");
  await mallory.call("room:leave", { roomId: "qkd-hostile" });
  await until(() => count(a, "room:updated") > before, 3000, "room traffic");
  for (const l of [good, evil]) {
    expect(count(l, "room:updated")).toBe(0);
    expect(count(l, "bb84:updated")).toBe(0);
    expect(count(l, "log:appended")).toBe(0);
  }
  // Mallory left: her link relays nothing anywhere (its member connection is in no room).
  expect(await evil.call("bb84:relay", { roomId: "qkd-hostile", to: b.userId, sessionId, frame })).toMatchObject({
    ok: false,
    error: { code: "NOT_A_MEMBER" },
  });
});

test("a server with worker connections off (QSEC_BB84_WORKER_LINKS=0): no ticket, and worker parties run the session over the page's connection", async () => {
  await srv.close();
  srv = await startTestServer({ app: { bb84WorkerLinks: false } });
  const r = await raw();
  expect(await r.call("bb84:ticket", {})).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
  const keysA: Uint8Array[] = [],
    keysB: Uint8Array[] = [];
  const a = await makeClient(undefined, { qkdEngine: workerEngines(keysA) });
  const b = await makeClient(undefined, { qkdEngine: workerEngines(keysB) });
  await a.join("qkd-off", "alice");
  await b.join("qkd-off", "bob");
  await until(() => room(a, "qkd-off").members.length === 2 && !room(a, "qkd-off").waitingForKey && !room(b, "qkd-off").waitingForKey, 5000, "keyed");
  let pageFrames = 0;
  for (const c of [a, b]) c.socket!.on("bb84:frame", () => pageFrames++);
  const v = await a.startBb84("qkd-off", b.userId, { qubits: 16384 });
  expect(v.status).toBe("success");
  await until(() => keysB.length === 1, 5000, "bob's key");
  expect(Buffer.from(keysA[0]).equals(Buffer.from(keysB[0]))).toBe(true);
  expect(pageFrames).toBeGreaterThan(0);
  expect(v.path?.linked).toBe(0);
  expect(linkSockets()).toHaveLength(0);
});

test("tickets are capped per connection", async () => {
  const a = await raw();
  for (let i = 0; i < LIMITS.maxBb84LinksPerConnection; i++) expect(await a.call("bb84:ticket", {})).toMatchObject({ ok: true });
  expect(await a.call("bb84:ticket", {})).toMatchObject({ ok: false, error: { code: "BUSY" } });
});
