/**
 * The Socket.IO application, built by a factory so tests can run it on port 0 with a temporary
 * database and no Next.js. server/main.ts adds Next.js pages on the same HTTP server.
 */
import type { Server as HttpServer } from "node:http";
import { Server } from "socket.io";
import type { PrismaClient } from "@prisma/client";
import { COMMAND_NAMES, LIMITS } from "@/lib/protocol";
import type { Deps } from "./context";
import type { QsecServer, RelayTap } from "./socket-types";
import { LogWriter } from "./logs/log-writer";
import { Presence } from "./rooms/presence";
import { TokenBucket } from "./rate-limit";
import { type Logger, silentLogger } from "./logger";
import { registerAuth } from "./auth/auth.handlers";
import { registerRooms } from "./rooms/rooms.handlers";
import { connectionClosed } from "./rooms/membership";
import { registerHistory } from "./history/history.handlers";
import { EnvelopeWriter } from "./history/history.repository";
import { scheduleSweep, sweep, type SweepResult } from "./history/sweeper";
import { registerKeys } from "./keys/keys.handlers";
import { registerChannel } from "./channel/channel.handlers";
import { registerMessaging } from "./messaging/messaging.handlers";
import { registerBb84 } from "./bb84/bb84.handlers";
import { registerLogs, pushLogsLive } from "./logs/logs.handlers";
import { markAllOffline } from "./rooms/rooms.repository";
import { Bb84Sessions } from "./bb84/sessions";
import { abortStaleSessions } from "./bb84/bb84.repository";
import { TransportGuard } from "./transport-guard";
import { boundedParser } from "./parser";
import { guardSends } from "./send-guard";
import { historyReadLimits, ReadBudget, type HistoryLimits, type ReadLimits } from "./cost";
import { registerBackup } from "./backup/backup.handlers";
import { BackupLookupLimiter, DEFAULT_LOOKUP_LIMITS, type LookupLimits } from "./backup/lookup-limiter";

export interface AppOptions {
  prisma: PrismaClient;
  logger?: Logger;
  logFlushMs?: number;
  /** Per-socket rate limits; defaults from lib/protocol/limits.ts (benchmarks may lift them). */
  rateLimits?: Partial<
    Record<
      | "commandsPerSecond"
      | "commandBurst"
      | "bb84FramesPerSecond"
      | "bb84FrameBurst"
      | "bb84BytesPerSecond"
      | "bb84ByteBurst"
      | keyof ReadLimits
      | keyof HistoryLimits,
      number
    >
  >;
  /** Concurrent connections one remote address may hold (default 128). */
  maxConnectionsPerAddress?: number;
  /** Transport connections one address may hold open without a Socket.IO connection (default 32). */
  maxPendingPerAddress?: number;
  /** A transport connection that joins no namespace within this long is closed (default 5 s). */
  connectTimeoutMs?: number;
  /** A BB84 session neither party finished within this long is ended as timed out (default 10 min). */
  bb84SessionTimeoutMs?: number;
  /** backup:fetch limits per address and per backup id (defaults from lib/protocol/backup.ts). */
  backupLookups?: Partial<LookupLimits>;
  /** Socket.IO server options (CORS for dev tools, etc.). */
  serverOptions?: ConstructorParameters<typeof Server>[1];
  /**
   * TEST SEAM, for integration tests only (server/main.ts never sets it): a hook that sees every
   * BB84 frame the relay forwards and decides what the recipient gets (RelayTap in socket-types.ts),
   * so a test can play a tampering, replaying or reordering relay without patching Socket.IO.
   */
  relayTap?: RelayTap;
  /** QSEC_HISTORY_DAYS: most days a room may keep history (default 365; 0: every room ephemeral). */
  historyDaysCap?: number;
  /** QSEC_MEMBER_TTL_DAYS: a member away longer is removed (default 7). */
  memberTtlDays?: number;
  /** How often member expiry and history retention run (default hourly; also once at start). */
  sweepIntervalMs?: number;
}

export interface QsecApp {
  io: QsecServer;
  deps: Deps;
  /** Per-address transport connection counts (server/transport-guard.ts). */
  guard: TransportGuard;
  /** Runs member expiry and history retention now (also scheduled; tests and the console call it). */
  sweep(now?: number): Promise<SweepResult>;
  /** Disconnects every socket, flushes queued log rows and envelopes and marks memberships offline (the HTTP server stays up). */
  close(): Promise<void>;
}

export async function createApplication(httpServer: HttpServer, opts: AppOptions): Promise<QsecApp> {
  const logger = opts.logger ?? silentLogger;
  const guard = new TransportGuard({
    maxConnectionsPerAddress: opts.maxConnectionsPerAddress ?? LIMITS.maxConnectionsPerAddress,
    maxPendingPerAddress: opts.maxPendingPerAddress ?? LIMITS.maxPendingPerAddress,
    maxPendingTotal: LIMITS.maxPendingTotal,
    connectTimeoutMs: opts.connectTimeoutMs ?? LIMITS.connectTimeoutMs,
  });
  const io: QsecServer = new Server(httpServer, {
    maxHttpBufferSize: LIMITS.maxFrameBytes,
    parser: boundedParser,
    pingInterval: 20_000,
    pingTimeout: 20_000,
    // A safety net only: the guard discards such transports first (Socket.IO's own close would let
    // a polling transport linger 30 s waiting for an orderly close).
    connectTimeout: 2 * (opts.connectTimeoutMs ?? LIMITS.connectTimeoutMs),
    ...opts.serverOptions,
    allowRequest: guard.allowRequest(opts.serverOptions?.allowRequest),
  });
  const logs = new LogWriter(opts.prisma, opts.logFlushMs ?? 50, (e) =>
    logger.error("log flush failed", { error: e instanceof Error ? e.message : String(e) }),
  );
  const bb84 = new Bb84Sessions(io, opts.prisma, logs, logger, opts.bb84SessionTimeoutMs);
  const rl = { ...LIMITS, ...opts.rateLimits };
  const deps: Deps = {
    io,
    prisma: opts.prisma,
    logs,
    presence: new Presence(),
    logger,
    sockets: new Map(),
    bb84,
    reads: new ReadBudget(rl),
    historyReads: new ReadBudget(historyReadLimits(rl)),
    envelopes: new EnvelopeWriter(opts.prisma, opts.logFlushMs ?? 50, (e) =>
      logger.error("envelope flush failed", { error: e instanceof Error ? e.message : String(e) }),
    ),
    config: { historyDaysCap: opts.historyDaysCap ?? 365, memberTtlDays: opts.memberTtlDays ?? LIMITS.defaultMemberTtlDays },
    ...(opts.relayTap && { relayTap: opts.relayTap }),
  };
  const backupLookups = new BackupLookupLimiter({ ...DEFAULT_LOOKUP_LIMITS, ...opts.backupLookups });
  await markAllOffline(opts.prisma);
  const stale = await abortStaleSessions(opts.prisma);
  if (stale > 0) logger.info("BB84 sessions left running by the previous process marked aborted", { count: stale });
  const stopLive = pushLogsLive(deps);
  const stopSweep = scheduleSweep(deps, opts.sweepIntervalMs ?? 60 * 60 * 1000);

  // Per-socket rate limits mean little if one address can open sockets without end.
  guard.attach(io);
  guardSends(io, guard);

  io.on("connection", (socket) => {
    socket.data.userId = null;
    socket.data.keys = null;
    socket.data.nonce = null;
    socket.data.rooms = new Set();
    socket.data.commands = new TokenBucket(rl.commandsPerSecond, rl.commandBurst);
    socket.data.frames = new TokenBucket(rl.bb84FramesPerSecond, rl.bb84FrameBurst);
    socket.data.frameBytes = new TokenBucket(rl.bb84BytesPerSecond, rl.bb84ByteBurst);

    registerAuth(deps, socket);
    registerRooms(deps, socket);
    registerKeys(deps, socket);
    registerChannel(deps, socket);
    registerMessaging(deps, socket);
    registerBb84(deps, socket);
    registerLogs(deps, socket);
    registerHistory(deps, socket);
    registerBackup(deps, socket, backupLookups);

    // Events outside the protocol (the prototype's generic `relay`, typos, probes) get a clear
    // refusal when they carry an ack, and are otherwise ignored.
    socket.onAny((event: string, ...args: unknown[]) => {
      if (KNOWN.has(event)) return;
      const ack = args[args.length - 1];
      if (typeof ack === "function") {
        try {
          ack({ ok: false, error: { code: "INVALID_PAYLOAD", message: `unknown event "${String(event).slice(0, 40)}"` } });
        } catch {
          /* ignore */
        }
      }
    });

    socket.on("disconnect", () => {
      const userId = socket.data.userId;
      const list = userId ? deps.sockets.get(userId) : undefined;
      if (userId && list) {
        const rest = list.filter((s) => s !== socket);
        if (rest.length > 0) deps.sockets.set(userId, rest);
        else deps.sockets.delete(userId);
      }
      connectionClosed(deps, socket).catch((e) => logger.error("going offline failed", { error: String(e) }));
    });
  });

  let closed = false;
  return {
    io,
    deps,
    guard,
    sweep: (now?: number) => sweep(deps, now),
    async close() {
      if (closed) return;
      closed = true;
      // Not io.close(): it waits for the HTTP server to close, which any idle keep-alive or
      // hot-reload connection can hold open; the owner of the HTTP server closes it.
      for (const s of await io.fetchSockets()) s.disconnect(true);
      io.engine.close();
      // Disconnect handlers run asynchronously; wait for their leaves before the final flush.
      for (let i = 0; i < 50 && deps.presence.rooms.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      await stopSweep();
      await bb84.close();
      stopLive();
      await deps.envelopes.close();
      await logs.close();
      await markAllOffline(opts.prisma);
    },
  };
}

const KNOWN: ReadonlySet<string> = new Set<string>(COMMAND_NAMES);
