/**
 * End-to-end encrypted history through the real server (real SQLite) and honest ChatClients
 * (issue 12, item 4, client side): a reload (a new client with the same identity and the same
 * stores) reads earlier messages; a member who was offline returns and reads the room messages
 * and direct messages sent meanwhile (key blobs + history:fetch); a late joiner sees earlier
 * messages as not available; the exact replay rules hold for live traffic after a reload.
 */
import { ChatClient, MemoryCounterStore, MemoryEpochKeyStore, MemoryStorage, type RoomView } from "@/lib/client";
import { encodeChatPayload, encryptMessage, generateIdentity, type Identity } from "@/lib/crypto";
import { LIMITS, type MessageReceived } from "@/lib/protocol";
import { serverPerTest } from "../helpers/per-test";
import { until } from "../helpers/waits";
import { buildTimeline } from "@/lib/ui/timeline";

const t = serverPerTest();
const clients: ChatClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** A member's browser profile: identity, epoch keys and counters that outlive one client (a tab). */
interface Profile {
  identity: Identity;
  epochKeys: MemoryEpochKeyStore;
  counters: MemoryCounterStore;
}
async function profile(): Promise<Profile> {
  return { identity: await generateIdentity(), epochKeys: new MemoryEpochKeyStore(), counters: new MemoryCounterStore() };
}
async function open(p: Profile): Promise<ChatClient> {
  const c = new ChatClient({
    url: t.srv.url,
    identity: p.identity,
    storage: new MemoryStorage(),
    epochKeys: p.epochKeys,
    counters: p.counters,
    requestTimeoutMs: 5000,
    keyWaitMs: 5000,
  });
  clients.push(c);
  await c.connect();
  return c;
}
const view = (c: ChatClient, roomId: string): RoomView => c.state.rooms[roomId]!;
const texts = (c: ChatClient, roomId: string) =>
  view(c, roomId)
    .messages.filter((m) => m.status === "ok")
    .map((m) => m.text);
async function keyed(roomId: string, ...cs: ChatClient[]) {
  await until(() => cs.every((c) => c.state.rooms[roomId] && c.state.rooms[roomId]!.keyEpoch === c.state.rooms[roomId]!.epoch), 5000, "room keyed");
}
async function loadAll(c: ChatClient, roomId: string, limit?: number) {
  while ((await c.loadHistory(roomId, limit)) > 0);
}

test("a reload (new client, same identity and stores) reads the earlier messages, each once, in order", async () => {
  const pa = await profile();
  const pb = await profile();
  const a = await open(pa);
  const b = await open(pb);
  await a.join("hist", "alice", undefined, { days: 7 });
  await b.join("hist", "bob");
  await keyed("hist", a, b);
  for (let i = 0; i < 5; i++) await a.send("hist", `a${i}`);
  await b.send("hist", "from bob");
  await b.send("hist", "a direct one", a.userId);
  await until(() => texts(a, "hist").includes("a direct one"), 5000, "dm at alice");

  a.close();
  const a2 = await open(pa);
  await a2.join("hist", "alice");
  expect(texts(a2, "hist")).toEqual([]);
  // Small pages, so paging by cursor is exercised.
  await loadAll(a2, "hist", 3);
  expect(texts(a2, "hist")).toEqual(["a0", "a1", "a2", "a3", "a4", "from bob", "a direct one"]);
  expect(view(a2, "hist").messages.every((m) => m.fromHistory)).toBe(true);
  expect(view(a2, "hist").history.nextBefore).toBeNull();
  // Loading again adds nothing.
  expect(await a2.loadHistory("hist")).toBe(0);
  expect(view(a2, "hist").messages).toHaveLength(7);
  // Life goes on after the reload, both ways.
  await keyed("hist", a2, b);
  await a2.send("hist", "back");
  await until(() => texts(b, "hist").includes("back"), 5000, "bob reads back");
  await b.send("hist", "hi again");
  await until(() => texts(a2, "hist").includes("hi again"), 5000, "alice reads hi again");
});

test("Show all history: loadAllHistory reads 2,300 stored messages in pages of 1,000, every one verified and decrypted, in order; a tampered one is shown rejected", async () => {
  const pa = await profile();
  const pb = await profile();
  const a = await open(pa);
  const b = await open(pb);
  await a.join("bulk", "alice", undefined, { days: 7 });
  await b.join("bulk", "bob");
  await keyed("bulk", a, b);
  await a.send("bulk", "relayed first");
  await until(() => texts(b, "bulk").includes("relayed first"), 5000, "bob reads");
  // Alice's messages written straight into the table in the relayed form (the command limit would make 2,300 sends slow).
  const epoch = view(a, "bulk").keyEpoch!;
  const key = (await pa.epochKeys.get("bulk", epoch))!;
  const N = 2300;
  const rows = [];
  for (let i = 0; i < N; i++) {
    const counter = await pa.counters.reserve(a.userId, 1);
    const enc = await encryptMessage(
      pa.identity,
      key,
      { roomId: "bulk", epoch, senderId: a.userId, counter },
      encodeChatPayload({ text: `bulk ${i}`, sentAt: Date.now() }),
    );
    const ts = new Date(Date.now() + i);
    const env: MessageReceived = { id: `bulk${i}`, roomId: "bulk", from: a.userId, to: null, epoch, counter, ...enc, ts: ts.toISOString() };
    if (i === 1500) env.ciphertext = env.ciphertext.slice(0, 10) + (env.ciphertext[10] === "A" ? "B" : "A") + env.ciphertext.slice(11);
    rows.push({ roomId: "bulk", epoch, senderId: a.userId, kind: "room", recipientId: null, body: JSON.stringify(env), createdAt: ts });
  }
  await t.srv.app.deps.envelopes.flush();
  await t.srv.prisma.envelope.createMany({ data: rows });

  b.close();
  const b2 = await open(pb);
  await b2.join("bulk", "bob");
  expect(await b2.loadHistory("bulk")).toBe(100); // the newest page, as the room opens (the next is prepared ahead)
  expect(await b2.loadAllHistory("bulk")).toBe(N + 1 - 100);
  const expected = ["relayed first", ...Array.from({ length: N }, (_, i) => `bulk ${i}`).filter((x) => x !== "bulk 1500")];
  expect(texts(b2, "bulk")).toEqual(expected);
  const rejected = view(b2, "bulk").messages.filter((m) => m.status !== "ok");
  expect(rejected.map((m) => [m.id, m.status])).toEqual([["bulk1500", "rejected"]]);
  expect(rejected[0].reason).toMatch(/signature/i);
  expect(view(b2, "bulk").history).toMatchObject({ nextBefore: null, loading: false, error: null });
  expect(await b2.loadAllHistory("bulk")).toBe(0);
  expect(LIMITS.maxHistoryFetch).toBe(1000);
});

test("an offline member returns and reads the room messages and direct messages sent meanwhile", async () => {
  const [pa, pb, pc] = await Promise.all([profile(), profile(), profile()]);
  const a = await open(pa);
  const b = await open(pb);
  const c = await open(pc);
  await a.join("away", "alice");
  await b.join("away", "bob");
  await c.join("away", "carol");
  await keyed("away", a, b, c);
  await a.send("away", "before carol left");
  await until(() => texts(c, "away").includes("before carol left"), 5000, "carol reads");

  c.close(); // carol's laptop lid: she stays a member
  await until(() => view(a, "away").members.some((m) => m.userId === pc.identity.userId && !m.online), 5000, "carol shown offline");
  expect(view(a, "away").members).toHaveLength(3);
  await a.send("away", "while carol was away");
  await b.send("away", "bob too");
  await b.send("away", "psst carol", pc.identity.userId);
  // A newcomer starts a new epoch while carol is offline: its key waits for her as a key blob.
  const pd = await profile();
  const d = await open(pd);
  await d.join("away", "dave");
  await keyed("away", a, b, d);
  await d.send("away", "dave here, new epoch");

  const c2 = await open(pc);
  const joined = await c2.join("away", "carol");
  expect(joined.resumed).toBe(true);
  await loadAll(c2, "away");
  expect(texts(c2, "away")).toEqual(["before carol left", "while carol was away", "bob too", "psst carol", "dave here, new epoch"]);
  // And dave, who joined later, sees none of the earlier messages: the server does not even send them.
  await loadAll(d, "away");
  expect(texts(d, "away")).toEqual(["dave here, new epoch"]);
  expect(view(d, "away").messages).toHaveLength(1); // its own message, shown once (sent live, then in history)
});

test("a message read before a reload and replayed live into the new session is rejected; history shows it once", async () => {
  const pa = await profile();
  const pm = await profile();
  const a = await open(pa);
  const m = await open(pm); // mallory: a member whose raw socket re-sends her own genuine envelope
  await a.join("replay", "alice");
  await m.join("replay", "mallory");
  await keyed("replay", a, m);
  const outgoing: Record<string, unknown>[] = [];
  m.socket!.onAnyOutgoing((event: string, payload: Record<string, unknown>) => {
    if (event === "message:send") outgoing.push(payload);
  });
  await m.send("replay", "genuine");
  await until(() => texts(a, "replay").includes("genuine"), 5000, "alice reads");

  a.close();
  const a2 = await open(pa);
  await a2.join("replay", "alice");
  await loadAll(a2, "replay");
  expect(texts(a2, "replay")).toEqual(["genuine"]);
  await keyed("replay", a2, m);
  // The relay (here: mallory's socket) delivers the recorded envelope again, live, under a new id.
  // The new session's replay window has never seen its counter; the exact session set has.
  const res = await new Promise<any>((resolve) => (m.socket as any).emit("message:send", outgoing[0], (r: unknown) => resolve(r)));
  expect(res.ok).toBe(true);
  await until(() => view(a2, "replay").messages.some((x) => x.id === res.data.id), 5000, "replay arrives");
  expect(view(a2, "replay").messages.find((x) => x.id === res.data.id)).toMatchObject({ status: "rejected" });
  expect(view(a2, "replay").messages.find((x) => x.id === res.data.id)!.reason).toMatch(/Replayed/);
  expect(texts(a2, "replay")).toEqual(["genuine"]);
  // Fresh messages still flow.
  await m.send("replay", "fresh");
  await until(() => texts(a2, "replay").includes("fresh"), 5000, "fresh read");
});

test("room events older than the log rows fetched at join come back beside older history (logs:fetch events + beforeId)", async () => {
  const pa = await profile();
  const a = await open(pa);
  const b = await open(await profile());
  await a.join("events", "alice", undefined, { days: 7 });
  await keyed("events", a);
  await a.send("events", "before bob");
  await b.join("events", "bob");
  await keyed("events", a, b);
  await a.send("events", "before the busy log");
  // A busy log: 300 rows after Bob's join, more than the 200 a join fetches.
  await t.srv.prisma.roomLog.createMany({
    data: Array.from({ length: 300 }, () => ({ roomId: "events", type: "MEMBER_ONLINE", actorId: a.userId, meta: "{}" })),
  });
  await a.send("events", "after the busy log");
  a.close();

  const a2 = await open(pa);
  await a2.join("events", "alice");
  const bobJoined = (c: ChatClient) => view(c, "events").logs.some((l) => l.type === "MEMBER_JOINED" && l.actorId === b.userId);
  await until(() => view(a2, "events").logs.length >= 200, 5000, "the join's log rows");
  const oldestAtJoin = Math.min(...view(a2, "events").logs.map((l) => l.id));
  expect(bobJoined(a2)).toBe(false);
  await loadAll(a2, "events");
  expect(texts(a2, "events")).toEqual(["before bob", "before the busy log", "after the busy log"]);
  expect(bobJoined(a2)).toBe(true);
  const oldest = view(a2, "events").messages[0]!.ts;
  const timeline = buildTimeline(view(a2, "events").messages, view(a2, "events").logs, oldest);
  // In line: after the message sent before Bob joined, before the next one.
  const at = (pred: (it: (typeof timeline)[number]) => boolean) => timeline.findIndex(pred);
  const joined = at((it) => it.kind === "event" && it.event === "joined" && it.userId === b.userId);
  expect(joined).toBeGreaterThan(at((it) => it.kind === "message" && it.m.text === "before bob"));
  expect(joined).toBeLessThan(at((it) => it.kind === "message" && it.m.text === "before the busy log"));
  // Only room events were paged back: no MEMBER_ONLINE row older than the join's 200 (a2's own
  // MEMBER_ONLINE may arrive live after the join's fetch: it is newer, so it does not count).
  expect(view(a2, "events").logs.filter((l) => l.type === "MEMBER_ONLINE" && l.id < oldestAtJoin)).toEqual([]);
});
