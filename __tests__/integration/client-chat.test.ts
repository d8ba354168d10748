/**
 * ChatClient against the real server (port 0, temporary database): honest members chat end to end,
 * the room re-keys on every join, leave and reconnect, and everything that fails a check shows up
 * as a rejected message with a reason instead of disappearing.
 */
import { MemoryStorage, type ChatClient, type ChatMessage, type RoomView } from "@/lib/client";
import { generateIdentity, type Identity } from "@/lib/crypto";
import { leaderOf } from "@/lib/protocol";
import { sleep, until } from "../helpers/waits";
import { startTestServer, type TestServer } from "../helpers/server";
import { honestClients } from "../helpers/clients";

let srv: TestServer;
const { clients, makeClient } = honestClients(() => srv.url);

beforeEach(async () => {
  srv = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv.close();
});

/** n identities sorted by user id (the first is the leader whenever it is present). */
async function identities(n: number): Promise<Identity[]> {
  const ids = await Promise.all(Array.from({ length: n }, () => generateIdentity()));
  return ids.sort((a, b) => (a.userId < b.userId ? -1 : 1));
}

const room = (c: ChatClient, roomId: string): RoomView | undefined => c.state.rooms[roomId];
const texts = (c: ChatClient, roomId: string) => (room(c, roomId)?.messages ?? []).filter((m) => m.status === "ok").map((m) => m.text);

/** Every client in the room at one epoch, holding its key. */
async function keyed(roomId: string, ...cs: ChatClient[]) {
  await until(
    () => {
      const views = cs.map((c) => room(c, roomId));
      return views.every((v) => v && v.keyEpoch === v.epoch && !v.waitingForKey && v.epoch === views[0]!.epoch && v.members.length === cs.length);
    },
    5000,
    "all members keyed on one epoch",
  );
  return room(cs[0], roomId)!.epoch;
}

async function received(c: ChatClient, roomId: string, text: string) {
  await until(() => texts(c, roomId).includes(text), 5000, `"${text}" at ${c.userId.slice(0, 6)}`);
}

/** Records every server event a client's socket receives, for "nothing arrived" assertions. */
function tap(c: ChatClient) {
  const seen: { event: string; payload: any }[] = [];
  c.socket!.onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

test("three members chat both ways; a late joiner reads what follows; a leave re-keys without the leaver", async () => {
  const [ia, ib, ic] = await identities(3);
  const a = await makeClient(ia);
  const b = await makeClient(ib);
  const joined = await a.join("club", "alice", 5);
  expect(joined).toMatchObject({ roomId: "club", you: a.userId, created: true, capacity: 5 });
  await b.join("club", "bob");
  const e1 = await keyed("club", a, b);
  expect(room(a, "club")!.leaderId).toBe(a.userId);
  expect(room(b, "club")!.leaderId).toBe(leaderOf([a.userId, b.userId]));

  const sent = await a.send("club", "hello bob");
  expect(sent).toMatchObject({ mine: true, status: "ok", text: "hello bob", from: a.userId, fromName: "alice", epoch: e1, direct: false });
  expect(room(a, "club")!.messages.at(-1)).toMatchObject({ id: sent.id, mine: true, text: "hello bob" });
  await b.send("club", "hi alice");
  await received(b, "club", "hello bob");
  await received(a, "club", "hi alice");
  expect(room(b, "club")!.messages.find((m) => m.text === "hello bob")).toMatchObject({ from: a.userId, fromName: "alice", mine: false, status: "ok" });

  // A late joiner: a new epoch, keyed by the leader; it reads what is sent after it joined.
  const c = await makeClient(ic);
  await c.join("club", "carol");
  const e2 = await keyed("club", a, b, c);
  expect(e2).toBeGreaterThan(e1);
  await b.send("club", "welcome carol");
  await c.send("club", "thanks");
  await received(c, "club", "welcome carol");
  await received(a, "club", "welcome carol");
  await received(a, "club", "thanks");
  await received(b, "club", "thanks");
  expect(texts(c, "club")).not.toContain("hello bob"); // nothing from before it joined

  // The leader (alice) leaves: a new epoch, bob leads now, and alice gets no share of its key.
  const aliceSeen = tap(a);
  await a.leave("club");
  expect(room(a, "club")).toBeUndefined();
  const e3 = await keyed("club", b, c);
  expect(e3).toBeGreaterThan(e2);
  expect(room(b, "club")!.leaderId).toBe(b.userId);
  expect(
    room(c, "club")!
      .members.map((m) => m.userId)
      .sort(),
  ).toEqual([b.userId, c.userId].sort());
  await c.send("club", "just us");
  await b.send("club", "indeed");
  await received(b, "club", "just us");
  await received(c, "club", "indeed");
  await sleep(100);
  expect(aliceSeen.filter((s) => s.event === "roomkey:shared")).toEqual([]);
  expect(aliceSeen.filter((s) => s.event === "message:received")).toEqual([]);
  expect(texts(a, "club")).toEqual([]); // the room is gone from alice's state
});

test("a direct message reaches only its recipient, under the pair key", async () => {
  const a = await makeClient();
  const b = await makeClient();
  const c = await makeClient();
  await a.join("dm-room", "alice");
  await b.join("dm-room", "bob");
  await c.join("dm-room", "carol");
  await keyed("dm-room", a, b, c);
  const carolSeen = tap(c);

  const dm = await a.send("dm-room", "only for bob", b.userId);
  expect(dm).toMatchObject({ direct: true, to: b.userId, epoch: 0, mine: true });
  await until(() => room(b, "dm-room")!.messages.some((m) => m.text === "only for bob"), 5000, "dm at bob");
  expect(room(b, "dm-room")!.messages.find((m) => m.id === dm.id)).toMatchObject({ direct: true, to: b.userId, from: a.userId, status: "ok" });
  const reply = await b.send("dm-room", "got it", a.userId);
  await until(() => room(a, "dm-room")!.messages.some((m) => m.id === reply.id && m.status === "ok"), 5000, "reply at alice");

  await a.send("dm-room", "to everyone");
  await received(c, "dm-room", "to everyone");
  expect(carolSeen.filter((s) => s.event === "message:received").map((s) => s.payload.id)).not.toContain(dm.id);
  expect(carolSeen.filter((s) => s.event === "message:received").map((s) => s.payload.id)).not.toContain(reply.id);
  expect(room(c, "dm-room")!.messages.map((m) => m.id)).not.toContain(dm.id);

  await expect(a.send("dm-room", "nobody", "0".repeat(32))).rejects.toMatchObject({ code: "UNKNOWN_PEER" });
});

// On two nodes (cluster project) connection-state recovery restores the socket with its id and
// replays room:updated before the re-join is answered: that must not count as being back in the room.
test("a reconnect re-authenticates and resumes its membership: same epoch, same key, nobody re-keyed", async () => {
  const a = await makeClient();
  const b = await makeClient();
  await a.join("rejoin", "alice");
  await b.join("rejoin", "bob");
  const e1 = await keyed("rejoin", a, b);
  await a.send("rejoin", "before");
  await received(b, "rejoin", "before");

  const states: string[] = [];
  b.on("change", (s) => {
    if (states.at(-1) !== s.connection) states.push(s.connection);
  });
  b.socket!.io.engine.close(); // the transport drops; socket.io reconnects
  await until(() => b.state.connection === "offline" || states.includes("offline"), 3000, "offline");
  await until(() => states.at(-1) === "online" && room(b, "rejoin")!.present, 5000, "online again");
  const e2 = await keyed("rejoin", a, b);
  expect(e2).toBe(e1); // a disconnect is not a leave: no new epoch
  expect(states).toEqual(expect.arrayContaining(["offline", "authenticating", "online"]));
  expect(room(b, "rejoin")!.present).toBe(true);

  await b.send("rejoin", "after reconnect");
  await a.send("rejoin", "welcome back");
  await received(a, "rejoin", "after reconnect");
  await received(b, "rejoin", "welcome back");
  // Counters kept increasing: nothing of bob's was taken for a replay.
  expect(room(a, "rejoin")!.messages.filter((m) => m.status === "rejected")).toEqual([]);
});

test("a send issued before the key arrives waits for it; a message that arrives before its key waits visibly", async () => {
  const [ia, ib, ic] = await identities(3);
  const a = await makeClient(ia);
  const b = await makeClient(ib);
  await a.join("slow", "alice");
  await b.join("slow", "bob");
  await keyed("slow", a, b);

  // Carol (never the leader here) holds back her shares so that a message overtakes its key.
  const c = await makeClient(ic);
  const socket = c.socket!;
  const original = socket.listeners("roomkey:shared");
  expect(original).toHaveLength(1);
  socket.off("roomkey:shared");
  const held: any[] = [];
  socket.on("roomkey:shared", (s) => held.push(s));

  await c.join("slow", "carol");
  await until(() => held.length === 1, 5000, "the share for carol");
  expect(room(c, "slow")!.waitingForKey).toBe(true);
  const sending = c.send("slow", "sent before my key"); // waits for the key

  await until(() => room(a, "slow")!.epoch === room(c, "slow")!.epoch && room(a, "slow")!.keyEpoch === room(a, "slow")!.epoch, 5000, "alice keyed");
  const early = await a.send("slow", "overtakes the key");
  await until(() => room(c, "slow")!.messages.some((m) => m.id === early.id), 5000, "early message at carol");
  expect(room(c, "slow")!.messages.find((m) => m.id === early.id)).toMatchObject({ status: "waiting-key", fromName: "alice" });

  const decrypted = new Promise<ChatMessage>((r) => c.on("message", (msg) => msg.id === early.id && r(msg)));
  (original[0] as (s: unknown) => void)(held[0]);
  expect(await decrypted).toMatchObject({ id: early.id, status: "ok", text: "overtakes the key" });
  expect(room(c, "slow")!.messages.find((m) => m.id === early.id)).toMatchObject({ status: "ok", text: "overtakes the key" });
  await expect(sending).resolves.toMatchObject({ mine: true, status: "ok" });
  await received(a, "slow", "sent before my key");
  await received(b, "slow", "sent before my key");
});

test("forged, replayed and tampered messages show as rejected with a reason", async () => {
  const a = await makeClient();
  const b = await makeClient();
  const m = await makeClient(); // mallory: a member whose raw socket misbehaves
  await a.join("guarded", "alice");
  await b.join("guarded", "bob");
  await m.join("guarded", "mallory");
  const epoch = await keyed("guarded", a, b, m);

  const outgoing: any[] = [];
  m.socket!.onAnyOutgoing((event: string, payload: unknown) => {
    if (event === "message:send") outgoing.push(payload);
  });
  await m.send("guarded", "genuine");
  await received(a, "guarded", "genuine");
  const genuine = outgoing[0];

  const rejectedAtA: ChatMessage[] = [];
  a.on("rejected", (msg) => rejectedAtA.push(msg));
  const raw = (payload: unknown) => new Promise<any>((resolve) => (m.socket as any).emit("message:send", payload, (res: unknown) => resolve(res)));

  // 1. A forged signature (the relay accepts opaque bytes; receivers must not).
  const sig = genuine.signature as string;
  const forgedSig = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
  const r1 = await raw({ ...genuine, counter: genuine.counter + 1, signature: forgedSig });
  expect(r1).toMatchObject({ ok: true });
  await until(() => rejectedAtA.some((x) => x.id === r1.data.id), 5000, "forgery rejected");
  expect(room(a, "guarded")!.messages.find((x) => x.id === r1.data.id)).toMatchObject({
    status: "rejected",
    reason: "Signature check failed — message discarded",
    from: m.userId,
    fromName: "mallory",
  });

  // 2. The genuine envelope again: a replayed counter.
  const r2 = await raw(genuine);
  await until(() => rejectedAtA.some((x) => x.id === r2.data.id), 5000, "replay rejected");
  expect(room(a, "guarded")!.messages.find((x) => x.id === r2.data.id)!.reason).toMatch(/Replayed/);

  // 3. Tampered ciphertext under a valid-looking header: the signature covers the ciphertext.
  const ct = genuine.ciphertext as string;
  const r3 = await raw({ ...genuine, counter: genuine.counter + 2, ciphertext: (ct[0] === "A" ? "B" : "A") + ct.slice(1) });
  await until(() => rejectedAtA.some((x) => x.id === r3.data.id), 5000, "tamper rejected");
  expect(room(a, "guarded")!.messages.find((x) => x.id === r3.data.id)!.reason).toBe("Signature check failed — message discarded");

  // 4. A "direct message" to bob carrying a room envelope: the recipient is signed, so it fails.
  const r4 = await raw({ ...genuine, epoch: 0, counter: genuine.counter + 3, to: b.userId });
  expect(r4).toMatchObject({ ok: true });
  await until(() => room(b, "guarded")!.messages.some((x) => x.id === r4.data.id && x.status === "rejected"), 5000, "fake dm rejected");

  // Nothing of it reached anyone as readable text, and honest traffic still flows.
  expect(texts(a, "guarded")).toEqual(["genuine"]);
  await b.send("guarded", "still fine");
  await received(a, "guarded", "still fine");
  expect(room(a, "guarded")!.epoch).toBe(epoch);
});

test("safety numbers, verified marks and a changed key behind a known name", async () => {
  const storage = new MemoryStorage();
  const a = await makeClient(undefined, { storage });
  const b = await makeClient();
  await a.join("trust", "alice");
  await b.join("trust", "bob");
  await keyed("trust", a, b);

  const n1 = await a.safetyNumberWith(b.userId);
  expect(n1).toMatch(/^\d{60}$/);
  expect(await b.safetyNumberWith(a.userId)).toBe(n1);
  const bobAtA = () => room(a, "trust")!.members.find((x) => x.displayName === "bob")!;
  expect(bobAtA()).toMatchObject({ bindingValid: true, verified: false, keyChanged: false, isMe: false });
  expect(bobAtA().fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
  expect(room(a, "trust")!.members.find((x) => x.isMe)!.userId).toBe(a.userId);

  a.markVerified(b.userId, true);
  expect(bobAtA().verified).toBe(true);
  expect(storage.get(`verified:${b.identity.signingKey}`)).toBe("1");

  // Bob leaves; someone else joins as "bob" with another key: flagged, not verified.
  await b.leave("trust");
  b.close();
  await until(() => room(a, "trust")!.members.length === 1, 5000, "bob gone");
  const impostor = await makeClient();
  await impostor.join("trust", "Bob");
  await until(() => room(a, "trust")!.members.length === 2, 5000, "impostor in");
  const flagged = room(a, "trust")!.members.find((x) => x.userId === impostor.userId)!;
  expect(flagged).toMatchObject({ keyChanged: true, verified: false });
  a.acceptKeyChange(impostor.userId);
  expect(room(a, "trust")!.members.find((x) => x.userId === impostor.userId)!.keyChanged).toBe(false);

  // A fresh client over the same storage remembers the verified mark for the original key.
  expect(storage.get(`verified:${b.identity.signingKey}`)).toBe("1");
});

test("QKD-hardened pair keys: both sides switch to the hybrid key and keep talking", async () => {
  const [ia, ib] = await identities(2);
  const a = await makeClient(ia);
  const b = await makeClient(ib);
  await a.join("qkd", "alice");
  await b.join("qkd", "bob");
  await keyed("qkd", a, b);
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: false });
  expect(a.pairInfo("f".repeat(32))).toBeNull();

  const qkd = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 255);
  await a.setPairQkdKey(b.userId, qkd);
  await b.setPairQkdKey(a.userId, qkd);
  expect(a.pairInfo(b.userId)).toEqual({ hybrid: true });
  expect(b.pairInfo(a.userId)).toEqual({ hybrid: true });

  const dm = await a.send("qkd", "hardened", b.userId);
  await until(() => room(b, "qkd")!.messages.some((m) => m.id === dm.id && m.status === "ok"), 5000, "hybrid dm");

  // A re-key wraps the room key for bob under the hybrid wrapKey: bob still gets it.
  const c = await makeClient();
  await c.join("qkd", "carol");
  await keyed("qkd", a, b, c);
  await a.send("qkd", "after re-key");
  await received(b, "qkd", "after re-key");
  await received(c, "qkd", "after re-key");
});

test("room logs: history on join and live entries, without other members' private rows", async () => {
  const a = await makeClient();
  const b = await makeClient();
  await a.join("logged", "alice");
  await b.join("logged", "bob");
  await keyed("logged", a, b);
  await a.send("logged", "one");
  await until(() => (room(b, "logged")?.logs ?? []).some((l) => l.type === "MESSAGE_RELAYED"), 5000, "live MESSAGE_RELAYED");
  await until(() => (room(a, "logged")?.logs ?? []).some((l) => l.type === "MEMBER_JOINED" && l.actorId === b.userId), 5000, "MEMBER_JOINED");
  const logsA = room(a, "logged")!.logs;
  expect(logsA.map((l) => l.id)).toEqual([...logsA.map((l) => l.id)].sort((x, y) => x - y));
  expect(new Set(logsA.map((l) => l.id)).size).toBe(logsA.length);

  const c = await makeClient();
  await c.join("logged", "carol");
  // Carol's history (loaded on join) includes what happened before her, minus private rows.
  await until(() => (room(c, "logged")?.logs ?? []).some((l) => l.type === "ROOM_CREATED"), 5000, "history for carol");
  const logsC = room(c, "logged")!.logs;
  expect(logsC.some((l) => l.type === "MESSAGE_RELAYED")).toBe(true);
  expect(logsC.filter((l) => l.type === "KEY_SHARE_RELAYED").every((l) => l.actorId === c.userId || l.targetId === c.userId)).toBe(true);
  const fetched = await c.fetchLogs("logged");
  expect(fetched.length).toBeGreaterThan(0);
});

test("commands answer with ClientError codes; sending to a room you are not in fails cleanly", async () => {
  const a = await makeClient();
  await expect(a.send("nowhere", "x")).rejects.toMatchObject({ code: "NOT_JOINED" });
  await expect(a.request("logs:fetch", { roomId: "nowhere" })).rejects.toMatchObject({ code: "NOT_A_MEMBER" });
  await expect(a.join("bad room id!", "alice")).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
  const b = await makeClient();
  await a.join("small", "alice", 2);
  await b.join("small", "bob");
  const c = await makeClient();
  await expect(c.join("small", "carol")).rejects.toMatchObject({ code: "ROOM_FULL" });
  expect(room(c, "small")).toBeUndefined();
  const random = await c.join(undefined, "carol");
  expect(random.roomId).toMatch(/^[A-Za-z0-9_-]{12}$/);
  expect(room(c, random.roomId)).toBeDefined();
});

test("a reload (same identity, new client) resumes the membership: same epoch, the old connection closed, messages keep flowing", async () => {
  const ia = await generateIdentity();
  const old = await makeClient(ia);
  const b = await makeClient();
  await old.join("reload", "alice");
  await b.join("reload", "bob");
  const e1 = await keyed("reload", old, b);
  const dm1 = await old.send("reload", "dm before reload", b.userId);
  await until(() => room(b, "reload")!.messages.some((m) => m.id === dm1.id && m.status === "ok"), 5000, "dm before");
  const errors: string[] = [];
  old.on("error", (e) => errors.push(e.code));

  old.close(); // the reloaded page's connection goes away
  const fresh = await makeClient(ia);
  const joined = await fresh.join("reload", "alice");
  expect(joined).toMatchObject({ resumed: true, epoch: e1 });
  // The in-memory client lost the epoch key; the server kept its share (a key blob) and hands it back.
  // (An older epoch's blob may still be there if the old tab closed before its ack went out.)
  expect(joined.keyShares.map((k) => k.epoch).at(-1)).toBe(e1);
  expect(await keyed("reload", fresh, b)).toBe(e1);
  await fresh.send("reload", "I reloaded");
  await received(b, "reload", "I reloaded");
  await b.send("reload", "welcome back");
  await received(fresh, "reload", "welcome back");
  // Direct messages share one replay scope per room: the reloaded tab's counters kept increasing.
  const dm2 = await fresh.send("reload", "dm after reload", b.userId);
  await until(() => room(b, "reload")!.messages.some((m) => m.id === dm2.id && m.status !== "waiting-key"), 5000, "dm after");
  expect(room(b, "reload")!.messages.find((m) => m.id === dm2.id)).toMatchObject({ status: "ok", text: "dm after reload" });
  expect(errors).not.toContain("SESSION_REPLACED");
  expect(fresh.state.connection).toBe("online");
});
