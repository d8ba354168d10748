/**
 * Starts the real Socket.IO application on port 0 with its own temporary database: SQLite (a copy
 * of a template made by `prisma migrate deploy` in global-setup.js) or, in the postgresql Jest
 * project, a fresh PostgreSQL database (test-db.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { PrismaClient } from "@prisma/client";
import { createPrisma } from "@/server/db";
import { createTestDatabase } from "./test-db";
import { createApplication, type AppOptions, type QsecApp } from "@/server/app";

export interface TestServer {
  url: string;
  port: number;
  /** The SQLite file ("" on PostgreSQL). */
  dbFile: string;
  /** DATABASE_URL of this server's database (SQLite or PostgreSQL, by the Jest project). */
  dbUrl: string;
  prisma: PrismaClient;
  app: QsecApp;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: {
    logFlushMs?: number;
    relayTap?: AppOptions["relayTap"];
    app?: Pick<AppOptions, "historyDaysCap" | "memberTtlDays" | "sweepIntervalMs">;
    backupLookups?: AppOptions["backupLookups"];
    attachments?: AppOptions["attachments"];
    /** Take the client address from X-Forwarded-For (QSEC_TRUST_PROXY, behind a load balancer). */
    trustProxy?: boolean;
  } = {},
): Promise<TestServer> {
  const db = await createTestDatabase();
  const prisma = await createPrisma(db.url);
  const httpServer = createServer();
  const app = await createApplication(httpServer, {
    prisma,
    logFlushMs: opts.logFlushMs ?? 20,
    relayTap: opts.relayTap,
    ...opts.app,
    ...(opts.backupLookups && { backupLookups: opts.backupLookups }),
    ...(opts.attachments && { attachments: opts.attachments }),
    ...(opts.trustProxy && { trustProxy: true }),
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dbFile: db.url.startsWith("file:") ? db.url.slice("file:".length) : "",
    dbUrl: db.url,
    prisma,
    app,
    async close() {
      await app.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/**
 * Every byte the server's database holds, for scans that must find no plaintext or key material:
 * the SQLite file and its WAL, or on PostgreSQL a full data dump (pg_dump; bytea in hex).
 */
export function databaseBytes(srv: Pick<TestServer, "dbFile" | "dbUrl">): Buffer[] {
  if (srv.dbFile) return [srv.dbFile, `${srv.dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f));
  return [execFileSync("pg_dump", ["--data-only", "--no-owner", srv.dbUrl], { maxBuffer: 512 * 1024 * 1024 })];
}
