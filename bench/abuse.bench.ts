/**
 * npm run bench:abuse: the hostile-client audit's resource findings (issue 10), replayed against
 * the real server so the next audit can compare. Prints ONE JSON document on stdout (progress on
 * stderr):
 * - honest: an honest member's room-message latency (send → the other member's receipt), p50/p99,
 *   before any abuse and during each abuse;
 * - expensiveReads: 20 sockets each sending `logs:fetch` with limit 500 at 45/s (within the
 *   command limits) in a room of 600 log rows;
 * - nonReading: 8 sockets that stop reading their TCP connection but keep sending commands at the
 *   allowed rate (large replies: logs:fetch 500, keys:list);
 * - partialBinary: 8 connections each announcing 10 binary attachments and sending 9 × 1 MB;
 * - lockOut: 200 polling handshakes each followed by one POST carrying a CONNECT and a close, then
 *   whether an honest client can still connect;
 * and for each abuse the server's RSS growth (VmRSS of the server process, max during − before).
 *
 * Targets (reported, never asserted): no lock-out; RSS growth under one abusive address ≤ 64 MB;
 * honest p99 ≤ 50 ms during the expensive-read flood.
 *
 * The server runs in its own process (bench/lib/qsec-server.ts, limits as configured); all
 * clients run here, from 127.0.0.1 (one address). Flags: --seconds=N (each abuse phase, default 5);
 * BENCH_PROFILE=1 logs a CPU profile summary of the server during the expensive-read phase.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPrisma } from "@/server/db";
import { connectRaw, type RawClient } from "@/__tests__/helpers/raw-client";
import { sleep } from "@/__tests__/helpers/waits";
import type { Ack, JoinResult, MessageReceived } from "@/lib/protocol";
import { spawnServer, type ServerChild } from "./lib/child";
import { percentile, round } from "./lib/stats";
import { summarizeProfile } from "./lib/cpu-profile";

const argv = process.argv.slice(2);
const secArg = argv.find((a) => a.startsWith("--seconds="));
const SECONDS = secArg ? Number(secArg.slice("--seconds=".length)) : 5;
const log = (...a: unknown[]) => console.error("[bench:abuse]", ...a);

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples the server's RSS every 50 ms while `run` runs; growth = max during − before. */
async function withRss<T>(pid: number, run: () => Promise<T>): Promise<{ result: T; rssBeforeMb: number; rssMaxMb: number; rssGrowthMb: number }> {
  const before = rssMb(pid);
  let max = before;
  const t = setInterval(() => {
    const r = rssMb(pid);
    if (r > max) max = r;
  }, 50);
  try {
    const result = await run();
    return { result, rssBeforeMb: round(before, 1), rssMaxMb: round(max, 1), rssGrowthMb: round(max - before, 1) };
  } finally {
    clearInterval(t);
  }
}

interface Honest {
  a: RawClient;
  b: RawClient;
  epoch: number;
  counter: number;
  pending: Map<number, number>;
  samples: number[];
}

async function honestPair(url: string): Promise<Honest> {
  const a = await connectRaw(url);
  const b = await connectRaw(url);
  a.socket.offAny();
  b.socket.offAny();
  const h: Honest = { a, b, epoch: 0, counter: 0, pending: new Map(), samples: [] };
  a.socket.on("room:updated", (s) => {
    if (s.roomId === "honest" && s.epoch > h.epoch) h.epoch = s.epoch;
  });
  for (const [c, name] of [
    [a, "alice"],
    [b, "bob"],
  ] as const) {
    const r = (await c.call("room:join", { roomId: "honest", displayName: name })) as Ack<JoinResult>;
    if (!r.ok) throw new Error("honest join failed: " + JSON.stringify(r));
    if (r.data.epoch > h.epoch) h.epoch = r.data.epoch;
  }
  b.socket.on("message:received", (m: MessageReceived) => {
    const t0 = h.pending.get(m.counter);
    if (t0 !== undefined) {
      h.samples.push(performance.now() - t0);
      h.pending.delete(m.counter);
    }
  });
  return h;
}

const b64 = (n: number) => Buffer.alloc(n, 7).toString("base64url");

/** The honest member sends one room message every 20 ms for `ms`; latency p50/p99 of those received. */
async function measureHonest(h: Honest, ms: number) {
  h.samples = [];
  h.pending.clear();
  let sent = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const counter = ++h.counter;
    h.pending.set(counter, performance.now());
    (h.a.socket as any).emit("message:send", { roomId: "honest", epoch: h.epoch, counter, iv: b64(12), ciphertext: b64(200), signature: b64(64) }, () => {});
    sent++;
    await sleep(20);
  }
  await sleep(Math.min(2000, ms)); // stragglers
  const lost = h.pending.size;
  return { sent, received: h.samples.length, lostOrLate: lost, p50Ms: round(percentile(h.samples, 50), 2), p99Ms: round(percentile(h.samples, 99), 2) };
}

async function expensiveReads(url: string, h: Honest) {
  const flood = await Promise.all(Array.from({ length: 20 }, () => connectRaw(url)));
  for (const [i, c] of flood.entries()) {
    c.socket.offAny();
    await c.call("room:join", { roomId: "flood", displayName: `reader${i}` });
  }
  let ok = 0;
  let limited = 0;
  let other = 0;
  const timers = flood.map((c) =>
    setInterval(() => {
      (c.socket as any).emit("logs:fetch", { roomId: "flood", limit: 500 }, (r: Ack<unknown>) => {
        if (r.ok) ok++;
        else if (r.error.code === "RATE_LIMITED") limited++;
        else other++;
      });
    }, 1000 / 45),
  );
  await sleep(500);
  const honest = await measureHonest(h, SECONDS * 1000);
  for (const t of timers) clearInterval(t);
  await sleep(500);
  for (const c of flood) c.close();
  return { honest, reads: { ok, rateLimited: limited, other } };
}

async function nonReading(url: string, server: ServerChild, h: Honest) {
  const hogs = await Promise.all(Array.from({ length: 8 }, () => connectRaw(url)));
  for (const [i, c] of hogs.entries()) {
    c.socket.offAny();
    await c.call("room:join", { roomId: "flood", displayName: `hog${i}` });
  }
  for (const c of hogs) (c.socket.io.engine as any).transport.ws._socket.pause();
  const timers = hogs.map((c) =>
    setInterval(() => {
      if (!c.socket.connected) return;
      (c.socket as any).emit("logs:fetch", { roomId: "flood", limit: 500 }, () => {});
      (c.socket as any).emit("keys:list", { roomId: "flood" }, () => {});
    }, 1000 / 24),
  );
  const measured = await withRss(server.pid, async () => measureHonest(h, SECONDS * 1000));
  for (const t of timers) clearInterval(t);
  // The hogs' sockets are paused: a disconnect the server made shows as the transport closing;
  // count those the server no longer holds (probe: resume reading, see who is still connected).
  for (const c of hogs) (c.socket.io.engine as any).transport?.ws?._socket?.resume();
  await sleep(1000);
  const stillConnected = hogs.filter((c) => c.socket.connected).length;
  for (const c of hogs) c.close();
  return {
    honest: measured.result,
    rssBeforeMb: measured.rssBeforeMb,
    rssMaxMb: measured.rssMaxMb,
    rssGrowthMb: measured.rssGrowthMb,
    hogs: hogs.length,
    disconnectedByServer: hogs.length - stillConnected,
  };
}

async function partialBinary(url: string, server: ServerChild) {
  const conns = await Promise.all(Array.from({ length: 8 }, () => connectRaw(url)));
  const measured = await withRss(server.pid, async () => {
    for (const c of conns) {
      c.socket.offAny();
      // socket.io-client sends the header announcing 10 attachments, then the 10 binaries; the
      // 10th is held back by sending it as a separate, never-completed packet: emulate by sending
      // the header and 9 binaries through the engine directly.
      const engine = (c.socket.io as any).engine;
      const header =
        '510-["bb84:relay",{"roomId":"r","to":"' +
        "0".repeat(32) +
        '","sessionId":"' +
        "ab".repeat(16) +
        '","frame":[' +
        Array.from({ length: 10 }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(",") +
        "]}]";
      engine.write(header);
      for (let i = 0; i < 9; i++) engine.write(Buffer.alloc(1_000_000, i));
    }
    await sleep(3000);
  });
  const stillConnected = conns.filter((c) => c.socket.connected).length;
  for (const c of conns) c.close();
  return {
    connections: conns.length,
    announced: 10,
    sentMb: 9,
    rssBeforeMb: measured.rssBeforeMb,
    rssMaxMb: measured.rssMaxMb,
    rssGrowthMb: measured.rssGrowthMb,
    stillConnected,
  };
}

async function lockOut(url: string) {
  let refusedHandshakes = 0;
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    const body = await res.text();
    if (!res.ok) {
      refusedHandshakes++;
      continue;
    }
    const sid = (JSON.parse(body.slice(body.indexOf("{"))) as { sid: string }).sid;
    const post = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: "POST",
      body: "40\x1e1",
      headers: { "content-type": "text/plain;charset=UTF-8" },
    });
    await post.text();
  }
  await sleep(200);
  let honestRefused = 0;
  for (let i = 0; i < 5; i++) {
    try {
      const c = await connectRaw(url, { authenticate: false });
      c.close();
    } catch {
      honestRefused++;
    }
  }
  return { attempts: 200, refusedHandshakes, honestConnectsRefused: honestRefused, lockedOut: honestRefused > 0 };
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-abuse-"));
  const db = path.join(tmp, "abuse.db");
  let server: ServerChild | null = null;
  try {
    const root = path.resolve(__dirname, "..");
    log("migrating a temporary database");
    const mig = spawnSync(process.execPath, [path.join(root, "scripts", "prisma-setup.mjs"), "deploy"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: `file:${db}` },
      stdio: ["ignore", 2, 2],
    });
    if (mig.status !== 0) throw new Error("prisma-setup.mjs deploy failed");
    // The flood room with 600 log rows, so every logs:fetch of 500 reads 500 rows.
    const prisma = await createPrisma(`file:${db}`);
    await prisma.room.create({ data: { id: "flood", createdBy: "0".repeat(32) } });
    await prisma.roomLog.createMany({
      data: Array.from({ length: 600 }, (_, i) => ({
        roomId: "flood",
        type: "MESSAGE_RELAYED",
        actorId: "0".repeat(32),
        meta: JSON.stringify({ epoch: 1, counter: i, bytes: 200 }),
      })),
    });
    await prisma.$disconnect();

    server = await spawnServer("qsec-server.ts", { env: { BENCH_DATABASE_URL: `file:${db}`, BENCH_RATE_LIMITS: "configured" } });
    log("server", server.url, "pid", server.pid);
    const h = await honestPair(server.url);
    await measureHonest(h, 1000); // warm-up
    const baseline = await measureHonest(h, SECONDS * 1000);
    log("baseline", baseline);
    if (process.env.BENCH_PROFILE) await server.profileStart();
    const reads = await withRss(server.pid, () => expensiveReads(server!.url, h));
    if (process.env.BENCH_PROFILE) {
      const file = path.join(tmp, "reads.cpuprofile");
      await server.profileStop(file);
      log("expensive-read phase profile", JSON.stringify(summarizeProfile(file, 25), null, 1));
    }
    log("expensive reads", reads.result.honest, reads.result.reads, "rss +", reads.rssGrowthMb);
    const nr = await nonReading(server.url, server, h);
    log("non-reading", nr);
    const pb = await partialBinary(server.url, server);
    log("partial binary", pb);
    const lo = await lockOut(server.url);
    log("lock-out", lo);
    const after = await measureHonest(h, 2000);
    h.a.close();
    h.b.close();

    const report = {
      bench: "abuse",
      date: new Date().toISOString(),
      seconds: SECONDS,
      machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => round(x, 2)) },
      honestBaseline: baseline,
      expensiveReads: {
        sockets: 20,
        perSocketPerSecond: 45,
        limit: 500,
        honestDuring: reads.result.honest,
        reads: reads.result.reads,
        rssGrowthMb: reads.rssGrowthMb,
      },
      nonReading: nr,
      partialBinary: pb,
      lockOut: lo,
      honestAfter: after,
      targets: {
        noLockOut: !lo.lockedOut,
        rssGrowthUnder64Mb: Math.max(reads.rssGrowthMb, nr.rssGrowthMb, pb.rssGrowthMb) <= 64,
        honestP99Under50MsDuringReads: reads.result.honest.p99Ms <= 50,
      },
    };
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    if (server) await server.stop().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
