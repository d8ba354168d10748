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
 * per-address connection cap; the clients all come from 127.0.0.1), BENCH_STREAM_HOP=1 (with Redis:
 * for every room broadcast this node dispatches, the time from its XADD, read from the stream
 * entry's id, to the dispatch: "local" after this node's own XADD answered, "remote" when its stream
 * reader got another node's entry; read over IPC as the child's stats).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrisma } from "@/server/db";
import { createApplication } from "@/server/app";
import { RedisState } from "@/server/cluster/redis-state";
import { serveChild, type ChildStats } from "./child";
import { percentile, round, Sample } from "./stats";

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
  const stats = shared && process.env.BENCH_STREAM_HOP === "1" ? streamHops(app.io.of("/").adapter) : undefined;
  serveChild(
    (httpServer.address() as AddressInfo).port,
    async () => {
      await app.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await shared?.close();
      await prisma.$disconnect();
    },
    stats,
  );
}

/** XADD → dispatch times of the broadcasts this node dispatches (see BENCH_STREAM_HOP above). */
function streamHops(adapterObj: unknown): ChildStats {
  const adapter = adapterObj as { onMessage(m: unknown, offset?: string): void; addOffsetIfNecessary(p: unknown, o: unknown, offset: string): void };
  let local = new Sample();
  let remote = new Sample();
  let inRemote = false;
  const onMessage = adapter.onMessage.bind(adapter);
  adapter.onMessage = (m, offset) => {
    inRemote = true;
    try {
      onMessage(m, offset);
    } finally {
      inRemote = false;
    }
  };
  const addOffset = adapter.addOffsetIfNecessary.bind(adapter);
  adapter.addOffsetIfNecessary = (p, o, offset) => {
    const ms = Number(String(offset).split("-")[0]);
    if (ms > 0) (inRemote ? remote : local).push(Date.now() - ms);
    addOffset(p, o, offset);
  };
  const summary = (s: Sample) => ({ n: s.length, p50: round(percentile(s.values(), 50)), p99: round(percentile(s.values(), 99)) });
  return {
    read: () => ({ local: summary(local), remote: summary(remote) }),
    reset: () => {
      local = new Sample();
      remote = new Sample();
    },
  };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
