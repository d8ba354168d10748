/**
 * QSEC's one process: Next.js pages and Socket.IO on one HTTP(S) server and port.
 * `npm run dev` runs it with Next's hot reload; `npm run build && npm start` in production.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import path from "node:path";
import { execFileSync } from "node:child_process";
import next from "next";
import { loadEnv } from "./config";
import { createPrisma, dialectOfUrl } from "./db";
import { migratePostgres } from "./pg-migrate";
import { createApplication } from "./app";
import { consoleLogger } from "./logger";
import { loadOrCreateCertificate } from "./tls";
import { attachAdmin } from "./admin/console";
import { publishAdminConsole } from "./admin/registry";
import { loadAdminToken } from "./admin/token";
import { RedisState } from "./cluster/redis-state";
import { clientAddress } from "./transport-guard";
import { applySecurityHeaders, setSecurityHeaders } from "./security-headers";

async function main() {
  const env = loadEnv();
  const logger = consoleLogger();
  const dev = env.NODE_ENV !== "production";
  const dataDir = path.resolve(env.QSEC_DATA_DIR);

  // Apply committed migrations (idempotent; creates the SQLite file on first run). PostgreSQL has
  // its own runner (server/pg-migrate.ts: prisma migrate deploy fails through the pg adapter).
  const root = path.resolve(__dirname, "..");
  if (dialectOfUrl(env.DATABASE_URL) === "postgresql") {
    await migratePostgres(env.DATABASE_URL, { log: (line) => logger.info(`database: ${line}`) });
  } else {
    execFileSync(process.execPath, [path.join(root, "scripts", "prisma-setup.mjs"), "deploy"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: env.DATABASE_URL },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }

  // QSEC_PAGES=0 runs the relay alone (no Next.js): process-level tests, or pages served elsewhere.
  const nextApp = env.QSEC_PAGES ? next({ dev, dir: root, hostname: "localhost", port: env.PORT }) : null;
  await nextApp?.prepare();
  const handle = nextApp?.getRequestHandler();
  const handleUpgrade = nextApp?.getUpgradeHandler();

  // Several nodes (QSEC_REDIS_URL): shared state in Redis; unset: one process, state in memory.
  const shared = env.QSEC_REDIS_URL
    ? await RedisState.connect({
        url: env.QSEC_REDIS_URL,
        prefix: env.QSEC_REDIS_PREFIX,
        ...(env.QSEC_NODE_ID && { nodeId: env.QSEC_NODE_ID }),
        onError: (e) => logger.warn("redis", { error: e.message }),
      })
    : undefined;
  let ready = false;
  let appRef: Awaited<ReturnType<typeof createApplication>> | undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // nosniff, no Referer, no framing, …; and each page's Content-Security-Policy with a fresh
    // nonce that Next.js puts on its scripts (server/security-headers.ts, docs/security.md).
    applySecurityHeaders(req, res, dev);
    // The load balancer's health check (deploy/nginx.conf): 200 once this node serves, 503 while it
    // starts or stops.
    if (req.url === "/healthz") {
      // Room-log rows dropped since start (the database was away longer than the queue lasts).
      const dropped = appRef?.deps.logs.dropped ?? 0;
      res
        .writeHead(ready ? 200 : 503, { "content-type": "text/plain", "cache-control": "no-store" })
        .end(`${ready ? "ok" : "unavailable"}\nlog_rows_dropped ${dropped}\n`);
      return;
    }
    // The admin login's rate limit is per peer address; route handlers can't see the socket, so
    // pass it in a header no client can set (any inbound copy is overwritten).
    // Behind a trusted load balancer (QSEC_TRUST_PROXY), the address it forwarded.
    req.headers["x-qsec-remote-addr"] = clientAddress(req, req.socket.remoteAddress, env.QSEC_TRUST_PROXY);
    // Route handlers learn the scheme from req.url, which Next builds from x-forwarded-proto: the
    // admin Origin check needs the scheme this server really speaks, not one a client claims.
    req.headers["x-forwarded-proto"] = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
    if (handle) return void handle(req, res);
    res.writeHead(404, { "content-type": "text/plain" }).end("QSEC relay only (QSEC_PAGES=0)\n");
  };
  let scheme = "http";
  let httpServer;
  if (env.QSEC_HTTPS) {
    const tls = await loadOrCreateCertificate(dataDir);
    if (tls.created) logger.info("made a self-signed TLS certificate", { dir: path.join(dataDir, "tls") });
    httpServer = createHttpsServer({ key: tls.key, cert: tls.cert }, onRequest);
    scheme = "https";
  } else {
    httpServer = createHttpServer(onRequest);
  }

  const prisma = await createPrisma(env.DATABASE_URL);
  // destroyUpgrade: false leaves other upgrade requests (Next's hot reload socket) to Next.
  const app = (appRef = await createApplication(httpServer, {
    prisma,
    logger,
    logFlushMs: env.QSEC_LOG_FLUSH_MS,
    logQueueMax: env.QSEC_LOG_QUEUE_MAX,
    historyDaysCap: env.QSEC_HISTORY_DAYS,
    memberTtlDays: env.QSEC_MEMBER_TTL_DAYS,
    serverOptions: { destroyUpgrade: false },
    attachments: {
      dir: path.resolve(env.QSEC_ATTACHMENT_DIR ?? path.join(dataDir, "attachments")),
      maxBytes: Math.floor(env.QSEC_MAX_ATTACHMENT_MB * 1024 * 1024),
      roomQuotaBytes: Math.floor(env.QSEC_ROOM_ATTACHMENT_QUOTA_MB * 1024 * 1024),
      memberQuotaBytes: Math.floor(env.QSEC_MEMBER_ATTACHMENT_QUOTA_MB * 1024 * 1024),
      ...(env.QSEC_ATTACHMENT_SECRET && { secret: Buffer.from(env.QSEC_ATTACHMENT_SECRET, "hex") }),
    },
    ...(shared && { shared, recoveryMs: env.QSEC_RECOVERY_MS, streamMaxLen: env.QSEC_STREAM_MAXLEN }),
    trustProxy: env.QSEC_TRUST_PROXY,
    bb84WorkerLinks: env.QSEC_BB84_WORKER_LINKS,
    maxConnectionsPerAddress: env.QSEC_MAX_CONNECTIONS_PER_ADDRESS,
  }));
  // The attachment routes and Socket.IO's polling transport answer before onRequest does: the same
  // headers for them, set by a listener ahead of every other (it only sets headers).
  httpServer.prependListener("request", (_req: IncomingMessage, res: ServerResponse) => setSecurityHeaders(res));
  const adminToken = loadAdminToken({ envToken: env.ADMIN_TOKEN, dataDir, dev });
  const admin = attachAdmin(app, { token: adminToken.token, secureCookies: env.QSEC_HTTPS, retentionDays: env.QSEC_LOG_RETENTION_DAYS });
  publishAdminConsole(admin);
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url?.startsWith("/socket.io/")) return;
    if (handleUpgrade) void handleUpgrade(req, socket, head);
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(env.PORT, env.HOST, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === "object" && address ? address.port : env.PORT;
  if (adminToken.source === "generated") {
    // Printed once, when the token is made; later starts read the file silently. One link logs in:
    // the token rides in the URL fragment (#token=…), which the browser never sends (no server or
    // proxy log, no Referer); the login page reads it, posts it to /admin/api/login and drops it.
    const link = `${scheme}://localhost:${port}/admin/login#token=${encodeURIComponent(adminToken.token!)}`;
    console.log(`Admin console login link (development; it holds the admin token, saved to ${adminToken.file}, owner-only):\n  ${link}`);
  } else if (adminToken.source === "none") {
    logger.warn("admin console locked: set ADMIN_TOKEN to use /admin");
  }
  ready = true;
  console.log(
    `QSEC ready at ${scheme}://localhost:${port} (${dev ? "development" : "production"}${nextApp ? "" : ", relay only"}; database ${redactUrl(env.DATABASE_URL)}${shared ? `; node ${shared.nodeId}, shared state in Redis` : ""})`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    logger.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    try {
      await admin.close(); // stops retention and closes admin sockets
      publishAdminConsole(undefined);
      await app.close(); // flushes queued log rows
      await shared?.close();
      // Don't wait for idle keep-alive or hot-reload connections: close them.
      httpServer.close();
      httpServer.closeAllConnections();
      await nextApp?.close?.();
      await prisma.$disconnect();
      process.exit(0);
    } catch (e) {
      logger.error("shutdown failed", { error: String(e) });
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** A database URL for the log: a password in it is replaced. */
function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
