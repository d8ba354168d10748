/**
 * The admin Socket.IO namespace (/admin): the console's live tail. Its middleware admits only a
 * handshake that carries a valid admin session cookie (and, when the browser sends an Origin, one
 * from this host); the socket is closed when its session expires or is logged out. Rows reach it
 * from the same log-writer flush that pushes them to room members, so the tail shows exactly what
 * was stored, in order.
 */
import type { Namespace, Socket } from "socket.io";
import { fail, ok } from "@/lib/protocol/errors";
import type { LogEntry } from "@/lib/protocol";
import { ADMIN_NAMESPACE, MAX_TAILS_PER_SOCKET, tailSubscribeSchema, type AdminClientToServerEvents, type AdminServerToClientEvents } from "@/lib/admin/events";
import type { Deps } from "../context";
import type { AdminAuth, AdminSession } from "./session";
import { withNames } from "./logs.query";
import { TokenBucket } from "@/lib/protocol/token-bucket";
import { sameOrigin } from "./origin";
import { closeWithNotice } from "../close-with-notice";

interface AdminSocketData {
  session: AdminSession;
  tails: Set<string>;
  commands: TokenBucket;
}
export type AdminNamespace = Namespace<AdminClientToServerEvents, AdminServerToClientEvents, Record<string, never>, AdminSocketData>;
type AdminSocket = Socket<AdminClientToServerEvents, AdminServerToClientEvents, Record<string, never>, AdminSocketData>;

const tailRoom = (roomId: string) => `tail:${roomId}`;

export function registerAdminNamespace(
  deps: Deps,
  auth: AdminAuth,
): { nsp: AdminNamespace; endSession(jti: string, reason: "logout" | "expired"): void; close(): void } {
  const nsp = deps.io.of(ADMIN_NAMESPACE) as unknown as AdminNamespace;

  nsp.use((socket, next) => {
    if (!sameOrigin(socket.handshake.headers.origin, socket.handshake.headers.host, socket.handshake.secure)) return next(new Error("FORBIDDEN_ORIGIN"));
    auth.verifyCookieHeader(socket.handshake.headers.cookie).then(
      (session) => {
        if (!session) return next(new Error("NOT_AUTHENTICATED"));
        socket.data.session = session;
        next();
      },
      () => next(new Error("NOT_AUTHENTICATED")),
    );
  });

  nsp.on("connection", (socket: AdminSocket) => {
    socket.data.tails = new Set();
    socket.data.commands = new TokenBucket(20, 40);
    const left = socket.data.session.expiresAt.getTime() - Date.now();
    const expiry = setTimeout(
      () => {
        closeWithNotice(socket, "session:ended", { reason: "expired" });
      },
      Math.max(0, Math.min(left, 2 ** 31 - 1)),
    );
    expiry.unref();
    socket.on("disconnect", () => clearTimeout(expiry));

    const command = (name: keyof AdminClientToServerEvents, run: (roomId: string) => void) =>
      socket.on(name, (payload: unknown, ack?: unknown) => {
        const reply = typeof ack === "function" ? (ack as (r: unknown) => void) : () => {};
        if (!socket.data.commands.take()) return reply(fail("RATE_LIMITED", "too many requests; slow down"));
        const p = tailSubscribeSchema.safeParse(payload);
        if (!p.success) return reply(fail("INVALID_PAYLOAD", p.error.issues[0]?.message ?? "invalid payload"));
        // Re-check the session: it may have been logged out since the handshake.
        auth.verifyCookieHeader(socket.handshake.headers.cookie).then(
          (s) => {
            if (!s) {
              reply(fail("NOT_AUTHENTICATED", "admin session ended"));
              return void socket.disconnect(true);
            }
            run(p.data.roomId);
            reply(ok({ roomId: p.data.roomId }));
          },
          () => reply(fail("INTERNAL", "could not check the admin session")),
        );
      });
    command("tail:subscribe", (roomId) => {
      if (socket.data.tails.size >= MAX_TAILS_PER_SOCKET && !socket.data.tails.has(roomId)) return;
      socket.data.tails.add(roomId);
      void socket.join(tailRoom(roomId));
    });
    command("tail:unsubscribe", (roomId) => {
      socket.data.tails.delete(roomId);
      void socket.leave(tailRoom(roomId));
    });
  });

  // Names are looked up per flush; the chain keeps frames in flush order.
  let chain = Promise.resolve();
  // Several nodes: an operator tailing a room may be on another node (the adapter carries the
  // emit there), so this node's own subscribers can't tell whether anyone is listening.
  const anywhere = deps.presence.shared.kind === "redis";
  const stop = deps.logs.onWritten((entries: LogEntry[]) => {
    const byRoom = new Map<string, LogEntry[]>();
    for (const e of entries) {
      if (!anywhere && (nsp.adapter.rooms.get(tailRoom(e.roomId))?.size ?? 0) === 0) continue;
      const list = byRoom.get(e.roomId);
      if (list) list.push(e);
      else byRoom.set(e.roomId, [e]);
    }
    if (byRoom.size === 0) return;
    chain = chain.then(async () => {
      for (const [roomId, list] of byRoom) {
        try {
          nsp.to(tailRoom(roomId)).emit("tail:appended", { roomId, entries: await withNames(deps.prisma, list) });
        } catch (e) {
          deps.logger.error("admin tail push failed", { error: e instanceof Error ? e.message : String(e) });
        }
      }
    });
  });

  return {
    nsp,
    endSession(jti, reason) {
      for (const s of nsp.sockets.values()) {
        if (s.data.session?.jti !== jti) continue;
        closeWithNotice(s, "session:ended", { reason });
      }
    },
    close() {
      stop();
      for (const s of nsp.sockets.values()) s.disconnect(true);
    },
  };
}
