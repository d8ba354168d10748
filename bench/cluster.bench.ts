/**
 * npm run bench:cluster: QSEC as two nodes sharing Redis and PostgreSQL (issue 11), on this machine,
 * one run. Prints ONE JSON document on stdout (progress on stderr) and writes it to
 * bench/cluster.bench.result.json:
 *   (a) 1→1 and fan-out to a room of 50, members spread over 2 node processes (the sender on one,
 *       receivers alternating) vs everyone on one node of the same cluster, same run: messages/s and
 *       p50/p99 send → receipt latency, and the ratios (targets: cross-node throughput ≥ 0.6× and
 *       cross-node p99 ≤ 2× the one-node figures);
 *   (b) recovery after kill -9 of a node: headless ChatClients (lib/client) through nginx
 *       (deploy/nginx.conf.template, rendered as scripts/cluster.ts does) in one room; one node is
 *       killed while a member on the surviving node keeps sending every 100 ms; for each member that
 *       was on the dead node, the time until it is online in the room again and until it holds every
 *       message sent since the kill, once each (target ≤ 5 s); a missing message is listed with when
 *       its send was acknowledged (only acknowledged sends are counted);
 *   (c) memory per idle authenticated connection: 1,000 clients authenticated (signed nonce) on one
 *       node without Redis, RSS and heap delta / 1000, each the median of five readings a second apart
 *       after a full GC (target ≤ 20 KB).
 *   (d) what one Redis and one PostgreSQL spend per message, measured around each phase of (a): Redis
 *       commands, network bytes and its process's CPU time (INFO; the machine's Redis is shared, so
 *       other users' commands in the same seconds count too), PostgreSQL envelopes and log rows
 *       stored in the bench's database and the CPU time of every postgres process (/proc),
 *       per 1,000 messages and per 1,000 deliveries, and the message rate one core of each would
 *       carry at that cost (an estimate for docs/deploy.md, not a target).
 * Nodes are bench/lib/qsec-server.ts children (createApplication with RedisState, command rate
 * limit lifted for (a) only as in bench:relay); clients run in this process. The load average is
 * reported: the machine is shared, so only the same-run ratios mean much.
 * BENCH_CLUSTER_PHASES=recovery (relay, recovery, memory) runs some phases only, and
 * BENCH_CLUSTER_RECOVERY_RUNS=N repeats (b) and BENCH_CLUSTER_SEND_MS its sender's pause (default
 * 100 ms); such a run prints its JSON but leaves the result file.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client as PgClient } from "pg";
import { createClient } from "redis";
import type { ChatClient } from "@/lib/client";
import { honestClient } from "@/__tests__/helpers/clients";
import { connectRaw, type RawClient } from "@/__tests__/helpers/raw-client";
import { registerNodes } from "@/__tests__/helpers/spread";
import { pgAdmin, pgUrlFor } from "@/__tests__/helpers/test-db";
import { spawnServer, type ServerChild } from "./lib/child";
import { openQsecRoom } from "./lib/rooms";
import { runPhase } from "./lib/driver";
import { percentile, round } from "./lib/stats";

const ROOT = path.resolve(__dirname, "..");
const REDIS_URL = process.env.QSEC_REDIS_URL ?? "redis://127.0.0.1:6379";
const log = (...a: unknown[]) => console.error("[bench:cluster]", ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = randomBytes(6).toString("hex");
const dbName = `qsec_bench_${tag}`;
const prefixes: string[] = [];

async function startNodes(count: number, opts: { lifted: boolean }): Promise<ServerChild[]> {
  const prefix = `qsec_bench_${tag}_${prefixes.length}:`;
  prefixes.push(prefix);
  const nodes: ServerChild[] = [];
  for (let i = 0; i < count; i++)
    nodes.push(
      await spawnServer("qsec-server.ts", {
        env: {
          BENCH_DATABASE_URL: pgUrlFor(dbName),
          BENCH_RATE_LIMITS: opts.lifted ? "lifted" : "configured",
          BENCH_REDIS_URL: REDIS_URL,
          BENCH_REDIS_PREFIX: prefix,
          BENCH_NODE_ID: `n${i + 1}`,
          BENCH_MAX_PER_ADDRESS: "2000",
          BENCH_STREAM_HOP: opts.lifted ? "1" : "0",
        },
      }),
    );
  return nodes;
}

// ---- (d) what the shared services spend -----------------------------------------------------------

interface ServiceStats {
  redisCommands: number;
  redisNetBytes: number;
  redisCpuMs: number;
  pgEnvelopes: number;
  pgLogRows: number;
  pgCpuMs: number;
}

/** CPU time (user + system, ms) of every process whose command is `postgres` (all of the cluster's). */
function postgresCpuMs(): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      if (!stat.slice(stat.indexOf("(") + 1, close).startsWith("postgres")) continue;
      const fields = stat.slice(close + 2).split(" ");
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / tick; // utime, stime
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}

async function serviceStats(): Promise<ServiceStats> {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  const info = await redis.info();
  await redis.quit();
  const field = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, "m").exec(info)?.[1] ?? NaN);
  const db = new PgClient({ connectionString: pgUrlFor(dbName) });
  await db.connect();
  // Exact counts of the two tables a message adds to (pg_stat_database lags by up to a second).
  const pg = await db.query<{ envelopes: string; logs: string }>(
    'SELECT (SELECT count(*) FROM "Envelope") AS envelopes, (SELECT count(*) FROM "RoomLog") AS logs',
  );
  await db.end();
  return {
    redisCommands: field("total_commands_processed"),
    redisNetBytes: field("total_net_input_bytes") + field("total_net_output_bytes"),
    redisCpuMs: (field("used_cpu_user") + field("used_cpu_sys")) * 1000,
    pgEnvelopes: Number(pg.rows[0].envelopes),
    pgLogRows: Number(pg.rows[0].logs),
    pgCpuMs: postgresCpuMs(),
  };
}

function serviceCost(before: ServiceStats, after: ServiceStats, messages: number, deliveries: number) {
  const d = (k: keyof ServiceStats) => after[k] - before[k];
  const perK = (v: number, n: number) => round((v * 1000) / n, 1);
  return {
    perThousandMessages: {
      redisCommands: perK(d("redisCommands"), messages),
      redisKB: perK(d("redisNetBytes") / 1024, messages),
      redisCpuMs: perK(d("redisCpuMs"), messages),
      pgEnvelopesStored: perK(d("pgEnvelopes"), messages),
      pgLogRowsStored: perK(d("pgLogRows"), messages),
      pgCpuMs: perK(d("pgCpuMs"), messages),
    },
    perThousandDeliveries: { redisCpuMs: perK(d("redisCpuMs"), deliveries), pgCpuMs: perK(d("pgCpuMs"), deliveries) },
    messagesPerSecOneCoreCouldCarry: {
      redis: d("redisCpuMs") > 0 ? round((messages * 1000) / d("redisCpuMs"), 0) : null,
      postgresql: d("pgCpuMs") > 0 ? round((messages * 1000) / d("pgCpuMs"), 0) : null,
    },
  };
}

// ---- (a) throughput and latency, cross-node vs one node ----------------------------------------

async function relay(spread: boolean, receivers: number, count: number, window: number) {
  const nodes = await startNodes(2, { lifted: true });
  const unregister = registerNodes(spread ? nodes.map((n) => n.url) : [nodes[0].url]);
  try {
    const room = await openQsecRoom(nodes[0].url, `bench-${receivers}-${spread ? "spread" : "one"}`, receivers);
    try {
      await runPhase(room, { count: Math.ceil(count / 10), window, firstCounter: 0, stallMs: 15_000 });
      await sleep(1000);
      await Promise.all(nodes.map((n) => n.statsReset()));
      const before = await serviceStats();
      const r = await runPhase(room, { count, window, firstCounter: Math.ceil(count / 10), stallMs: 15_000 });
      // Where a broadcast's time goes between the sender's node writing it to the Redis stream and a
      // node handing it to its sockets (ms; the entry id's clock is Redis's, on this machine).
      const hops = await Promise.all(nodes.map((n) => n.stats()));
      await sleep(1000); // the nodes' log rows and envelopes flushed
      const after = await serviceStats();
      return {
        services: serviceCost(before, after, count, count * receivers),
        messagesPerSec: round(r.messagesPerSec, 0),
        deliveriesPerSec: round(r.deliveriesPerSec, 0),
        latencyMs: { p50: round(percentile(r.delivery, 50)), p99: round(percentile(r.delivery, 99)) },
        xaddToDispatchMs: { n1: hops[0], n2: hops[1] },
      };
    } finally {
      await room.close();
    }
  } finally {
    unregister();
    for (const n of nodes) await n.stop();
  }
}

// ---- (b) kill -9 of a node behind nginx ---------------------------------------------------------

function startNginx(dir: string, listen: number, upstreams: string[]): ChildProcess {
  const conf = readFileSync(path.join(ROOT, "deploy", "nginx.conf.template"), "utf8")
    .replaceAll("@PREFIX@", dir)
    .replaceAll("@LISTEN@", `127.0.0.1:${listen}`)
    .replace("@UPSTREAMS@", upstreams.map((u) => `    server ${new URL(u).host} max_fails=1 fail_timeout=5s;`).join("\n"));
  writeFileSync(path.join(dir, "nginx.conf"), conf);
  return spawn(process.env.NGINX ?? "/usr/sbin/nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: ["ignore", "ignore", "inherit"] });
}

const texts = (c: ChatClient, roomId: string) => (c.state.rooms[roomId]?.messages ?? []).filter((m) => m.status === "ok").map((m) => m.text);

async function until(cond: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** (b)'s sender pause between messages (BENCH_CLUSTER_SEND_MS; shorter makes a send during a reconnect likelier). */
const SEND_EVERY_MS = Number(process.env.BENCH_CLUSTER_SEND_MS ?? "100");

async function recovery() {
  const nodes = await startNodes(2, { lifted: false });
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-bench-nginx-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const nginx = startNginx(
    dir,
    port,
    nodes.map((n) => n.url),
  );
  const url = `http://127.0.0.1:${port}`;
  const clients: ChatClient[] = [];
  const roomId = `recover-${prefixes.length}`; // one room per run: rooms outlive their nodes in the database
  let killed: ServerChild | null = null;
  try {
    await until(() => false, 300, "").catch(() => {}); // nginx up
    for (let i = 0; i < 6; i++) {
      const c = await honestClient(url);
      clients.push(c);
      await c.connect();
      await c.join(roomId, `m${i}`);
    }
    await until(
      () =>
        clients.every((c) => {
          const r = c.state.rooms[roomId];
          return !!r && r.keyEpoch === r.epoch && !r.waitingForKey && r.members.length === clients.length;
        }),
      15_000,
      "everyone keyed",
    );
    const killedAt = Date.now();
    process.kill(nodes[0].pid, "SIGKILL");
    killed = nodes[0];
    await sleep(300);
    const hit = clients.filter((c) => c.state.connection !== "online");
    const sender = clients.find((c) => c.state.connection === "online");
    if (!sender || hit.length === 0) throw new Error(`nginx put ${hit.length} of ${clients.length} members on the killed node`);
    const sent: string[] = [];
    const sentMs = new Map<string, number>();
    let sending = true;
    const loop = (async () => {
      for (let k = 0; sending; k++) {
        const text = `after-kill-${k}`;
        await sender.send(roomId, text); // throws on a refusal: only acknowledged sends are counted
        sent.push(text);
        sentMs.set(text, Date.now() - killedAt);
        await sleep(SEND_EVERY_MS);
      }
    })();
    const online = hit.map(() => 0);
    const caught = hit.map(() => 0);
    await until(
      () => {
        hit.forEach((c, i) => {
          const r = c.state.rooms[roomId];
          if (!online[i] && c.state.connection === "online" && r?.present) online[i] = Date.now() - killedAt;
          if (online[i] && !caught[i] && sent.length > 0 && sent.slice(0, Math.max(1, sent.length - 3)).every((t) => texts(c, roomId).includes(t)))
            caught[i] = Date.now() - killedAt;
        });
        return caught.every((x) => x > 0);
      },
      30_000,
      "members of the killed node back and caught up",
    );
    sending = false;
    await loop;
    await sleep(1000);
    const duplicates = hit.map((c) => texts(c, roomId).length - new Set(texts(c, roomId)).size).reduce((a, b) => a + b, 0);
    const missing = hit.map((c) => sent.filter((t) => !texts(c, roomId).includes(t)).length).reduce((a, b) => a + b, 0);
    // Which ones, when they were acknowledged (ms after the kill), and whether that member's session was recovered.
    const missingDetail = hit.flatMap((c, i) =>
      sent.filter((t) => !texts(c, roomId).includes(t)).map((t) => ({ member: i, text: t, ackedMs: sentMs.get(t), onlineMs: online[i] })),
    );
    const recovered = hit.map((c) => c.socket?.recovered ?? false);
    log("recovery", { online, caught, sent: sent.length, duplicates, missing, missingDetail, recovered });
    return {
      members: clients.length,
      onKilledNode: hit.length,
      reconnectMs: { max: Math.max(...online), each: online },
      catchUpMs: { max: Math.max(...caught), each: caught },
      messagesSentMeanwhile: sent.length,
      sessionsRecovered: recovered.filter(Boolean).length,
      duplicates,
      missing,
      ...(missingDetail.length > 0 && { missingDetail }),
    };
  } finally {
    for (const c of clients) c.close();
    nginx.kill("SIGQUIT");
    await new Promise((r) => (nginx.exitCode === null ? nginx.once("exit", r) : r(null)));
    rmSync(dir, { recursive: true, force: true });
    for (const n of nodes) if (n !== killed) await n.stop();
  }
}

// ---- (c) memory per idle authenticated connection ----------------------------------------------

/** Median of five readings a second apart (each after a full GC): RSS moves by a few MB between readings. */
async function settled(node: ServerChild) {
  const samples: { rss: number; heapUsed: number; external: number }[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(1000);
    samples.push(await node.memory());
  }
  const median = (k: "rss" | "heapUsed" | "external") => samples.map((x) => x[k]).sort((a, b) => a - b)[2];
  return { rss: median("rss"), heapUsed: median("heapUsed"), external: median("external") };
}

async function memory(n: number) {
  const node = await spawnServer("qsec-server.ts", { exposeGc: true, env: { BENCH_DATABASE_URL: pgUrlFor(dbName), BENCH_MAX_PER_ADDRESS: String(n + 100) } });
  const clients: RawClient[] = [];
  try {
    // A few connections first so that lazily built state (parsers, buffers) is not counted per client.
    for (let i = 0; i < 10; i++) clients.push(await connectRaw(node.url));
    const before = await settled(node);
    for (let i = 0; i < n; i += 25) clients.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => connectRaw(node.url)))));
    for (const c of clients) c.socket.offAny();
    await sleep(2000);
    const after = await settled(node);
    return {
      connections: n,
      rssKBPerConnection: round((after.rss - before.rss) / 1024 / n, 1),
      heapKBPerConnection: round((after.heapUsed - before.heapUsed) / 1024 / n, 1),
      externalKBPerConnection: round((after.external - before.external) / 1024 / n, 1),
    };
  } finally {
    for (const c of clients) c.close();
    await node.stop();
  }
}

async function main() {
  log("database", dbName);
  await pgAdmin((c) => c.query(`CREATE DATABASE "${dbName}"`));
  try {
    execFileSync(process.execPath, ["--import", "tsx", path.join(ROOT, "server", "pg-migrate.ts")], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: pgUrlFor(dbName) },
      stdio: ["ignore", "ignore", "inherit"],
    });
    // BENCH_CLUSTER_PHASES=recovery (comma-separated: relay, recovery, memory) runs some phases only,
    // and BENCH_CLUSTER_RECOVERY_RUNS=N repeats the kill -9 phase; the result file is written only
    // by a full run of one repeat.
    const phases = new Set((process.env.BENCH_CLUSTER_PHASES ?? "relay,recovery,memory").split(",").map((x) => x.trim()));
    const recoveryRuns = Math.max(1, Number(process.env.BENCH_CLUSTER_RECOVERY_RUNS ?? "1") || 1);
    const full = ["relay", "recovery", "memory"].every((x) => phases.has(x)) && recoveryRuns === 1 && SEND_EVERY_MS === 100;
    const load0 = os.loadavg();
    const scenarios = { oneToOne: { receivers: 1, count: 5000, window: 64 }, fanout50: { receivers: 49, count: 500, window: 16 } };
    const relayResults: Record<string, unknown> = {};
    for (const [key, sc] of Object.entries(phases.has("relay") ? scenarios : {})) {
      log(key, "one node");
      const one = await relay(false, sc.receivers, sc.count, sc.window);
      log(key, "two nodes");
      const two = await relay(true, sc.receivers, sc.count, sc.window);
      relayResults[key] = {
        oneNode: one,
        crossNode: two,
        throughputRatio: round(two.messagesPerSec / one.messagesPerSec),
        p99Ratio: round(two.latencyMs.p99 / one.latencyMs.p99),
      };
    }
    const runs: Awaited<ReturnType<typeof recovery>>[] = [];
    for (let i = 0; phases.has("recovery") && i < recoveryRuns; i++) {
      log("recovery after kill -9", recoveryRuns > 1 ? `(${i + 1}/${recoveryRuns})` : "");
      runs.push(await recovery());
    }
    const rec =
      runs.length <= 1
        ? runs[0]
        : {
            runs,
            deliveriesExpected: runs.reduce((a, r) => a + r.messagesSentMeanwhile * r.onKilledNode, 0),
            duplicates: runs.reduce((a, r) => a + r.duplicates, 0),
            missing: runs.reduce((a, r) => a + r.missing, 0),
          };
    let mem: Awaited<ReturnType<typeof memory>> | undefined;
    if (phases.has("memory")) {
      log("memory per idle connection");
      mem = await memory(1000);
    }
    const result = {
      bench: "cluster",
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, loadAverageAtStart: load0.map((x) => round(x)), loadAverageAtEnd: os.loadavg().map((x) => round(x)) },
      relay: relayResults,
      recoveryAfterKill9: rec,
      memoryPerIdleConnection: mem,
      targets: {
        crossNodeThroughputAtLeast: 0.6,
        crossNodeP99AtMostTimes: 2,
        kbPerIdleConnectionAtMost: 20,
        reconnectAndCatchUpMsAtMost: 5000,
      },
    };
    const json = JSON.stringify(result, null, 2);
    console.log(json);
    if (full) writeFileSync(path.join(__dirname, "cluster.bench.result.json"), json + "\n");
  } finally {
    await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    for (const p of prefixes) for await (const keys of redis.scanIterator({ MATCH: `${p}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
    await redis.quit();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
