/**
 * The admin console's server side, attached to a running QSEC application: session auth, the
 * login limiter, the /admin namespace, retention, and the operations the console's pages and
 * route handlers call. server/main.ts publishes it through the registry (registry.ts), so Next.js
 * code runs these functions on the process's one Prisma client, log writer and Socket.IO server.
 */
import type { ChannelSettings, Bb84SessionSummary } from "@/lib/protocol";
import { ProtocolError } from "@/lib/protocol/errors";
import type { LogFilter } from "@/lib/admin/log-filter";
import type { QsecApp } from "../app";
import type { Logger } from "../logger";
import { setRoomChannel } from "../channel/channel";
import { listSessions } from "../bb84/bb84.repository";
import { AdminAuth, type AdminSession } from "./session";
import { LoginLimiter, type LoginLimits } from "./login-limiter";
import { RedisState } from "../cluster/redis-state";
import { RedisLoginLimiter } from "../cluster/redis-login-limiter";
import { registerAdminNamespace } from "./namespace";
import { queryLogs, type LogPage } from "./logs.query";
import { exportLogs, type ExportFormat } from "./export";
import { getRoomDetail, listRooms, type RoomDetail, type RoomList, type RoomListQuery } from "./rooms.query";
import { runRetention, scheduleRetention, type RetentionResult } from "./retention";

export interface AdminOptions {
  /** null: the console is locked (production without ADMIN_TOKEN). */
  token: string | null;
  /** Always mark the cookie Secure (the server itself serves HTTPS). */
  secureCookies?: boolean;
  /** QSEC_LOG_RETENTION_DAYS: applied at attach time and daily. */
  retentionDays?: number;
  retentionIntervalMs?: number;
  sessionTtlSeconds?: number;
  loginLimiter?: LoginLimits;
}

export type ChannelResult = { ok: true; channel: ChannelSettings } | { ok: false; code: string; message: string };

export interface AdminConsole {
  readonly auth: AdminAuth;
  readonly limiter: LoginLimits;
  readonly logger: Logger;
  listRooms(q: RoomListQuery): Promise<RoomList>;
  getRoom(roomId: string): Promise<RoomDetail | null>;
  queryLogs(f: LogFilter, opts: { cursor?: number | null; limit?: number; order?: "asc" | "desc" }): Promise<LogPage>;
  exportLogs(f: LogFilter, format: ExportFormat): ReadableStream<Uint8Array>;
  listSessions(roomId: string, limit?: number): Promise<Bb84SessionSummary[]>;
  setChannel(roomId: string, channel: ChannelSettings): Promise<ChannelResult>;
  runRetention(days: number): Promise<RetentionResult>;
  /** Logout: revoke the session and close its admin sockets. */
  endSession(session: AdminSession): Promise<void>;
  close(): Promise<void>;
}

export function attachAdmin(app: QsecApp, opts: AdminOptions): AdminConsole {
  const { deps } = app;
  const shared = deps.presence.shared;
  const auth = new AdminAuth(opts.token, {
    secureCookies: opts.secureCookies,
    ttlSeconds: opts.sessionTtlSeconds,
    ...(shared.kind === "redis" && { shared }),
  });
  const limiter = opts.loginLimiter ?? (shared instanceof RedisState ? new RedisLoginLimiter(shared) : new LoginLimiter());
  const nsp = registerAdminNamespace(deps, auth);
  const stopRetention = scheduleRetention(deps.prisma, deps.logger, opts.retentionDays, opts.retentionIntervalMs);
  let closed = false;
  return {
    auth,
    limiter,
    logger: deps.logger,
    listRooms: (q) => listRooms(deps.prisma, q),
    getRoom: (id) => getRoomDetail(deps.prisma, id),
    queryLogs: (f, o) => queryLogs(deps.prisma, f, o),
    exportLogs: (f, format) => exportLogs(deps.prisma, f, format),
    listSessions: (roomId, limit = 200) => listSessions(deps.prisma, roomId, limit),
    async setChannel(roomId, channel) {
      try {
        return { ok: true, channel: await setRoomChannel(deps, roomId, channel, null) };
      } catch (e) {
        if (e instanceof ProtocolError) return { ok: false, code: e.code, message: e.message };
        throw e;
      }
    },
    runRetention: (days) => runRetention(deps.prisma, deps.logger, days, "console"),
    async endSession(session) {
      await auth.revoke(session);
      nsp.endSession(session.jti, "logout");
    },
    async close() {
      if (closed) return;
      closed = true;
      nsp.close();
      await stopRetention();
    },
  };
}
