/**
 * Child process: the real QSEC Socket.IO application (createApplication: auth, zod validation,
 * membership and epoch checks, rate limits, batched SQLite logging with live log push), on
 * 127.0.0.1 port 0, with no Next.js. Started by relay.bench.ts through spawnServer().
 *
 * env: BENCH_DATABASE_URL (file: URL of a migrated database), BENCH_RATE_LIMITS ("configured" keeps
 * lib/protocol/limits.ts; "lifted" raises the per-socket command bucket so the relay itself is
 * measured), BENCH_LOG_FLUSH_MS (default: the app's default, 50 ms), BENCH_HISTORY_DAYS_CAP (the
 * app's historyDaysCap; 0: every room ephemeral, nothing stored; default: rooms keep 30 days),
 * BENCH_REDIS_URL + BENCH_REDIS_PREFIX (+ BENCH_NODE_ID): a node of a cluster sharing state through
 * Redis (RedisState, as server/main.ts does with QSEC_REDIS_URL), BENCH_MAX_PER_ADDRESS (the
 * per-address connection cap; the clients all come from 127.0.0.1).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrisma } from "@/server/db";
import { createApplication } from "@/server/app";
import { RedisState } from "@/server/cluster/redis-state";
import { serveChild } from "./child";

async function main() {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) throw new Error("BENCH_DATABASE_URL unset");
  const lifted = process.env.BENCH_RATE_LIMITS === "lifted";
  const flush = process.env.BENCH_LOG_FLUSH_MS ? Number(process.env.BENCH_LOG_FLUSH_MS) : undefined;
  const prisma = await createPrisma(url);
  const redisUrl = process.env.BENCH_REDIS_URL;
  const shared = redisUrl
    ? await RedisState.connect({ url: redisUrl, prefix: process.env.BENCH_REDIS_PREFIX ?? "qsec_bench:", nodeId: process.env.BENCH_NODE_ID })
    : undefined;
  const httpServer = createServer();
  const app = await createApplication(httpServer, {
    prisma,
    logFlushMs: flush,
    rateLimits: lifted ? { commandsPerSecond: Infinity, commandBurst: Infinity } : undefined,
    ...(process.env.BENCH_HISTORY_DAYS_CAP !== undefined && { historyDaysCap: Number(process.env.BENCH_HISTORY_DAYS_CAP) }),
    ...(process.env.BENCH_MAX_PER_ADDRESS && { maxConnectionsPerAddress: Number(process.env.BENCH_MAX_PER_ADDRESS) }),
    ...(shared && { shared }),
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  serveChild((httpServer.address() as AddressInfo).port, async () => {
    await app.close();
    await new Promise<void>((r) => httpServer.close(() => r()));
    await shared?.close();
    await prisma.$disconnect();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
