/**
 * Starts the real Socket.IO application on port 0 with its own temporary SQLite database (a copy
 * of a template made by `prisma migrate deploy` in global-setup.js).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { createPrisma } from "@/server/db";
import { createApplication, type AppOptions, type QsecApp } from "@/server/app";

export interface TestServer {
  url: string;
  port: number;
  dbFile: string;
  prisma: PrismaClient;
  app: QsecApp;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: { logFlushMs?: number; relayTap?: AppOptions["relayTap"]; backupLookups?: AppOptions["backupLookups"] } = {},
): Promise<TestServer> {
  const template = process.env.QSEC_TEMPLATE_DB;
  if (!template) throw new Error("QSEC_TEMPLATE_DB unset: run through jest (globalSetup)");
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-test-"));
  const dbFile = path.join(dir, "test.db");
  copyFileSync(template, dbFile);
  const prisma = await createPrisma(`file:${dbFile}`);
  const httpServer = createServer();
  const app = await createApplication(httpServer, {
    prisma,
    logFlushMs: opts.logFlushMs ?? 20,
    relayTap: opts.relayTap,
    ...(opts.backupLookups && { backupLookups: opts.backupLookups }),
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dbFile,
    prisma,
    app,
    async close() {
      await app.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await prisma.$disconnect();
      if (!process.env.QSEC_KEEP_TEST_DB) rmSync(dir, { recursive: true, force: true });
    },
  };
}
