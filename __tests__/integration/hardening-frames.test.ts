/**
 * Issue 10, finding 6: one binary attachment per packet, and a short header for binary packets,
 * so a partial binary packet cannot make the server hold megabytes per connection.
 */
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { startTestServer, type TestServer } from "../helpers/server";

let srv: TestServer;
const clients: RawClient[] = [];
beforeEach(async () => {
  srv = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv.close();
});

async function client() {
  const c = await connectRaw(srv.url);
  clients.push(c);
  return c;
}
const closed = (c: RawClient) => new Promise<string>((r) => c.socket.once("disconnect", (reason) => r(reason)));

test("a packet with two binary attachments closes the connection", async () => {
  const c = await client();
  const gone = closed(c);
  (c.socket as any).emit("bb84:relay", { roomId: "r", to: "0".repeat(32), sessionId: "ab".repeat(16), frame: Buffer.alloc(1024) }, Buffer.alloc(1024));
  await gone;
  expect(srv.app.io.of("/").sockets.size).toBe(0);
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
