/**
 * Child process: the baseline, a bare Socket.IO relay with the same transport settings as QSEC's
 * (frame cap, ping timers) and the same ack shape, but no authentication, no validation, no
 * membership or epoch check, no rate limit and no logging.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { Server } from "socket.io";
import { LIMITS } from "@/lib/protocol";
import { serveChild } from "./child";

type Ack = (r: unknown) => void;

async function main() {
  const httpServer = createServer();
  const io = new Server(httpServer, { maxHttpBufferSize: LIMITS.maxFrameBytes, pingInterval: 20_000, pingTimeout: 20_000 });
  io.on("connection", (socket) => {
    socket.on("join", (room: string, ack: Ack) => {
      void socket.join(room);
      ack({ ok: true, data: {} });
    });
    socket.on("msg", (p: { roomId: string }, ack: Ack) => {
      socket.to(p.roomId).emit("msg", p);
      // The same ack QSEC's message:send returns: a fresh id and the server's time.
      ack({ ok: true, data: { id: randomBytes(12).toString("base64url"), ts: new Date().toISOString() } });
    });
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  serveChild((httpServer.address() as AddressInfo).port, async () => {
    io.disconnectSockets(true);
    await new Promise<void>((r) => void io.close(() => r()));
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
