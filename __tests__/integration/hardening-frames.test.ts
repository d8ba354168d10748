/**
 * Issue 10, finding 6: one binary attachment per packet, and a short header for binary packets,
 * so a partial binary packet cannot make the server hold megabytes per connection.
 */
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { serverPerTest } from "../helpers/per-test";

const t = serverPerTest();

async function client() {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  return c;
}
const closed = (c: RawClient) => new Promise<string>((r) => c.socket.once("disconnect", (reason) => r(reason)));

test("a packet announcing several attachments keeps none of them and is refused", async () => {
  const c = await client();
  // Nine 1 MB attachments, the pattern that used to be held (the tenth never came): now each is
  // dropped as it arrives and the packet is answered as soon as the last one is in.
  const r = await c.call("bb84:relay", {
    roomId: "r",
    to: "0".repeat(32),
    sessionId: "ab".repeat(16),
    frame: Array.from({ length: 9 }, () => Buffer.alloc(1_000_000)),
  });
  expect(r).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  expect(c.socket.connected).toBe(true);
});

test("a packet announcing more than ten attachments closes the connection", async () => {
  const c = await client();
  const gone = closed(c);
  (c.socket as any).emit("bb84:relay", {
    roomId: "r",
    to: "0".repeat(32),
    sessionId: "ab".repeat(16),
    frame: Array.from({ length: 11 }, () => Buffer.alloc(1)),
  });
  await gone;
});

test("a partial binary packet holds only its header", async () => {
  const { boundedParser } = await import("@/server/parser");
  const d = new boundedParser.Decoder();
  const decoded: unknown[] = [];
  d.on("decoded", (p: unknown) => decoded.push(p));
  d.add('510-["bb84:relay",{"frame":[' + Array.from({ length: 10 }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(",") + "]}]");
  for (let i = 0; i < 9; i++) d.add(Buffer.alloc(1_000_000));
  const held = (d as any).reconstructor;
  expect(held).toBeFalsy(); // the stock decoder keeps the 9 MB in its reconstructor here
  expect(decoded).toHaveLength(0);
  d.add(Buffer.alloc(1));
  expect(decoded).toHaveLength(1);
});

test("a binary packet with an oversized header closes the connection", async () => {
  const c = await client();
  const gone = closed(c);
  (c.socket as any).emit("bb84:relay", { roomId: "r", to: "0".repeat(32), sessionId: "ab".repeat(16), frame: Buffer.alloc(16), pad: "x".repeat(200_000) });
  await gone;
});

test("an honest frame (one attachment) is still handled", async () => {
  const c = await client();
  const r = await c.call("bb84:relay", { roomId: "r", to: "0".repeat(32), sessionId: "ab".repeat(16), frame: Buffer.alloc(128 * 1024) });
  expect(r).toMatchObject({ ok: false }); // refused (not a member), but answered: the packet was decoded
  expect(c.socket.connected).toBe(true);
});
