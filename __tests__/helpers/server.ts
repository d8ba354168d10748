/**
 * Starts the real Socket.IO application on port 0 with its own temporary database: SQLite (a copy
 * of a template made by `prisma migrate deploy` in global-setup.js) or, in the postgresql Jest
 * project, a fresh PostgreSQL database (test-db.ts). In the cluster project (QSEC_TEST_NODES=2) it
 * starts that many application instances, each with its own Prisma client and Redis connections,
 * sharing one fresh PostgreSQL database and one fresh Redis key prefix, as nodes behind a load
 * balancer would; clients opened on `url` are spread over them (spread.ts).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { PrismaClient } from "@prisma/client";
import { createClient } from "redis";
import { createPrisma } from "@/server/db";
import { RedisState } from "@/server/cluster/redis-state";
import { createTestDatabase } from "./test-db";
import { registerNodes } from "./spread";
import { createApplication, type AppOptions, type QsecApp } from "@/server/app";
import type { QsecSocket } from "@/server/socket-types";

export interface TestNode {
  url: string;
  prisma: PrismaClient;
  app: QsecApp;
}

export interface TestServer {
  /** The first node's URL; in the cluster project, clients opened on it go to the nodes in turn (spread.ts). */
  url: string;
  port: number;
  /** The SQLite file ("" on PostgreSQL). */
  dbFile: string;
  /** DATABASE_URL of this server's database (SQLite or PostgreSQL, by the Jest project). */
  dbUrl: string;
  /** The first node's. */
  prisma: PrismaClient;
  /** The first node's application. */
  app: QsecApp;
  /** Every node: one, or in the cluster project (QSEC_TEST_NODES) several sharing the database and a Redis key prefix. */
  nodes: TestNode[];
  /** A member's server-side sockets, on whichever node they are. */
  socketsOf(userId: string): QsecSocket[];
  close(): Promise<void>;
}

/** How many application instances a test server runs: 1, or QSEC_TEST_NODES in the cluster Jest project. */
export const testNodes = (): number => Number(process.env.QSEC_TEST_NODES ?? "1");
const REDIS_URL = process.env.QSEC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export async function startTestServer(
  opts: {
    logFlushMs?: number;
    relayTap?: AppOptions["relayTap"];
    app?: Pick<AppOptions, "historyDaysCap" | "memberTtlDays" | "sweepIntervalMs" | "bb84WorkerLinks">;
    backupLookups?: AppOptions["backupLookups"];
    attachments?: AppOptions["attachments"];
    /** Take the client address from X-Forwarded-For (QSEC_TRUST_PROXY, behind a load balancer). */
    trustProxy?: boolean;
    /** Per-socket and per-address rate limits (AppOptions.rateLimits). */
    rateLimits?: AppOptions["rateLimits"];
    maxConnectionsPerAddress?: number;
    /** How many nodes (default: QSEC_TEST_NODES, 1 outside the cluster project); 2 or more share Redis and the database. */
    nodes?: number;
    /** The Redis several nodes share (default QSEC_TEST_REDIS_URL, else the machine's on 6379). */
    redisUrl?: string;
    /** false: clients opened on `url` all go to the first node (a test that places each client on a node itself). */
    spread?: boolean;
  } = {},
): Promise<TestServer> {
  const db = await createTestDatabase();
  const count = opts.nodes ?? testNodes();
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  // Several nodes: a Redis key prefix of this server's own, deleted in close().
  const prefix = count > 1 ? `qsec_test_${randomBytes(8).toString("hex")}:` : "";
  const nodes: (TestNode & { httpServer: HttpServer; shared?: RedisState })[] = [];
  for (let i = 0; i < count; i++) {
    const prisma = await createPrisma(db.url);
    const shared = count > 1 ? await RedisState.connect({ url: redisUrl, prefix, nodeId: `n${i + 1}` }) : undefined;
    const httpServer = createServer();
    const app = await createApplication(httpServer, {
      prisma,
      logFlushMs: opts.logFlushMs ?? 20,
      relayTap: opts.relayTap,
      ...opts.app,
      ...(opts.backupLookups && { backupLookups: opts.backupLookups }),
      ...(opts.attachments && { attachments: opts.attachments }),
      ...(opts.trustProxy && { trustProxy: true }),
      ...(opts.rateLimits && { rateLimits: opts.rateLimits }),
      ...(opts.maxConnectionsPerAddress && { maxConnectionsPerAddress: opts.maxConnectionsPerAddress }),
      ...(shared && { shared }),
    });
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
    const port = (httpServer.address() as AddressInfo).port;
    nodes.push({ url: `http://127.0.0.1:${port}`, prisma, app, httpServer, shared });
  }
  const unregister = opts.spread === false ? () => {} : registerNodes(nodes.map((n) => n.url));
  return {
    url: nodes[0].url,
    port: Number(new URL(nodes[0].url).port),
    dbFile: db.url.startsWith("file:") ? db.url.slice("file:".length) : "",
    dbUrl: db.url,
    prisma: nodes[0].prisma,
    app: nodes[0].app,
    nodes: nodes.map(({ url, prisma, app }) => ({ url, prisma, app })),
    socketsOf: (userId) => nodes.flatMap((n) => n.app.deps.sockets.get(userId) ?? []),
    async close() {
      unregister();
      for (const n of nodes) {
        await n.app.close();
        await new Promise<void>((r) => n.httpServer.close(() => r()));
        await n.shared?.close();
        await n.prisma.$disconnect();
      }
      await db.drop();
      if (prefix) await deleteRedisPrefix(prefix, redisUrl);
    },
  };
}

async function deleteRedisPrefix(prefix: string, url: string): Promise<void> {
  const redis = createClient({ url });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
  } finally {
    await redis.quit();
  }
}

/**
 * Every byte the server's database holds, for scans that must find no plaintext or key material:
 * the SQLite file and its WAL, or on PostgreSQL a full data dump (pg_dump; bytea in hex).
 */
export function databaseBytes(srv: Pick<TestServer, "dbFile" | "dbUrl">): Buffer[] {
  if (srv.dbFile) return [srv.dbFile, `${srv.dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f));
  return [execFileSync("pg_dump", ["--data-only", "--no-owner", srv.dbUrl], { maxBuffer: 512 * 1024 * 1024 })];
}
