/**
 * Frames built to hurt the parser or the validator: deep nesting, huge arrays, binary where text
 * belongs, many attachments. Each gets an error or a closed connection; the server keeps serving.
 */
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { until } from "../helpers/waits";
import { startTestServer, type TestServer } from "../helpers/server";
import { COMMAND_NAMES } from "@/lib/protocol";

let srv: TestServer;
const clients: RawClient[] = [];
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await srv.close();
});

async function alive() {
  const c = await connectRaw(srv.url);
  clients.push(c);
  expect(await c.call("room:join", { roomId: "alive", displayName: `p${clients.length}` })).toMatchObject({ ok: true });
}

test("deeply nested payloads are refused without taking the server down", async () => {
  const c = await connectRaw(srv.url);
  clients.push(c);
  await c.call("room:join", { roomId: "deep", displayName: "d" });
  let deep: unknown = {};
  for (let i = 0; i < 500; i++) deep = { roomId: deep }; // as deep as socket.io-client will encode
  for (const name of COMMAND_NAMES) {
    expect(await c.call(name, deep)).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  }
  // A raw text frame with 100,000 nested arrays goes straight to the parser.
  const raw = `42["message:send",${"[".repeat(100_000)}${"]".repeat(100_000)}]`;
  (c.socket.io.engine as unknown as { send(d: string): void }).send(raw);
  await new Promise((r) => setTimeout(r, 300));
  await alive();
});

test("huge arrays, wrong types and binary in text fields get INVALID_PAYLOAD or TOO_LARGE", async () => {
  const c = await connectRaw(srv.url);
  clients.push(c);
  const st = (await c.call("room:join", { roomId: "types", displayName: "t" })) as any;
  const epoch = st.data.epoch;
  const base = { roomId: "types", epoch, counter: 1, iv: "A".repeat(16), ciphertext: "AAAA", signature: "A".repeat(86) };
  const cases: unknown[] = [
    { ...base, ciphertext: Buffer.alloc(100) },
    { ...base, counter: "1" },
    { ...base, counter: Number.MAX_SAFE_INTEGER + 2 },
    { ...base, epoch: Infinity },
    { ...base, to: ["x"] },
    {
      roomId: "types",
      epoch,
      shares: Array.from({ length: 1000 }, () => ({ to: "0".repeat(32), iv: "A".repeat(16), wrapped: "A", signature: "A".repeat(86) })),
    },
  ];
  for (const p of cases.slice(0, 5))
    expect(await c.call("message:send", p)).toMatchObject({ ok: false, error: { code: expect.stringMatching(/INVALID_PAYLOAD|TOO_LARGE/) } });
  expect(await c.call("roomkey:share", cases[5])).toMatchObject({ ok: false, error: { code: expect.stringMatching(/INVALID_PAYLOAD|TOO_LARGE/) } });
  // A handful of binary attachments where one frame belongs: refused by the schema.
  expect(
    await c.call("bb84:relay", { roomId: "types", to: "0".repeat(32), sessionId: "ab".repeat(16), frame: [Buffer.alloc(1), Buffer.alloc(1)] }),
  ).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  // Thousands of attachments in one event: the transport drops that connection, nothing else.
  const hog = await connectRaw(srv.url);
  clients.push(hog);
  const closed = new Promise((r) => hog.socket.once("disconnect", r));
  (hog.socket as any).emit("bb84:relay", {
    roomId: "types",
    to: "0".repeat(32),
    sessionId: "ab".repeat(16),
    frame: Array.from({ length: 5000 }, () => Buffer.alloc(1)),
  });
  await closed;
  await alive();
});

test("one address cannot hold more than its share of connections", async () => {
  const { io } = await import("socket.io-client");
  const { createServer } = await import("node:http");
  const { createApplication } = await import("@/server/app");
  const httpServer = createServer();
  const app = await createApplication(httpServer, { prisma: srv.prisma, maxConnectionsPerAddress: 3 });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(httpServer.address() as import("node:net").AddressInfo).port}`;
  const open = (): Promise<{ ok: boolean; s: ReturnType<typeof io> }> =>
    new Promise((resolve) => {
      const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
      s.once("connect", () => resolve({ ok: true, s }));
      s.once("connect_error", (e) => resolve({ ok: e.message !== "TOO_MANY_CONNECTIONS" ? true : false, s }));
    });
  try {
    const first = await Promise.all([open(), open(), open()]);
    expect(first.every((x) => x.ok)).toBe(true);
    const fourth = await open();
    expect(fourth.ok).toBe(false);
    first[0].s.close();
    await new Promise((r) => setTimeout(r, 100));
    const again = await open();
    expect(again.ok).toBe(true);
    for (const x of [...first, fourth, again]) x.s.close();
  } finally {
    await app.close();
    await new Promise<void>((r) => httpServer.close(() => r()));
  }
});

test("a receiver that stops reading cannot make the server queue without bound", async () => {
  const { createServer } = await import("node:http");
  const { createApplication } = await import("@/server/app");
  const httpServer = createServer();
  const app = await createApplication(httpServer, {
    prisma: srv.prisma,
    rateLimits: {
      bb84FramesPerSecond: Infinity,
      bb84FrameBurst: Infinity,
      bb84BytesPerSecond: Infinity,
      bb84ByteBurst: Infinity,
      commandsPerSecond: Infinity,
      commandBurst: Infinity,
    },
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(httpServer.address() as import("node:net").AddressInfo).port}`;
  const a = await connectRaw(url);
  const b = await connectRaw(url);
  try {
    await a.call("room:join", { roomId: "slow", displayName: "a" });
    const st = (await b.call("room:join", { roomId: "slow", displayName: "b" })) as any;
    // B stops reading from its TCP connection.
    (b.socket.io.engine as any).transport.ws._socket.pause();
    const started = (await a.call("bb84:start", { roomId: "slow", peerId: b.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })) as any;
    expect(started).toMatchObject({ ok: true });
    const frame = Buffer.alloc(1024 * 1024, 1);
    let sent = 0;
    let refusal: any = null;
    for (; sent < 200 && !refusal; sent++) {
      const r = (await a.call("bb84:relay", { roomId: "slow", to: b.userId, sessionId: started.data.id, frame })) as any;
      if (r === "no-ack" || !r.ok) refusal = r;
    }
    expect(refusal).toMatchObject({ ok: false, error: { code: "RATE_LIMITED", message: expect.stringMatching(/not keeping up/) } });
    // Refused long before 200 MiB piled up: kernel buffers plus the 4 MiB allowance.
    expect(sent).toBeLessThan(64);
    // Room messages: the slow reader is disconnected rather than buffered for.
    const msg = { roomId: "slow", epoch: st.data.epoch, counter: 1, iv: "A".repeat(16), ciphertext: "A".repeat(1000), signature: "A".repeat(86) };
    expect(await a.call("message:send", msg)).toMatchObject({ ok: true });
    await until(() => app.deps.presence.member("slow", b.userId)?.sockets.size === 0, 3000, "the slow reader to be dropped");
    // Its connection is closed; it stays a member, offline (a disconnect is not a leave).
    const members = (await a.call("keys:list", { roomId: "slow" })) as any;
    expect(members.data.members.map((m: any) => [m.userId, m.online])).toEqual([
      [a.userId, true],
      [b.userId, false],
    ]);
  } finally {
    a.close();
    b.close();
    await app.close();
    await new Promise<void>((r) => httpServer.close(() => r()));
  }
});

test("rooms created without a capacity still stop at 64 members; a connection joins at most 16 rooms", async () => {
  const { LIMITS } = await import("@/lib/protocol");
  const c = await connectRaw(srv.url);
  clients.push(c);
  for (let i = 0; i < LIMITS.maxRoomsPerSocket; i++) expect(await c.call("room:join", { roomId: `many-${i}`, displayName: "c" })).toMatchObject({ ok: true });
  expect(await c.call("room:join", { roomId: "one-too-many", displayName: "c" })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
  // Fill a room without capacity directly in the server's presence (64 sockets would trip the per-address cap).
  const room = srv.app.deps.presence.rooms.get("many-0")!;
  for (let i = 1; i < LIMITS.maxRoomMembers; i++) {
    room.members.set(i.toString(16).padStart(32, "f"), {
      userId: i.toString(16).padStart(32, "f"),
      displayName: `f${i}`,
      sockets: new Set<string>(),
      signingKey: "",
      agreementKey: "",
      agreementSig: "",
      joinedAt: new Date(),
      lastSeenAt: new Date(),
      visibleFrom: 1,
    });
  }
  const d = await connectRaw(srv.url);
  clients.push(d);
  const late = await d.call("room:join", { roomId: "many-0", displayName: "late" });
  expect([room.members.size, late]).toMatchObject([LIMITS.maxRoomMembers, { ok: false, error: { code: "ROOM_FULL" } }]);
});
