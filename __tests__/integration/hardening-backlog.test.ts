/**
 * Issue 10, finding 4: one backpressure rule for everything the server sends. A socket that never
 * reads but keeps sending commands is disconnected once its unsent replies pass the ceiling; it
 * used to be buffered for without bound (728 MB in 10 s with 8 sockets).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createApplication } from "@/server/app";
import { LIMITS } from "@/lib/protocol";
import { connectRaw } from "../helpers/raw-client";
import { sleep, until } from "../helpers/waits";
import { serverPerTest } from "../helpers/per-test";

jest.setTimeout(60_000);
const t = serverPerTest();

const lifted = {
  commandsPerSecond: Infinity,
  commandBurst: Infinity,
  readRowsPerSecond: Infinity,
  readRowBurst: Infinity,
  addressReadRowsPerSecond: Infinity,
  addressReadRowBurst: Infinity,
  bb84FramesPerSecond: Infinity,
  bb84FrameBurst: Infinity,
  bb84BytesPerSecond: Infinity,
  bb84ByteBurst: Infinity,
};

test("a socket that never reads its command replies is disconnected once its backlog passes the cap", async () => {
  const http = createServer();
  const app = await createApplication(http, { prisma: t.srv.prisma, rateLimits: lifted });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const hog = await connectRaw(url);
  const honest = await connectRaw(url);
  try {
    expect(await hog.call("room:join", { roomId: "flood", displayName: "hog" })).toMatchObject({ ok: true });
    expect(await honest.call("room:join", { roomId: "flood", displayName: "honest" })).toMatchObject({ ok: true });
    await t.srv.prisma.roomLog.createMany({
      data: Array.from({ length: 500 }, () => ({ roomId: "flood", type: "MESSAGE_RELAYED", meta: JSON.stringify({ pad: "x".repeat(1000) }) })),
    });
    // The hog stops reading its TCP connection but keeps asking for ~0.5 MB replies.
    (hog.socket.io.engine as any).transport.ws._socket.pause();
    // 200 × ~0.5 MB of replies: far past the ceiling plus what the kernel buffers on loopback.
    const id = hog.socket.id!;
    for (let sent = 0; sent < 200 && app.io.of("/").sockets.has(id); sent++) {
      (hog.socket as any).emit("logs:fetch", { roomId: "flood", limit: 500 }, () => {});
      await sleep(5);
    }
    await until(() => !app.io.of("/").sockets.has(id), 30_000, "the non-reading socket to be closed");
    expect(app.guard.count("127.0.0.1").open).toBe(1);
    // The honest member is untouched.
    expect(await honest.call("keys:list", { roomId: "flood" })).toMatchObject({ ok: true });
  } finally {
    hog.close();
    honest.close();
    await app.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test("the ceiling sits above the relay refusal threshold", () => {
  expect(LIMITS.maxSocketBacklogBytes).toBeGreaterThan(LIMITS.maxReceiverBacklogBytes + LIMITS.maxBb84FrameBytes);
  expect(LIMITS.maxAddressBacklogBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
});
