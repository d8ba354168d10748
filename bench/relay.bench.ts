/**
 * npm run bench:relay: QSEC's relay against a bare Socket.IO relay, on this machine.
 *
 * Prints ONE JSON document on stdout (progress goes to stderr): messages/s and p50/p99 latency for
 *   (a) one sender → one receiver, and
 *   (b) fan-out: one sender → a room of 50 (49 receivers), with per-delivery latency and deliveries/s,
 * each through (1) the real QSEC server (createApplication with a temporary SQLite database migrated
 * by scripts/prisma-setup.mjs; signed-nonce auth, zod validation, membership and epoch checks, log
 * batching and live log push all on) and (2) a bare relay (`socket.on("msg", (p, ack) => {
 * socket.to(room).emit("msg", p); ack(...) })`, same payload, same ack, nothing else), and the
 * QSEC/bare ratios. Target (reported, never asserted): QSEC ≥ 0.75 of bare throughput.
 *
 * Method
 * - Each server runs in its own child process (bench/lib/*-server.ts under tsx), started fresh for
 *   every run; all clients run here. On a 2-core machine this gives the relay one core and the
 *   clients the other, so neither relay is slowed by the clients' JSON parsing on its event loop,
 *   and both relays are treated identically. Each QSEC run gets a fresh copy of the migrated
 *   database so the log table doesn't grow from run to run.
 * - Clients: socket.io-client over the websocket transport, one connection per client. QSEC
 *   clients are real WebCrypto identities authenticated by connectRaw, joined with room:join; the
 *   sender stamps the current epoch from its join results and room:updated (a stale epoch would be
 *   refused with STALE_EPOCH and fail the run).
 * - Payload: what a real client sends: base64url iv (12 bytes), ciphertext (200 bytes), Ed25519
 *   signature (64 bytes), room id, epoch, counter, from a pool of random bodies.
 * - Sender: windowed/pipelined, up to `window` messages in flight; a message leaves the window when
 *   the sender has its ack and every receiver has it. Latency = send → receipt, per delivery,
 *   correlated by the message counter (the only field the opaque relay passes through as is).
 * - Warm-up phase (not recorded), then a fixed count: 20k messages 1→1, 2k fan-out; then a few
 *   messages one at a time (window 1) for the relay's unloaded latency.
 * - QSEC and bare runs alternate (order flipped each repetition), 3 repetitions, medians reported,
 *   because this machine is shared and noisy. Server CPU per message (from the child's
 *   process.cpuUsage) is reported too: it is less sensitive to noise than throughput.
 * - Rate limits: lib/protocol/limits.ts caps each socket at 50 commands/s (burst 100), which would
 *   measure the limiter, not the relay. The comparison runs use createApplication's `rateLimits`
 *   option to lift the command bucket; a short "asConfigured" section measures one sender under
 *   the real limits (RATE_LIMITED answers are retried after 20 ms and counted).
 *
 * Flags: --reps=N  --n1=N --nfan=N (measured counts)  --w1=N --wfan=N (windows)  --quick (small
 * counts, 1 rep)  --profile (afterwards, one CPU-profiled run of each relay and scenario; top server
 * hot-path items in the report; BENCH_KEEP_PROFILES=dir copies the .cpuprofile files there)  --no-configured (skip the rate-limited section).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnServer, type ServerChild } from "./lib/child";
import { openBareRoom, openQsecRoom, type OpenRoom } from "./lib/rooms";
import { runPhase, type PhaseResult } from "./lib/driver";
import { median, percentile, round } from "./lib/stats";
import { PAYLOAD_SIZES } from "./lib/payload";
import { summarizeProfile, type ProfileSummary } from "./lib/cpu-profile";

// ---- options --------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const num = (name: string, dflt: number) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const quick = flag("quick");
const REPS = num("reps", quick ? 1 : 3);
const ROOM_SIZE = 50;

type Kind = "qsec" | "bare";
interface Scenario {
  key: "oneToOne" | "fanout50";
  receivers: number;
  count: number;
  warmup: number;
  window: number;
  /** Messages sent one at a time (window 1) after the loaded phase, for unloaded latency. */
  unloaded: number;
}
const SCENARIOS: Scenario[] = [
  { key: "oneToOne", receivers: 1, count: num("n1", quick ? 4000 : 20_000), warmup: quick ? 500 : 2000, window: num("w1", 64), unloaded: quick ? 200 : 1000 },
  {
    key: "fanout50",
    receivers: ROOM_SIZE - 1,
    count: num("nfan", quick ? 400 : 2000),
    warmup: quick ? 50 : 200,
    window: num("wfan", 16),
    unloaded: quick ? 50 : 200,
  },
];

const log = (...a: unknown[]) => console.error("[bench:relay]", ...a);

// ---- one run --------------------------------------------------------------------------------

interface RunMetrics {
  messagesPerSec: number;
  deliveriesPerSec: number;
  elapsedMs: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Until the last receiver has it (fan-out); same as latencyMs for 1→1. */
  completeLatencyMs: { p50: number; p99: number };
  ackLatencyMs: { p50: number; p99: number };
  /** Window 1 (one message at a time, after the loaded phase): the relay's own latency, no queueing. */
  unloadedLatencyMs: { p50: number; p99: number };
  serverCpuUsPerMessage: number;
  /** Server CPU busy share of wall time during the measured phase (1 = one core saturated). */
  serverCpuShare: number;
  clientCpuShare: number;
  /** Frames other than the messages themselves that the clients received (QSEC's log:appended). */
  extraFramesPerMessage: number;
  rateLimitedRetries: number;
}

let tmpDir = "";
let templateDb = "";
let runNo = 0;

async function startServer(kind: Kind, opts: { limits: "lifted" | "configured" }): Promise<ServerChild> {
  if (kind === "bare") return spawnServer("bare-server.ts");
  const db = path.join(tmpDir, `run-${++runNo}.db`);
  copyFileSync(templateDb, db);
  return spawnServer("qsec-server.ts", {
    env: { BENCH_DATABASE_URL: `file:${db}`, BENCH_RATE_LIMITS: opts.limits },
  });
}

async function measure(
  kind: Kind,
  sc: Scenario,
  opts: {
    limits: "lifted" | "configured";
    profileFile?: string;
    window?: number;
    count?: number;
    warmup?: number;
    unloaded?: number;
    retryRateLimitedMs?: number;
  },
): Promise<RunMetrics> {
  const server = await startServer(kind, opts);
  let room: OpenRoom | null = null;
  try {
    const roomId = `bench-${sc.key}`;
    room = kind === "qsec" ? await openQsecRoom(server.url, roomId, sc.receivers) : await openBareRoom(server.url, roomId, sc.receivers);
    const count = opts.count ?? sc.count;
    const warmup = opts.warmup ?? sc.warmup;
    const phase = { window: opts.window ?? sc.window, retryRateLimitedMs: opts.retryRateLimitedMs, stallMs: opts.retryRateLimitedMs ? 60_000 : 15_000 };
    if (warmup > 0) await runPhase(room, { ...phase, count: warmup, firstCounter: 0 });
    await new Promise((r) => setTimeout(r, 100)); // let the warm-up's log flush and pushes settle
    const extra0 = room.extraFrames();
    const cpu0 = await server.cpuMs();
    if (opts.profileFile) await server.profileStart();
    const own0 = process.cpuUsage();
    const r: PhaseResult = await runPhase(room, { ...phase, count, firstCounter: warmup });
    const cpu1 = await server.cpuMs();
    if (opts.profileFile) await server.profileStop(opts.profileFile);
    const own = process.cpuUsage(own0);
    const extra = room.extraFrames() - extra0;
    await new Promise((r) => setTimeout(r, 100));
    const u = await runPhase(room, { ...phase, window: 1, count: opts.unloaded ?? sc.unloaded, firstCounter: warmup + count });
    return {
      messagesPerSec: r.messagesPerSec,
      deliveriesPerSec: r.deliveriesPerSec,
      elapsedMs: r.elapsedMs,
      latencyMs: { p50: percentile(r.delivery, 50), p99: percentile(r.delivery, 99), max: percentile(r.delivery, 100) },
      completeLatencyMs: { p50: percentile(r.complete, 50), p99: percentile(r.complete, 99) },
      ackLatencyMs: { p50: percentile(r.ack, 50), p99: percentile(r.ack, 99) },
      unloadedLatencyMs: { p50: percentile(u.delivery, 50), p99: percentile(u.delivery, 99) },
      serverCpuUsPerMessage: ((cpu1 - cpu0) * 1000) / count,
      serverCpuShare: (cpu1 - cpu0) / r.elapsedMs,
      clientCpuShare: (own.user + own.system) / 1000 / r.elapsedMs,
      extraFramesPerMessage: extra / count,
      rateLimitedRetries: r.rateLimitedRetries,
    };
  } finally {
    await room?.close();
    await server.stop();
  }
}

// ---- aggregation ----------------------------------------------------------------------------

function summarize(runs: RunMetrics[]) {
  const m = (f: (r: RunMetrics) => number, d = 2) => round(median(runs.map(f)), d);
  return {
    runs: runs.length,
    messagesPerSec: m((r) => r.messagesPerSec, 0),
    deliveriesPerSec: m((r) => r.deliveriesPerSec, 0),
    latencyMs: { p50: m((r) => r.latencyMs.p50), p99: m((r) => r.latencyMs.p99) },
    completeLatencyMs: { p50: m((r) => r.completeLatencyMs.p50), p99: m((r) => r.completeLatencyMs.p99) },
    ackLatencyMs: { p50: m((r) => r.ackLatencyMs.p50), p99: m((r) => r.ackLatencyMs.p99) },
    unloadedLatencyMs: { p50: m((r) => r.unloadedLatencyMs.p50), p99: m((r) => r.unloadedLatencyMs.p99) },
    serverCpuUsPerMessage: m((r) => r.serverCpuUsPerMessage, 1),
    serverCpuShare: m((r) => r.serverCpuShare),
    clientCpuShare: m((r) => r.clientCpuShare),
    extraFramesPerMessage: m((r) => r.extraFramesPerMessage, 1),
    /** Every repetition's throughput, to show the noise behind the median. */
    messagesPerSecEachRun: runs.map((r) => round(r.messagesPerSec, 0)),
  };
}

function ratios(q: ReturnType<typeof summarize>, b: ReturnType<typeof summarize>) {
  return {
    throughput: round(q.messagesPerSec / b.messagesPerSec, 3),
    latencyP50: round(q.latencyMs.p50 / b.latencyMs.p50, 3),
    latencyP99: round(q.latencyMs.p99 / b.latencyMs.p99, 3),
    unloadedLatencyP50: round(q.unloadedLatencyMs.p50 / b.unloadedLatencyMs.p50, 3),
    serverCpuPerMessage: round(q.serverCpuUsPerMessage / b.serverCpuUsPerMessage, 3),
  };
}

// ---- main -----------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  tmpDir = mkdtempSync(path.join(os.tmpdir(), "qsec-bench-"));
  templateDb = path.join(tmpDir, "bench.db");
  try {
    log(`migrating a temporary database: ${templateDb}`);
    const root = path.resolve(__dirname, "..");
    const mig = spawnSync(process.execPath, [path.join(root, "scripts", "prisma-setup.mjs"), "deploy"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: `file:${templateDb}` },
      stdio: ["ignore", 2, 2],
    });
    if (mig.status !== 0) throw new Error(`prisma-setup.mjs deploy failed (${mig.status})`);

    const loadBefore = os.loadavg();
    const results = new Map<string, RunMetrics[]>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const sc of SCENARIOS) {
        const order: Kind[] = rep % 2 === 0 ? ["qsec", "bare"] : ["bare", "qsec"];
        for (const kind of order) {
          log(`rep ${rep + 1}/${REPS} ${sc.key} ${kind}: ${sc.warmup} warm-up + ${sc.count} messages, window ${sc.window}`);
          const r = await measure(kind, sc, { limits: "lifted" });
          log(
            `  ${round(r.messagesPerSec, 0)} msg/s, ${round(r.deliveriesPerSec, 0)} deliveries/s, p50 ${round(r.latencyMs.p50)} ms, p99 ${round(r.latencyMs.p99)} ms, server ${round(r.serverCpuUsPerMessage, 1)} µs CPU/msg`,
          );
          const k = `${sc.key}/${kind}`;
          results.set(k, [...(results.get(k) ?? []), r]);
        }
      }
    }

    const scenarios: Record<string, unknown> = {};
    const met: Record<string, boolean> = {};
    for (const sc of SCENARIOS) {
      const q = summarize(results.get(`${sc.key}/qsec`)!);
      const b = summarize(results.get(`${sc.key}/bare`)!);
      const ratio = ratios(q, b);
      met[sc.key] = ratio.throughput >= 0.75;
      scenarios[sc.key] = {
        receivers: sc.receivers,
        messages: sc.count,
        warmup: sc.warmup,
        window: sc.window,
        qsec: q,
        bare: b,
        ratioQsecOverBare: ratio,
      };
    }

    // One sender under the limits as configured (50 commands/s, burst 100 per socket).
    let asConfigured: Record<string, unknown> | undefined;
    if (!flag("no-configured")) {
      asConfigured = {
        note: "QSEC with lib/protocol/limits.ts as shipped (50 commands/s, burst 100 per socket): one sender socket sending one message at a time (window 1), RATE_LIMITED answers retried after 20 ms; the limiter, not the relay, sets the rate",
      };
      for (const sc of SCENARIOS) {
        const count = sc.key === "oneToOne" ? 400 : 300;
        log(`as configured ${sc.key}: ${count} messages`);
        const r = await measure("qsec", sc, { limits: "configured", window: 1, count, warmup: 0, unloaded: 20, retryRateLimitedMs: 20 });
        asConfigured[sc.key] = {
          messages: count,
          messagesPerSec: round(r.messagesPerSec, 1),
          deliveriesPerSec: round(r.deliveriesPerSec, 0),
          latencyMs: { p50: round(r.latencyMs.p50), p99: round(r.latencyMs.p99) },
          rateLimitedRetries: r.rateLimitedRetries,
        };
      }
    }

    let profile: Record<string, unknown> | undefined;
    if (flag("profile")) {
      profile = {
        note: "one extra run per relay and scenario with the V8 sampling profiler (node:inspector) on in the server child during the measured phase only (so somewhat slower than the timed runs); self and inclusive CPU time of the server process, ms and % of its busy time",
      };
      for (const sc of SCENARIOS) {
        for (const kind of ["qsec", "bare"] as Kind[]) {
          const file = path.join(tmpDir, `${kind}-${sc.key}.cpuprofile`);
          log(`profiling ${sc.key} ${kind}`);
          const r = await measure(kind, sc, { limits: "lifted", profileFile: file });
          const s: ProfileSummary = summarizeProfile(file);
          if (process.env.BENCH_KEEP_PROFILES) copyFileSync(file, path.join(process.env.BENCH_KEEP_PROFILES, path.basename(file)));
          profile[`${sc.key}/${kind}`] =
            kind === "qsec"
              ? { messagesPerSec: round(r.messagesPerSec, 0), ...s }
              : {
                  messagesPerSec: round(r.messagesPerSec, 0),
                  totalMs: s.totalMs,
                  busyMs: s.busyMs,
                  byArea: s.byArea.slice(0, 8),
                  topSelf: s.topSelf.slice(0, 8),
                };
        }
      }
    }

    const report = {
      bench: "relay",
      date: new Date().toISOString(),
      machine: {
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        loadAvgBefore: loadBefore.map((x) => round(x)),
        loadAvgAfter: os.loadavg().map((x) => round(x)),
      },
      method: {
        servers: "each relay in its own child process, fresh per run; all clients in the bench process",
        transport: "socket.io 4.8 websocket only, one connection per client",
        payloadBytes: PAYLOAD_SIZES,
        sender: "windowed: a message is in flight until acked and received by every receiver",
        repetitions: REPS,
        aggregation: "median over repetitions; QSEC and bare alternate, order flipped each repetition",
        qsecRateLimits: "lifted for the comparison (createApplication rateLimits: 1e9/s); see asConfigured",
        qsecLogFlushMs: 50,
        latency:
          "send → receipt at each receiver (per delivery), ms; latencyMs under the windowed load, unloadedLatencyMs one message at a time; completeLatencyMs until the last receiver has it",
      },
      scenarios,
      target: { throughputRatioAtLeast: 0.75, met, asserted: false },
      asConfigured,
      profile,
      durationSec: round((Date.now() - t0) / 1000, 1),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
