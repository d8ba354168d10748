/**
 * The Socket.IO application, built by a factory so tests can run it on port 0 with a temporary
 * database and no Next.js. server/main.ts adds Next.js pages on the same HTTP server.
 */
import type { Server as HttpServer } from "node:http";
import { Server } from "socket.io";
import type { PrismaClient } from "@prisma/client";
import { COMMAND_NAMES, LIMITS } from "@/lib/protocol";
import type { Deps } from "./context";
import type { QsecServer, QsecSocket, RelayTap } from "./socket-types";
import { DEFAULT_MAX_QUEUE, LogWriter } from "./logs/log-writer";
import { Presence } from "./rooms/presence";
import { TokenBucket } from "@/lib/protocol/token-bucket";
import { type Logger, silentLogger } from "./logger";
import { authenticationEnded, registerAuth, replaceHere, restoreIdentities, watchAuthentication } from "./auth/auth.handlers";
import { commandDispatcher, type CommandTable } from "./command";
import { registerRooms } from "./rooms/rooms.handlers";
import { connectionClosed } from "./rooms/membership";
import { registerHistory } from "./history/history.handlers";
import { EnvelopeWriter } from "./history/history.repository";
import { scheduleSweep, sweep, type SweepResult } from "./history/sweeper";
import { registerKeys } from "./keys/keys.handlers";
import { registerChannel } from "./channel/channel.handlers";
import { registerMessaging } from "./messaging/messaging.handlers";
import { registerBb84 } from "./bb84/bb84.handlers";
import { linksOnDisconnect, registerBb84Links } from "./bb84/links";
import { Bb84Links } from "./bb84/tickets";
import { registerLogs, pushLogsLive } from "./logs/logs.handlers";
import { markAllOffline } from "./rooms/rooms.repository";
import { Bb84Sessions } from "./bb84/sessions";
import { abortStaleSessions } from "./bb84/bb84.repository";
import { clientAddress, TransportGuard } from "./transport-guard";
import { boundedParser } from "./parser";
import { guardSends } from "./send-guard";
import { historyReadLimits, ReadBudget, type HistoryLimits, type ReadLimits } from "./cost";
import { registerBackup } from "./backup/backup.handlers";
import { registerAttachments } from "./attachments/attachments.handlers";
import { AttachmentService, type AttachmentSettings } from "./attachments/attachment-service";
import { ATTACHMENT_DEFAULTS } from "@/lib/protocol";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BackupLookupLimiter, DEFAULT_LOOKUP_LIMITS, type LookupLimits } from "./backup/lookup-limiter";
import { MemoryState, type SharedState } from "./cluster/shared-state";
import { RedisState } from "./cluster/redis-state";
import { qsecStreamsAdapter } from "./cluster/streams-adapter";
import { reapDeadNodes, reassertPresence } from "./rooms/membership";

export interface AppOptions {
  prisma: PrismaClient;
  logger?: Logger;
  logFlushMs?: number;
  /** Room-log rows held while the database is away (QSEC_LOG_QUEUE_MAX; default 100000); past it rows are dropped and counted. */
  logQueueMax?: number;
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
  /**
   * Encrypted attachments: the store directory (server/main.ts: <QSEC_DATA_DIR>/attachments) and
   * limits (defaults in lib/protocol/attachments.ts). Unset: attachment commands are refused.
   */
  attachments?: Partial<AttachmentSettings> & { dir: string };
  /**
   * State shared with the other nodes (server/cluster). Default: MemoryState, one process. A
   * RedisState (QSEC_REDIS_URL) also puts Socket.IO on the Redis streams adapter with connection
   * state recovery. The caller owns it (closes it after close()).
   */
  shared?: SharedState;
  /** With Redis: how long a dropped connection may come back, on any node, and get what it missed (default 2 min). */
  recoveryMs?: number;
  /** With Redis: events the shared stream keeps for recovery (QSEC_STREAM_MAXLEN, default 100,000). */
  streamMaxLen?: number;
  /** Behind a load balancer: the client address is X-Forwarded-For's last entry (QSEC_TRUST_PROXY). */
  trustProxy?: boolean;
  /** BB84 worker connections (bb84:ticket, server/bb84/links.ts); default on (QSEC_BB84_WORKER_LINKS=0: off). */
  bb84WorkerLinks?: boolean;
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
  const shared = opts.shared ?? new MemoryState();
  const redis = shared instanceof RedisState ? shared : null;
  const guard = new TransportGuard(
    {
      maxConnectionsPerAddress: opts.maxConnectionsPerAddress ?? LIMITS.maxConnectionsPerAddress,
      maxPendingPerAddress: opts.maxPendingPerAddress ?? LIMITS.maxPendingPerAddress,
      maxPendingTotal: LIMITS.maxPendingTotal,
      connectTimeoutMs: opts.connectTimeoutMs ?? LIMITS.connectTimeoutMs,
    },
    { shared, trustProxy: opts.trustProxy ?? false },
  );
  const io: QsecServer = new Server(httpServer, {
    // Several nodes: a dropped connection that comes back (to any node) within the window gets the
    // room events it missed, from the adapter's Redis stream, and keeps its socket id.
    ...(redis && { connectionStateRecovery: { maxDisconnectionDuration: opts.recoveryMs ?? 120_000, skipMiddlewares: false } }),
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
  if (redis) {
    // The streams adapter; stored sessions carry no data, and a recovered connection also gets the
    // broadcasts dispatched while it was being admitted (server/cluster/streams-adapter.ts).
    const adapter = qsecStreamsAdapter(redis.adapterClient, {
      streamName: redis.key("sio"),
      channelPrefix: redis.key("sio"),
      sessionKeyPrefix: redis.key("sio", "session", ""),
      // The adapter's default (10,000) is two seconds of a busy cluster's traffic: a connection
      // away longer than that could not recover within QSEC_RECOVERY_MS.
      maxLen: opts.streamMaxLen ?? 100_000,
    });
    io.adapter(adapter as unknown as Parameters<QsecServer["adapter"]>[0]);
  }
  // Socket.IO stores a session only when its node closes the connection; a node killed outright
  // stores none, and its clients could not recover on another node. So each connection's session
  // (id, private id, rooms; no data) is stored ahead: at connect, when its rooms change, and
  // before the window would lapse. A recovery consumes it (GETDEL), as any.
  const persistAhead = (socket: QsecSocket) => {
    const pid = (socket as unknown as { pid?: string }).pid;
    if (!redis || !pid || !socket.connected) return;
    (io.sockets.adapter as unknown as { persistSession(s: object): void }).persistSession({ sid: socket.id, pid, rooms: [...socket.rooms], data: {} });
  };
  const refreshSessions = redis
    ? setInterval(
        () => {
          for (const s of io.sockets.sockets.values()) persistAhead(s);
        },
        Math.max(500, Math.floor((opts.recoveryMs ?? 120_000) / 3)),
      )
    : null;
  refreshSessions?.unref();
  if (redis) {
    const onRoomChange = (room: string, sid: string) => {
      const s = io.sockets.sockets.get(sid);
      if (s && room !== sid) queueMicrotask(() => persistAhead(s));
    };
    io.sockets.adapter.on("join-room", onRoomChange);
    io.sockets.adapter.on("leave-room", onRoomChange);
  }
  const logs: LogWriter = new LogWriter(
    opts.prisma,
    opts.logFlushMs ?? 50,
    (e) => logger.error("log flush failed; retried on the next flush", { error: e instanceof Error ? e.message : String(e), queued: logs.pending }),
    opts.logQueueMax,
    (dropped) =>
      logger.error("room log queue full: new rows are being DROPPED until the database takes writes again", {
        dropped,
        max: opts.logQueueMax ?? DEFAULT_MAX_QUEUE,
      }),
  );
  const bb84 = new Bb84Sessions(io, opts.prisma, logs, logger, opts.bb84SessionTimeoutMs);
  if (redis) bb84.attachCluster(redis);
  const rl = { ...LIMITS, ...opts.rateLimits };
  const deps: Deps = {
    io,
    prisma: opts.prisma,
    logs,
    presence: new Presence(shared),
    logger,
    sockets: new Map(),
    bb84,
    bb84Links: new Bb84Links(opts.bb84WorkerLinks ?? true),
    // Several nodes: each address's row budgets are shared by every node (Redis); a socket's stay here.
    reads: new ReadBudget(rl, redis ? { buckets: redis, name: "read" } : undefined),
    historyReads: new ReadBudget(historyReadLimits(rl), redis ? { buckets: redis, name: "history" } : undefined),
    envelopes: new EnvelopeWriter(opts.prisma, opts.logFlushMs ?? 50, (e) =>
      logger.error("envelope flush failed", { error: e instanceof Error ? e.message : String(e) }),
    ),
    config: { historyDaysCap: opts.historyDaysCap ?? 365, memberTtlDays: opts.memberTtlDays ?? LIMITS.defaultMemberTtlDays },
    attachments: null,
    ...(opts.relayTap && { relayTap: opts.relayTap }),
  };
  if (opts.attachments) deps.attachments = new AttachmentService(deps, attachmentSettings(opts.attachments));
  mountHttp(httpServer, deps.attachments);
  deps.presence.hooks = {
    isLocal: (sid) => io.sockets.sockets.has(sid),
    // Another node ended the membership of this node's connections: take them out of the room here.
    evicted: (roomId, sids) => {
      for (const sid of sids) {
        const s = io.sockets.sockets.get(sid);
        if (!s) continue;
        s.data.rooms.delete(roomId);
        void s.leave(roomId);
      }
    },
  };
  // Another node's connection of an identity went past its cap: the oldest, on this node, is replaced.
  redis?.handle("session:replace", (sid) => void replaceHere(deps, String(sid)));
  const backupLookups = new BackupLookupLimiter({ ...DEFAULT_LOOKUP_LIMITS, ...opts.backupLookups }, redis ?? undefined);
  // Every command, once for the node; each connection reaches them through one dispatcher.
  const commands: CommandTable = new Map();
  registerAuth(deps, commands);
  registerRooms(deps, commands);
  registerKeys(deps, commands);
  registerChannel(deps, commands);
  registerMessaging(deps, commands);
  registerBb84(deps, commands);
  registerBb84Links(deps, commands);
  registerLogs(deps, commands);
  registerHistory(deps, commands);
  registerBackup(deps, commands, backupLookups);
  registerAttachments(deps, commands, deps.attachments);
  const unregistered = COMMAND_NAMES.filter((c) => !commands.has(c));
  if (unregistered.length > 0) throw new Error(`commands without a handler: ${unregistered.join(", ")}`);
  const dispatch = commandDispatcher(commands);
  // Redis came back after an outage (a restart forgets every key): this node counts its live
  // connections again in the per-address and per-identity caps (sent first on the new connection,
  // right after the heart-beat), then stores its rooms again with its connections that closed
  // meanwhile taken out. Its BB84 sessions register again by themselves (Bb84Sessions.attachCluster).
  redis?.onReconnect(() => {
    const warn = (what: string) => (e: unknown) => logger.warn(what, { error: e instanceof Error ? e.message : String(e) });
    void guard.restoreShared().catch(warn("re-registering connections per address failed"));
    void restoreIdentities(deps, redis)
      .catch(warn("re-registering connections per identity failed"))
      .then(() => reassertPresence(deps));
  });
  // The first node up cleans what a previous run left; a node joining running ones must not (their
  // members are online, their BB84 sessions running).
  const alone = (await shared.liveNodes()).size <= 1;
  if (alone) {
    await markAllOffline(opts.prisma);
    const stale = await abortStaleSessions(opts.prisma);
    if (stale > 0) logger.info("BB84 sessions left running by the previous process marked aborted", { count: stale });
  }
  // Several nodes: a node that stops heart-beating (kill -9, a crash, a partition) has its
  // connections taken out of every room by the nodes still alive (members go offline, as on a close).
  // One reap at a time (a slow one is not queued behind by every beat meanwhile).
  let reaping: Promise<unknown> | null = null;
  const closing = new Set<Promise<unknown>>();
  const reaper = redis
    ? setInterval(() => {
        reaping ??= reapDeadNodes(deps, redis)
          .catch((e: unknown) => logger.warn("reaping dead nodes failed", { error: String(e) }))
          .finally(() => (reaping = null));
      }, redis.beatMs)
    : null;
  reaper?.unref();
  const stopLive = pushLogsLive(deps);
  const stopSweep = scheduleSweep(deps, opts.sweepIntervalMs ?? 60 * 60 * 1000);

  // Per-socket rate limits mean little if one address can open sockets without end.
  guard.attach(io);
  guardSends(io, guard);

  io.on("connection", (socket) => {
    if (socket.recovered) {
      // Came back within the recovery window (maybe on another node): it got what it missed and is
      // in its rooms' broadcasts again; it authenticates and re-joins as any new connection. Rooms
      // it does not re-join by then (it was removed meanwhile) stop reaching it.
      const restored = [...socket.rooms].filter((r) => r !== socket.id);
      setTimeout(() => {
        for (const r of restored) if (socket.connected && !socket.data.rooms.has(r)) void socket.leave(r);
      }, 15_000).unref();
    }
    persistAhead(socket);
    socket.data.address = clientAddress(socket.conn.request, socket.conn.remoteAddress, opts.trustProxy ?? false);
    socket.data.userId = null;
    socket.data.keys = null;
    socket.data.nonce = null;
    socket.data.rooms = new Set();
    socket.data.commands = new TokenBucket(rl.commandsPerSecond, rl.commandBurst);
    socket.data.frames = new TokenBucket(rl.bb84FramesPerSecond, rl.bb84FrameBurst);
    socket.data.frameBytes = new TokenBucket(rl.bb84BytesPerSecond, rl.bb84ByteBurst);
    socket.data.kind = "member";
    socket.data.owner = null;
    socket.data.links = new Map();
    socket.data.textFrames = false;

    watchAuthentication(socket);
    socket.onAny(dispatch);

    socket.on("disconnect", () => {
      authenticationEnded(socket);
      linksOnDisconnect(deps, socket);
      // A BB84 worker connection is in no room and not among its identity's connections.
      if (socket.data.kind === "bb84") return;
      const userId = socket.data.userId;
      const list = userId ? deps.sockets.get(userId) : undefined;
      if (userId && list) {
        const rest = list.filter((s) => s !== socket);
        if (rest.length > 0) deps.sockets.set(userId, rest);
        else deps.sockets.delete(userId);
      }
      if (userId) void shared.removeIdentitySocket(userId, socket.id).catch(() => {});
      const done = connectionClosed(deps, socket)
        .catch((e) => logger.error("going offline failed", { error: String(e) }))
        .finally(() => {
          // After going offline (its last connection: the sessions ended as PEER_LEFT, "left the
          // room"): a session this connection ran for its party ends too, though another tab stays.
          deps.bb84.connectionClosed(socket.id);
          closing.delete(done);
        });
      closing.add(done);
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
      // This node's sockets only (io.fetchSockets() would reach every node's through the adapter).
      // With Redis the transport is closed instead: the client reconnects (through the load
      // balancer, to another node) and recovers its session with the events it missed.
      for (const s of [...io.sockets.sockets.values()]) {
        if (redis) s.conn.close();
        else s.disconnect(true);
      }
      io.engine.close();
      if (reaper) clearInterval(reaper);
      if (refreshSessions) clearInterval(refreshSessions);
      await reaping;
      // Disconnect handlers run asynchronously; wait for their leaves (and their database writes,
      // e.g. a member's offline time) before the final flush and before the caller disconnects Prisma.
      await Promise.all([...closing]);
      if (!redis) for (let i = 0; i < 50 && deps.presence.rooms.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      await stopSweep();
      await bb84.close();
      stopLive();
      await deps.envelopes.close();
      await logs.close();
      // Each namespace's streams adapter reads the Redis stream on connections of its own and
      // heart-beats: close them (io.close() would, but it also waits for the HTTP server).
      if (redis) for (const nsp of (io as unknown as { _nsps: Map<string, { adapter: { close(): unknown } }> })._nsps.values()) nsp.adapter.close();
      if ((await shared.liveNodes().catch(() => new Set<string>())).size <= 1) await markAllOffline(opts.prisma);
    },
  };
}

const MB = 1024 * 1024;

function attachmentSettings(o: Partial<AttachmentSettings> & { dir: string }): AttachmentSettings {
  return {
    dir: o.dir,
    maxBytes: o.maxBytes ?? ATTACHMENT_DEFAULTS.maxAttachmentMb * MB,
    roomQuotaBytes: o.roomQuotaBytes ?? ATTACHMENT_DEFAULTS.roomQuotaMb * MB,
    memberQuotaBytes: o.memberQuotaBytes ?? ATTACHMENT_DEFAULTS.memberQuotaMb * MB,
    capabilityTtlMs: o.capabilityTtlMs ?? ATTACHMENT_DEFAULTS.capabilityTtlMs,
    orphanAfterMs: o.orphanAfterMs ?? ATTACHMENT_DEFAULTS.orphanAfterMs,
    secret: o.secret ?? randomBytes(32),
  };
}

/**
 * Puts the attachment routes in front of the HTTP server's other request listeners (Socket.IO's
 * polling transport, Next.js): the way engine.io itself attaches, so tests (a bare HTTP server) and
 * server/main.ts (Next.js) both serve /attachments/ without knowing about it.
 */
function mountHttp(httpServer: HttpServer, service: AttachmentService | null): void {
  if (!service) return;
  const others = httpServer.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  httpServer.removeAllListeners("request");
  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (service.handle(req, res)) return;
    for (const l of others) l.call(httpServer, req, res);
  });
}
