/**
 * BB84 between two headless clients (lib/qkd's state machines behind ChatClient) through the real
 * server: matching keys that harden the pair, a stored non-secret summary, and the attacks the
 * relay's position allows — tampering, replaying, reordering and injecting frames, and frames to or
 * from non-members — each ending the session with a reason on both sides.
 */
import { ChatClient, MemoryStorage, type RoomView } from "@/lib/client";
import { generateIdentity } from "@/lib/crypto";
import { connectRaw } from "../helpers/raw-client";
import { finishedSessionRow, until } from "../helpers/waits";
import { startTestServer, type TestServer } from "../helpers/server";
import { honestClients } from "../helpers/clients";
import { recordingEngine } from "../helpers/qkd-workers";
import { createLocalEngine } from "@/lib/client/qkd-engine";
import type { QkdEngineInit } from "@/lib/client/bb84-types";
import { deriveSeed, seededRandom } from "@/lib/qkd/rng";
import type { RelayTap } from "@/server/socket-types";

/** The session's row once the server has recorded how it ended. */
const finishedRow = (id: string) => finishedSessionRow(() => srv.prisma.bb84Session.findUniqueOrThrow({ where: { id } }));

let srv: TestServer;
const { clients, makeClient } = honestClients(() => srv.url);
/** The relay's behaviour for the current test (createApplication's relayTap seam); unset: an honest relay. */
let tap: RelayTap | undefined;

beforeEach(async () => {
  tap = undefined;
  srv = await startTestServer({ relayTap: (to, frame, deliver) => (tap ? tap(to, frame, deliver) : deliver(frame)) });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv.close();
});

const room = (c: ChatClient, roomId: string): RoomView => c.state.rooms[roomId]!;

async function pair(roomId: string, keysA?: Uint8Array[], keysB?: Uint8Array[]) {
  const a = await makeClient(undefined, { qkdEngine: keysA && recordingEngine(keysA) });
  const b = await makeClient(undefined, { qkdEngine: keysB && recordingEngine(keysB) });
  await a.join(roomId, "alice");
  await b.join(roomId, "bob");
  await until(
    () => room(a, roomId).members.length === 2 && room(b, roomId).members.length === 2 && !room(a, roomId).waitingForKey && !room(b, roomId).waitingForKey,
    5000,
    "both keyed",
  );
  return { a, b };
}

test("two clients run BB84 through the relay: identical keys, hybrid pair keys, a stored summary with no key material", async () => {
  const keysA: Uint8Array[] = [],
    keysB: Uint8Array[] = [];
  const { a, b } = await pair("qkd-ok", keysA, keysB);
  await a.setChannel("qkd-ok", { noise: 0.02, loss: 0.1, eve: 0 });
  await until(() => room(b, "qkd-ok").channel.noise === 0.02, 3000, "channel pushed to bob");

  const result = await a.startBb84("qkd-ok", b.userId, { qubits: 16384 });
  expect(result.status).toBe("success");
  expect(result.role).toBe("alice");
  // Bob's client accepted on its own and finished too.
  await until(() => room(b, "qkd-ok").bb84.live.some((l) => l.sessionId === result.sessionId && l.status === "success"), 5000, "bob's session succeeded");
  expect(keysA).toHaveLength(1);
  expect(keysB).toHaveLength(1);
  expect(Buffer.from(keysA[0]).equals(Buffer.from(keysB[0]))).toBe(true);
  expect(keysA[0].length * 8).toBeGreaterThanOrEqual(256);

  // Both mark the other QKD-hardened, with the session's QBER and key length.
  await until(
    () => !!room(a, "qkd-ok").members.find((m) => m.userId === b.userId)?.qkd && !!room(b, "qkd-ok").members.find((m) => m.userId === a.userId)?.qkd,
    3000,
    "hardened marks",
  );
  const mark = room(a, "qkd-ok").members.find((m) => m.userId === b.userId)!.qkd!;
  expect(mark).toMatchObject({ hardened: true, sessionId: result.sessionId });
  expect(mark.keyBits).toBe(result.snapshot.finalLength);
  expect(mark.qber!).toBeGreaterThan(0.005);
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: true });

  // Direct messages now travel under the hybrid key, both ways.
  const sent = await a.send("qkd-ok", "hardened hello", b.userId);
  expect(sent.hybrid).toBe(true);
  await until(() => room(b, "qkd-ok").messages.some((m) => m.text === "hardened hello" && m.hybrid === true), 3000, "bob reads the hybrid DM");
  await b.send("qkd-ok", "hardened reply", a.userId);
  await until(() => room(a, "qkd-ok").messages.some((m) => m.text === "hardened reply" && m.hybrid === true), 3000, "alice reads the reply");

  // The server stored the non-secret summary, with the channel settings of the session's start.
  await until(() => room(a, "qkd-ok").bb84.sessions.some((s) => s.id === result.sessionId && s.outcome === "success"), 3000, "summary pushed");
  const row = await finishedRow(result.sessionId);
  expect(row).toMatchObject({
    aliceId: a.userId,
    bobId: b.userId,
    qubits: 16384,
    outcome: "success",
    channelNoise: 0.02,
    channelLoss: 0.1,
    channelEve: 0,
    finalLength: result.snapshot.finalLength,
  });
  expect(Math.ceil(row.finalLength! / 8)).toBe(keysA[0].length);
  expect(row.detected!).toBeGreaterThan(16384 * 0.85);
  expect(row.detected!).toBeLessThan(16384 * 0.95);
  expect(row.qberEstimate!).toBeGreaterThan(0.005);
  expect(row.qberEstimate!).toBeLessThan(0.06);
  expect(row.fEC!).toBeGreaterThan(1);
  expect(row.roundTrips!).toBeGreaterThan(5);

  // No key material anywhere in the database: not the key, nor any 8-byte window of it.
  const hex = Buffer.from(keysA[0]).toString("hex");
  const b64 = Buffer.from(keysA[0]).toString("base64");
  const dump = JSON.stringify(await srv.prisma.roomLog.findMany()) + JSON.stringify(await srv.prisma.bb84Session.findMany());
  for (let i = 0; i + 8 <= keysA[0].length; i += 8) expect(dump).not.toContain(Buffer.from(keysA[0].subarray(i, i + 8)).toString("hex"));
  expect(dump).not.toContain(hex.slice(0, 32));
  expect(dump).not.toContain(b64.slice(0, 16));
  const types = (await srv.prisma.roomLog.findMany({ where: { roomId: "qkd-ok" } })).map((r) => r.type);
  expect(types).toEqual(expect.arrayContaining(["BB84_SESSION_STARTED", "BB84_RELAYED", "BB84_SESSION_SUMMARY", "CHANNEL_SETTINGS_CHANGED"]));
});

test("an eavesdropper on the channel aborts the session with a suspected-eavesdropper alarm on both sides; chat goes on", async () => {
  const { a, b } = await pair("qkd-eve");
  await b.setChannel("qkd-eve", { noise: 0.01, loss: 0, eve: 1 });
  await until(() => room(a, "qkd-eve").channel.eve === 1, 3000, "eve setting reaches alice");
  // Several runs: whichever party reports first, both alarms carry the detector's QBER and verdict.
  for (let run = 1; run <= 3; run++) {
    const result = await a.startBb84("qkd-eve", b.userId, { qubits: 16384 });
    expect(result.status).toBe("aborted");
    for (const c of [a, b]) {
      await until(() => room(c, "qkd-eve").bb84.alarms.length === run, 5000, `alarm ${run}`);
      const alarm = room(c, "qkd-eve").bb84.alarms[run - 1];
      expect(alarm.sessionId).toBe(result.sessionId);
      expect(alarm.suspectedEve).toBe(true);
      expect(alarm.reason).toMatch(/eavesdropper/i);
      expect(alarm.code).toBe("QBER_TOO_HIGH");
    }
    const row = await finishedRow(result.sessionId);
    expect(row.outcome).toBe("aborted");
    expect(row.abortCode).toBe("QBER_TOO_HIGH");
    expect(row.abortedBy).toBe(b.userId); // Bob measured the QBER
    expect(row.qberEstimate!).toBeGreaterThan(0.15);
    expect(row.sampleSize!).toBeGreaterThan(100);
    expect(row.channelEve).toBe(1);
  }
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: false });
  // The chat still works, on X25519 alone.
  const dm = await a.send("qkd-eve", "still private", b.userId);
  expect(dm.hybrid).toBe(false);
  await until(() => room(b, "qkd-eve").messages.some((m) => m.text === "still private"), 3000, "DM after the abort");
});

test("a session whose final key is shorter than 128 bits ends KEY_TOO_SHORT on both sides, saying how long it was; the pair keeps its keys", async () => {
  // Seeded engines (seed 278, found by search): at 8,192 qubits and 2 % noise this session's
  // finite-key length ℓ comes out at 76 bits: positive, so both engines finish, but too short to use.
  const seeded = (index: number) => (init: QkdEngineInit) => createLocalEngine(init, { rng: seededRandom(deriveSeed(278, index)) });
  const a = await makeClient(undefined, { qkdEngine: seeded(0) });
  const b = await makeClient(undefined, { qkdEngine: seeded(1) });
  await a.join("qkd-short", "alice");
  await b.join("qkd-short", "bob");
  await until(() => [a, b].every((c) => room(c, "qkd-short").members.length === 2 && !room(c, "qkd-short").waitingForKey), 5000, "both keyed");
  const result = await a.startBb84("qkd-short", b.userId, { qubits: 8192 });
  expect(result.status).toBe("aborted");
  const reason = "the final key is 76 bits, shorter than the 128 bits a key must have; not used (a session with more qubits gives a longer key)";
  // Alice's engine finished with ℓ = 76 bits, unless Bob's report ended the session first: then her
  // run was ended with his reason (on two nodes that race goes either way).
  if (result.snapshot.status === "done") expect(result.snapshot).toMatchObject({ finalLength: 76, abort: null });
  else expect(result.snapshot.abort).toMatchObject({ code: "CANCELLED", message: reason });
  for (const c of [a, b]) {
    await until(() => room(c, "qkd-short").bb84.alarms.length === 1, 5000, "the alarm");
    expect(room(c, "qkd-short").bb84.alarms[0]).toMatchObject({ sessionId: result.sessionId, code: "KEY_TOO_SHORT", reason, suspectedEve: false });
  }
  const row = await finishedRow(result.sessionId);
  expect(row).toMatchObject({ outcome: "aborted", abortCode: "KEY_TOO_SHORT", abortReason: reason });
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: false });
  expect(b.pairInfo(a.userId)).toEqual({ hybrid: false });
});

test("a party whose engine fails after it finished (its key cannot be read) ends the session on both sides at once, with the reason", async () => {
  // Bob's engine runs the whole protocol, then its key() fails (a worker that died, say).
  const failingKey = (init: QkdEngineInit) => ({
    ...createLocalEngine(init),
    key: async (): Promise<Uint8Array | null> => {
      throw new Error("the BB84 worker stopped before handing over the key");
    },
  });
  const a = await makeClient();
  const b = await makeClient(undefined, { qkdEngine: failingKey });
  await a.join("qkd-store", "alice");
  await b.join("qkd-store", "bob");
  await until(() => [a, b].every((c) => room(c, "qkd-store").members.length === 2 && !room(c, "qkd-store").waitingForKey), 5000, "both keyed");
  const t0 = Date.now();
  const result = await a.startBb84("qkd-store", b.userId, { qubits: 16_384 });
  expect(result.status).toBe("aborted");
  const bobView = () => room(b, "qkd-store").bb84.live.find((l) => l.sessionId === result.sessionId);
  await until(() => bobView()?.status === "aborted", 5000, "bob's session to end");
  // Well before any timeout (the verdict wait, the idle timer): the failure was reported at once.
  expect(Date.now() - t0).toBeLessThan(5000);
  for (const c of [a, b]) {
    await until(() => room(c, "qkd-store").bb84.alarms.length === 1, 5000, "the alarm");
    expect(room(c, "qkd-store").bb84.alarms[0]).toMatchObject({
      sessionId: result.sessionId,
      code: "INTERNAL_ERROR",
      reason: "the BB84 worker stopped before handing over the key",
    });
  }
  expect(await finishedRow(result.sessionId)).toMatchObject({ outcome: "aborted", abortCode: "INTERNAL_ERROR", abortedBy: b.userId });
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: false });
});

test("cancelling a session shows the canceller's reason on both sides", async () => {
  const { a, b } = await pair("qkd-cancel");
  const started = a.startBb84("qkd-cancel", b.userId, { qubits: 1 << 21 });
  await until(() => room(a, "qkd-cancel").bb84.live.length === 1 && room(b, "qkd-cancel").bb84.live.length === 1, 5000, "running on both");
  await a.cancelBb84(room(a, "qkd-cancel").bb84.live[0].sessionId, "changed my mind");
  const res = await started;
  expect(res.status).toBe("aborted");
  for (const c of [a, b]) {
    await until(() => room(c, "qkd-cancel").bb84.alarms.length === 1, 5000, "alarm");
    expect(room(c, "qkd-cancel").bb84.alarms[0]).toMatchObject({ code: "CANCELLED", suspectedEve: false, reason: expect.stringMatching(/changed my mind/) });
  }
  const row = await finishedRow(res.sessionId);
  expect(row).toMatchObject({ outcome: "aborted", abortCode: "CANCELLED", abortReason: "changed my mind", abortedBy: a.userId });
});

/** Runs a session where the server-side relay is replaced by an attacker's hook on Alice's frames. */
async function attackedSession(roomId: string, attack: (frame: Buffer, index: number, forward: (f: Buffer) => void) => void) {
  const { a, b } = await pair(roomId);
  // Intercept on the server: every frame the relay forwards to Bob goes through the attacker's hook.
  let i = 0;
  tap = (to, payload, deliver) => {
    if (to !== b.userId) return deliver(payload);
    const index = i++;
    attack(Buffer.from(payload.frame as Uint8Array), index, (f) => deliver({ ...payload, frame: f }));
  };
  const result = await a.startBb84(roomId, b.userId, { qubits: 4096 });
  await until(() => room(b, roomId).bb84.live.some((l) => l.status === "aborted"), 5000, "bob aborted");
  const bobView = room(b, roomId).bb84.live.find((l) => l.sessionId === result.sessionId)!;
  return { a, b, result, bobView };
}

test("a tampered frame aborts the session with a reason on both sides", async () => {
  const { result, bobView, b } = await attackedSession("qkd-tamper", (f, i, fwd) => {
    if (i === 1) f[f.length - 20] ^= 0x01; // flip one bit of the second frame's ciphertext
    fwd(f);
  });
  expect(result.status).toBe("aborted");
  expect(bobView.snapshot.abort?.message).toMatch(/failed authentication/);
  expect(result.snapshot.abort?.message ?? "").toMatch(/failed authentication/); // Alice got Bob's reason
  await until(() => room(b, "qkd-tamper").bb84.alarms.length === 1, 3000, "alarm at bob");
  expect(room(b, "qkd-tamper").bb84.alarms[0].reason).toMatch(/failed authentication/);
});

test("a replayed frame and a reordered frame abort the session", async () => {
  const replay = await attackedSession("qkd-replay", (f, i, fwd) => {
    fwd(f);
    if (i === 0) fwd(Buffer.from(f)); // the Hello frame, twice
  });
  expect(replay.result.status).toBe("aborted");
  expect(replay.bobView.snapshot.abort?.message).toMatch(/replayed/);

  let held: Buffer | null = null;
  const reorder = await attackedSession("qkd-reorder", (f, i, fwd) => {
    if (i === 0) {
      held = f; // hold the Hello back, deliver the next frame first
      return;
    }
    fwd(f);
    if (held) {
      fwd(held);
      held = null;
    }
  });
  expect(reorder.result.status).toBe("aborted");
  expect(reorder.bobView.snapshot.abort?.message).toMatch(/out of order/);
});

test("frames to or from non-members, or outside a running session, are refused by the server", async () => {
  const { a, b } = await pair("qkd-members");
  const outsider = await connectRaw(srv.url);
  await outsider.call("room:join", { roomId: "elsewhere", displayName: "mallory" });
  const frame = Buffer.alloc(64, 7);
  // No session yet: even a member can't relay.
  expect(srv.socketsOf(a.userId)).toHaveLength(1);
  const fakeId = "ab".repeat(16);
  expect(await outsider.call("bb84:relay", { roomId: "qkd-members", to: b.userId, sessionId: fakeId, frame })).toMatchObject({
    ok: false,
    error: { code: "NOT_A_MEMBER" },
  });
  expect(await outsider.call("bb84:start", { roomId: "qkd-members", peerId: b.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })).toMatchObject({
    ok: false,
    error: { code: "NOT_A_MEMBER" },
  });

  // A member in the room who is not a party of the session can't inject into it.
  const carol = await connectRaw(srv.url);
  await carol.call("room:join", { roomId: "qkd-members", displayName: "carol" });
  const started = a.startBb84("qkd-members", b.userId, { qubits: 16384 });
  await until(() => room(b, "qkd-members").bb84.live.length === 1, 3000, "session running at bob");
  const sid = room(b, "qkd-members").bb84.live[0].sessionId;
  expect(await carol.call("bb84:relay", { roomId: "qkd-members", to: b.userId, sessionId: sid, frame })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_SESSION" },
  });
  expect(
    await carol.call("bb84:report", { roomId: "qkd-members", sessionId: sid, outcome: "aborted", abortCode: "CANCELLED", abortReason: "forged" }),
  ).toMatchObject({ ok: false, error: { code: "UNKNOWN_SESSION" } });
  // Nor can Carol start a session to a non-member, or claim to be a party.
  expect(await carol.call("bb84:start", { roomId: "qkd-members", peerId: outsider.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })).toMatchObject({
    ok: false,
    error: { code: "UNKNOWN_PEER" },
  });
  const res = await started;
  expect(res.snapshot.abort).toBeNull();
  expect(res.status).toBe("success"); // Carol's attempts changed nothing
  // Oversized or malformed payloads are refused with a clear error.
  expect(await carol.call("bb84:start", { roomId: "qkd-members", peerId: a.userId, qubits: 10, cascadeVariant: "yanetal-tuned" })).toMatchObject({
    ok: false,
    error: { code: "INVALID_PAYLOAD" },
  });
  expect(await carol.call("bb84:start", { roomId: "qkd-members", peerId: a.userId, qubits: 4096, cascadeVariant: "nope" })).toMatchObject({
    ok: false,
    error: { code: "INVALID_PAYLOAD" },
  });
  expect(await carol.call("channel:set", { roomId: "qkd-members", channel: { noise: 0.7, loss: 0, eve: 0 } })).toMatchObject({
    ok: false,
    error: { code: "INVALID_PAYLOAD" },
  });
  outsider.close();
  carol.close();
});

test("a party leaving mid-session ends it for the other with a reason", async () => {
  const { a, b } = await pair("qkd-leave");
  // A slow engine on Bob's side keeps the session running until Bob leaves.
  const started = a.startBb84("qkd-leave", b.userId, { qubits: 1 << 20 });
  await until(() => room(b, "qkd-leave").bb84.live.length === 1, 3000, "running at bob");
  await b.leave("qkd-leave");
  const res = await started;
  expect(res.status).toBe("aborted");
  await until(() => room(a, "qkd-leave").bb84.alarms.length === 1, 3000, "alarm at alice");
  expect(room(a, "qkd-leave").bb84.alarms[0].reason).toMatch(/left the room/);
  const row = await finishedRow(res.sessionId);
  expect(row).toMatchObject({ outcome: "aborted", abortCode: "PEER_LEFT", abortedBy: "server" });
});

test("a peer that never answers: the session aborts after the idle time, with that reason", async () => {
  const a = new ChatClient({ url: srv.url, identity: await generateIdentity(), storage: new MemoryStorage(), requestTimeoutMs: 5000, bb84IdleMs: 400 });
  clients.push(a);
  await a.connect();
  await a.join("qkd-silent", "alice");
  const mute = await connectRaw(srv.url); // a member whose client never runs BB84
  await mute.call("room:join", { roomId: "qkd-silent", displayName: "mute" });
  await until(() => room(a, "qkd-silent").members.length === 2, 3000, "mute present");
  const res = await a.startBb84("qkd-silent", mute.userId, { qubits: 4096 });
  expect(res.status).toBe("aborted");
  expect(room(a, "qkd-silent").bb84.alarms[0].reason).toMatch(/no answer from the peer/);
  expect((mute.received.get("bb84:frame") ?? []).length).toBeGreaterThan(0); // it did get the (sealed) frames
  const row = await finishedRow(res.sessionId);
  expect(row).toMatchObject({ outcome: "aborted", abortCode: "CANCELLED", abortedBy: a.userId });
  mute.close();
});

test("a clean shutdown stores a running session as aborted, with its summary log row", async () => {
  const a = await makeClient();
  await a.join("qkd-stop", "alice");
  const mute = await connectRaw(srv.url);
  await mute.call("room:join", { roomId: "qkd-stop", displayName: "mute" });
  await until(() => room(a, "qkd-stop").members.length === 2, 3000, "mute present");
  void a.startBb84("qkd-stop", mute.userId, { qubits: 4096 }).catch(() => {});
  await until(() => room(a, "qkd-stop").bb84.live.length === 1, 3000, "session running");
  const id = room(a, "qkd-stop").bb84.live[0].sessionId;
  expect((await srv.prisma.bb84Session.findUniqueOrThrow({ where: { id } })).outcome).toBe("running");
  await srv.app.close(); // what SIGTERM runs
  const row = await srv.prisma.bb84Session.findUniqueOrThrow({ where: { id } });
  expect(row.outcome).toBe("aborted");
  expect(row.abortedBy).toBe("server");
  expect(row.finishedAt).not.toBeNull();
  const logs = await srv.prisma.roomLog.findMany({ where: { roomId: "qkd-stop", type: "BB84_SESSION_SUMMARY" } });
  expect(logs).toHaveLength(1);
  expect(JSON.parse(logs[0].meta)).toMatchObject({ sessionId: id, outcome: "aborted" });
  mute.close();
});

test("channel settings persist with the room and are refused when out of range", async () => {
  const a = await makeClient();
  await a.join("qkd-chan", "alice");
  await a.setChannel("qkd-chan", { noise: 0.03, loss: 0.2, eve: 0.5 });
  await a.leave("qkd-chan"); // the room empties: presence forgets it
  const b = await makeClient();
  const joined = await b.join("qkd-chan", "bob");
  expect(joined.channel).toEqual({ noise: 0.03, loss: 0.2, eve: 0.5 });
  expect(room(b, "qkd-chan").channel).toEqual({ noise: 0.03, loss: 0.2, eve: 0.5 });
  await expect(b.setChannel("qkd-chan", { noise: 0.03, loss: 1, eve: 0 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
  await expect(b.setChannel("qkd-chan", { noise: -0.1, loss: 0, eve: 0 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
  expect(room(b, "qkd-chan").channel).toEqual({ noise: 0.03, loss: 0.2, eve: 0.5 }); // unchanged
  const row = await srv.prisma.room.findUniqueOrThrow({ where: { id: "qkd-chan" } });
  expect(row).toMatchObject({ channelNoise: 0.03, channelLoss: 0.2, channelEve: 0.5 });
  const changes = await srv.prisma.roomLog.findMany({ where: { roomId: "qkd-chan", type: "CHANNEL_SETTINGS_CHANGED" } });
  expect(changes).toHaveLength(1);
  expect(changes[0].actorId).toBe(a.userId);
});

test("a frame injected under another sender (a lying relay) aborts the session on both sides", async () => {
  const { a, b } = await pair("qkd-inject");
  const started = a.startBb84("qkd-inject", b.userId, { qubits: 1 << 20 });
  await until(() => room(b, "qkd-inject").bb84.live.length === 1, 5000, "running at bob");
  const sid = room(b, "qkd-inject").bb84.live[0].sessionId;
  // The server itself delivers a frame for the session that claims to come from someone else.
  srv.socketsOf(b.userId)[0].emit("bb84:frame", { roomId: "qkd-inject", from: "c".repeat(32), sessionId: sid, frame: new Uint8Array(64) });
  const res = await started;
  expect(res.status).toBe("aborted");
  for (const c of [a, b]) {
    await until(() => room(c, "qkd-inject").bb84.alarms.length === 1, 5000, "alarm");
    expect(room(c, "qkd-inject").bb84.alarms[0].reason).toMatch(/not its peer/);
  }
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: false });
});

test("leaving the room mid-session ends our own session at once", async () => {
  const { a, b } = await pair("qkd-self-leave");
  const started = a.startBb84("qkd-self-leave", b.userId, { qubits: 1 << 21 });
  await until(() => room(b, "qkd-self-leave").bb84.live.length === 1, 5000, "running at bob");
  const t0 = Date.now();
  await a.leave("qkd-self-leave");
  const res = await started;
  expect(res.status).toBe("aborted");
  expect(Date.now() - t0).toBeLessThan(15_000); // not the 60 s no-answer timeout
  await until(() => room(b, "qkd-self-leave").bb84.alarms.length === 1, 5000, "alarm at bob");
  expect(room(b, "qkd-self-leave").bb84.alarms[0].reason).toMatch(/left the room/);
});
