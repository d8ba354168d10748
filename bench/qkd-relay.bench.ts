/**
 * npm run bench:qkd-relay: one BB84 session between two clients over the local relay, beside the
 * same session run in-process, in the same run.
 *
 * Prints ONE JSON document on stdout (progress on stderr). For 10^5 and 10^6 qubits at 2% channel
 * noise (Cascade yanetal-tuned): wall time of
 *   (1) in-process: lib/qkd runLocal — Alice and Bob in one thread, messages through an array;
 *   (2) relay: two ChatClients in this process (the same Alice/Bob state machines through
 *       createLocalEngine), every engine message sealed with AES-GCM into ≤128 KiB frames, sent
 *       with bb84:relay through the real QSEC server (a child process: auth, zod, membership and
 *       session checks, the configured rate limits, batched SQLite logging), opened and reassembled
 *       on the other side; from bb84:start to the server's verdict (both reports stored).
 * and their ratio. Target (reported, never asserted): relay ≤ 2× in-process.
 *
 * Method: runs alternate (in-process, relay; order flipped each repetition) and medians are
 * reported, because this machine is shared and noisy. Both parties run in this process in both
 * cases, so the compute is the same; the difference is the transport (encryption, the relay's
 * round trips — one per Cascade round — and the server's work, on the other core).
 *
 * Also measured, to explain the ratio: the relay's round-trip floor — two bare authenticated
 * sockets ping-ponging 100-byte frames through bb84:relay within a session (no encryption, no
 * engine) — times the session's Cascade round trips: the time the relay needs however fast the
 * clients are.
 *
 * Flags: --reps=N (default 5 for 10^5, 3 for 10^6)  --quick (10^5 only, 2 reps)
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ChatClient, MemoryStorage } from "@/lib/client";
import { generateIdentity } from "@/lib/crypto";
import { runLocal } from "@/lib/qkd/run";
import { connectRaw } from "@/__tests__/helpers/raw-client";
import { spawnServer, type ServerChild } from "./lib/child";
import { median, round } from "./lib/stats";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const repsArg = argv.find((a) => a.startsWith("--reps="));
const repsFor = (n: number) => (repsArg ? Number(repsArg.slice(7)) : quick ? 2 : n >= 1e6 ? 3 : 5);
const SIZES = quick ? [100_000] : [100_000, 1_000_000];
const NOISE = 0.02;
const VARIANT = "yanetal-tuned" as const;
const log = (m: string) => process.stderr.write(`[bench:qkd-relay] ${m}\n`);

interface RelayRun {
  ms: number;
  status: string;
  finalLength: number | null;
  roundTrips: number | null;
  framesSent: number;
  bytes: number;
  computeMs: number;
}

async function until(cond: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-qkd-relay-"));
  const db = path.join(tmp, "bench.db");
  let server: ServerChild | null = null;
  const clients: ChatClient[] = [];
  try {
    log(`migrating a temporary database: ${db}`);
    const root = path.resolve(__dirname, "..");
    const mig = spawnSync(process.execPath, [path.join(root, "scripts", "prisma-setup.mjs"), "deploy"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: `file:${db}` },
      stdio: ["ignore", 2, 2],
    });
    if (mig.status !== 0) throw new Error(`prisma-setup.mjs deploy failed (${mig.status})`);
    copyFileSync(db, `${db}.template`);
    server = await spawnServer("qsec-server.ts", { env: { BENCH_DATABASE_URL: `file:${db}`, BENCH_RATE_LIMITS: "configured" } });

    const [alice, bob] = await Promise.all(
      [0, 1].map(async () => {
        const c = new ChatClient({ url: server!.url, identity: await generateIdentity(), storage: new MemoryStorage(), requestTimeoutMs: 30_000 });
        clients.push(c);
        await c.connect();
        return c;
      }),
    );
    await alice.join("bench", "alice");
    await bob.join("bench", "bob");
    await until(() => alice.state.rooms.bench?.members.length === 2 && bob.state.rooms.bench?.members.length === 2, 5000, "both members");
    await alice.setChannel("bench", { noise: NOISE, loss: 0, eve: 0 });
    await until(() => bob.state.rooms.bench?.channel.noise === NOISE, 5000, "channel settings");

    const inProcess = (n: number) => {
      const t0 = performance.now();
      const r = runLocal({ qubits: n, noise: NOISE, cascade: VARIANT, eveFinalKeyGuess: false });
      const ms = performance.now() - t0;
      if (!r.ok) throw new Error(`in-process run aborted: ${r.abort?.message}`);
      return { ms, finalLength: r.finalKeyLength, roundTrips: r.cascade?.roundTrips ?? null };
    };
    const overRelay = async (n: number): Promise<RelayRun> => {
      const t0 = performance.now();
      const v = await alice.startBb84("bench", bob.userId, { qubits: n, cascadeVariant: VARIANT });
      const ms = performance.now() - t0;
      if (v.status !== "success") throw new Error(`relay run aborted: ${v.snapshot.abort?.message}`);
      // Bob's end of the session (his final view may land a moment after Alice's verdict).
      const bobLive = () => bob.state.rooms.bench!.bb84.live.find((l) => l.sessionId === v.sessionId);
      await until(() => bobLive()?.status === "success" && bobLive()!.snapshot.roundTrips !== null, 10_000, "Bob's end of the session");
      const bobView = bobLive()!;
      const compute = Object.values(v.snapshot.timings).reduce((a, b) => a + b, 0) + Object.values(bobView.snapshot.timings).reduce((a, b) => a + b, 0);
      return {
        ms,
        status: v.status,
        finalLength: v.snapshot.finalLength,
        roundTrips: bobView.snapshot.roundTrips,
        framesSent: v.transport.framesSent + bobView.transport.framesSent,
        bytes: v.transport.bytesSent + bobView.transport.bytesSent,
        computeMs: compute,
      };
    };

    // The relay's round-trip floor: bare sockets, one 100-byte frame each way, 300 times.
    const measureFloor = async () => {
      const p = await connectRaw(server!.url),
        q = await connectRaw(server!.url);
      try {
        await p.call("room:join", { roomId: "floor", displayName: "p" });
        await q.call("room:join", { roomId: "floor", displayName: "q" });
        const st = (await p.call("bb84:start", { roomId: "floor", peerId: q.userId, qubits: 4096, cascadeVariant: VARIANT })) as {
          ok: true;
          data: { id: string };
        };
        const frame = Buffer.alloc(100, 7);
        q.socket.on("bb84:frame", () => q.socket.emit("bb84:relay", { roomId: "floor", to: p.userId, sessionId: st.data.id, frame }, () => {}));
        const times: number[] = [];
        for (let i = 0; i < 300; i++) {
          const got = new Promise((r) => p.socket.once("bb84:frame", r));
          const t0 = performance.now();
          p.socket.emit("bb84:relay", { roomId: "floor", to: q.userId, sessionId: st.data.id, frame }, () => {});
          await got;
          times.push(performance.now() - t0);
          if (i % 50 === 49) await new Promise((r) => setTimeout(r, 250)); // stay inside the frame budget
        }
        return median(times.slice(20));
      } finally {
        p.close();
        q.close();
      }
    };

    // Warm-up (JIT, WebCrypto, sockets): not recorded.
    log("warm-up");
    inProcess(100_000);
    await overRelay(100_000);

    log("relay round-trip floor");
    const floorRtt = await measureFloor();
    const results: Record<string, unknown> = {};
    for (const n of SIZES) {
      const reps = repsFor(n);
      const local: ReturnType<typeof inProcess>[] = [];
      const relay: RelayRun[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? ["local", "relay"] : ["relay", "local"];
        for (const kind of order) {
          log(`n=${n} rep ${rep + 1}/${reps}: ${kind}`);
          if (kind === "local") local.push(inProcess(n));
          else relay.push(await overRelay(n));
        }
      }
      const lm = median(local.map((r) => r.ms)),
        rm = median(relay.map((r) => r.ms));
      const rts = median(relay.map((r) => r.roundTrips ?? 0));
      results[String(n)] = {
        qubits: n,
        inProcessMs: { median: round(lm, 1), runs: local.map((r) => round(r.ms, 1)) },
        relayMs: { median: round(rm, 1), runs: relay.map((r) => round(r.ms, 1)) },
        ratio: round(rm / lm, 2),
        targetRatio: 2,
        met: rm / lm <= 2,
        relayFloor: {
          roundTripMs: round(floorRtt, 3),
          cascadeRoundTrips: rts,
          msForRoundTrips: round(floorRtt * rts, 1),
          note: "the relay's bare round-trip time × the session's Cascade round trips: time no client-side work can remove",
        },
        relay: {
          computeMsMedian: round(median(relay.map((r) => r.computeMs)), 1),
          framesMedian: median(relay.map((r) => r.framesSent)),
          bytesMedian: median(relay.map((r) => r.bytes)),
          roundTripsMedian: rts,
          finalLengthMedian: median(relay.map((r) => r.finalLength ?? 0)),
        },
        inProcess: {
          roundTripsMedian: median(local.map((r) => r.roundTrips ?? 0)),
          finalLengthMedian: median(local.map((r) => r.finalLength)),
        },
      };
    }
    process.stdout.write(
      JSON.stringify(
        {
          bench: "qkd-relay",
          date: new Date().toISOString(),
          machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => round(x, 2)) },
          setup: { noise: NOISE, cascadeVariant: VARIANT, chunkBytes: 131072, server: "child process, configured rate limits" },
          results,
        },
        null,
        2,
      ) + "\n",
    );
  } finally {
    for (const c of clients) c.close();
    if (server) await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
