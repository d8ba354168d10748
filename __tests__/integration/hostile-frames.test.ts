/**
 * Frames built to hurt the parser or the validator: deep nesting, huge arrays, binary where text
 * belongs, many attachments. Each gets an error or a closed connection; the server keeps serving.
 */
import { connectRaw, type RawClient } from "../helpers/raw-client";
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
    { roomId: "types", epoch, shares: Array.from({ length: 1000 }, () => ({ to: "0".repeat(32), iv: "A".repeat(16), wrapped: "A", signature: "A".repeat(86) })) },
  ];
  for (const p of cases.slice(0, 5)) expect(await c.call("message:send", p)).toMatchObject({ ok: false, error: { code: expect.stringMatching(/INVALID_PAYLOAD|TOO_LARGE/) } });
  expect(await c.call("roomkey:share", cases[5])).toMatchObject({ ok: false, error: { code: expect.stringMatching(/INVALID_PAYLOAD|TOO_LARGE/) } });
  // A handful of binary attachments where one frame belongs: refused by the schema.
  expect(await c.call("bb84:relay", { roomId: "types", to: "0".repeat(32), sessionId: "session-01", frame: [Buffer.alloc(1), Buffer.alloc(1)] })).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  // Thousands of attachments in one event: the transport drops that connection, nothing else.
  const hog = await connectRaw(srv.url);
  clients.push(hog);
  const closed = new Promise((r) => hog.socket.once("disconnect", r));
  (hog.socket as any).emit("bb84:relay", { roomId: "types", to: "0".repeat(32), sessionId: "session-01", frame: Array.from({ length: 5000 }, () => Buffer.alloc(1)) });
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
  }
});
