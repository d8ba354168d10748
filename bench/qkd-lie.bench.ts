/**
 * npm run bench:qkd-lie — how long a session with a lying peer lasts, next to an honest one, in
 * process (lib/qkd runLocal). The peer is an authenticated Alice whose Cascade response number R
 * carries one flipped parity (well formed, validly encoded): Bob must abort with the reason
 * (lib/qkd/cascade/bounds.ts) instead of "correcting" more errors than the key has bits.
 *
 * Prints one JSON document on stdout (progress on stderr): per size (10^5, 10^6, 4·10^6 qubits,
 * 2% noise, default variant) the honest session's time and Cascade round trips, and for each lie
 * the lying session's time, outcome, abort reason, round trips and ratio to the honest time. The
 * lies: one wrong parity in response 1, 10 or 60; one wrong parity in the honest run's last
 * response ("last"); every parity of every response flipped ("all"). Seeds are fixed, so outcomes
 * repeat; times are medians of the repetitions (shared machine). `maxRatioToHonest` is the worst
 * lying session against the honest one (the issue's bound: 2).
 *
 * Flags: --quick (10^5 and 10^6 only, 1 repetition)  --reps=N (default 2)
 */
import { decodeMessage, encodeMessage, MsgType } from "../lib/qkd/messages";
import { runLocal } from "../lib/qkd/run";
import { flipAllParities, flipOneParity } from "@/__tests__/helpers/cascade-lie";

const QUICK = process.argv.includes("--quick");
const REPS = Number(process.argv.find((a) => a.startsWith("--reps="))?.slice(7) ?? (QUICK ? 1 : 2));
const SIZES = QUICK ? [100_000, 1_000_000] : [100_000, 1_000_000, 4_000_000];
const LIES: (number | "last" | "all")[] = [1, 10, 60, "last", "all"];
const log = (s: string) => process.stderr.write(`[bench:qkd-lie] ${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 1) => Number(x.toFixed(d));

function session(qubits: number, seed: number, lieAt: number | "all" | null) {
  let responses = 0,
    requests = 0,
    aliceResponses = 0;
  const t0 = performance.now();
  const r = runLocal({
    qubits,
    noise: 0.02,
    seed,
    onMessage: (from, bytes) => {
      const type = decodeMessage(bytes).payload.type;
      if (from === "bob" && type === MsgType.CascadeRequest) requests++;
      if (from === "alice" && type === MsgType.CascadeResponse) aliceResponses++;
    },
    tamper: (from, bytes) => {
      if (lieAt === null || from !== "alice") return bytes;
      const m = decodeMessage(bytes);
      if (m.payload.type !== MsgType.CascadeResponse) return bytes;
      ++responses;
      if (lieAt !== "all" && responses !== lieAt) return bytes;
      const body = lieAt === "all" ? flipAllParities(m.payload.body) : flipOneParity(m.payload.body);
      return encodeMessage({ ...m, payload: { type: MsgType.CascadeResponse, body } });
    },
  });
  return {
    ms: performance.now() - t0,
    ok: r.ok,
    abort: r.abort ? `${r.abort.code} (${r.abort.party}): ${r.abort.message}` : null,
    requests,
    responses: aliceResponses,
  };
}

function main() {
  session(100_000, 1, null); // JIT warm-up
  const out: Record<string, unknown>[] = [];
  for (const qubits of SIZES) {
    const seed = 20261130;
    log(`${qubits} qubits: honest`);
    const honestRuns = Array.from({ length: REPS }, () => session(qubits, seed, null));
    const honestMs = median(honestRuns.map((r) => r.ms));
    const lies = LIES.map((lie) => {
      const lieAt = lie === "last" ? honestRuns[0].responses : lie;
      log(`${qubits} qubits: lie ${lie === "all" ? "in every response (all parities)" : `in response ${lieAt}`}`);
      const runs = Array.from({ length: REPS }, () => session(qubits, seed, lieAt));
      const ms = median(runs.map((r) => r.ms));
      return { lie, lieAt, ms: round(ms), ratioToHonest: round(ms / honestMs, 2), ok: runs[0].ok, cascadeRoundTrips: runs[0].requests, abort: runs[0].abort };
    });
    const maxRatioToHonest = Math.max(...lies.map((l) => l.ratioToHonest));
    out.push({ qubits, honest: { ms: round(honestMs), ok: honestRuns[0].ok, cascadeRoundTrips: honestRuns[0].requests }, lies, maxRatioToHonest });
  }
  console.log(JSON.stringify({ node: process.version, date: new Date().toISOString(), quick: QUICK, reps: REPS, noise: 0.02, sizes: out }, null, 2));
}

main();
