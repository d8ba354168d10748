/**
 * npm run bench:qkd — prints JSON (and writes bench/qkd.bench.result.json):
 *  - simulated qubits/s (Alice's preparation, Bob's bases, channel model), against the rate at
 *    which crypto.getRandomValues alone delivers the 4 random bits a qubit needs, measured now;
 *  - Cascade f_EC, round trips and frame error rate per variant at n = 10^4 (≥ 200 runs) and
 *    n = 10^5, QBER 1, 2, 5, 10%, on error patterns of exactly round(Q·n) errors;
 *  - Toeplitz 10^5 → 5·10^4 and 10^6 → 5·10^5, against the naive O(n·ℓ) method on a small size;
 *  - the whole pipeline for 10^6 qubits at 2% QBER.
 * Timings are the median of several repetitions (and the best, since the machine is shared).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BitArray } from "../lib/qkd/bits";
import { CASCADE_VARIANTS, DEFAULT_CASCADE_VARIANT, runCascadeLocal } from "../lib/qkd/cascade";
import { QuantumChannel } from "../lib/qkd/channel";
import { binaryEntropy } from "../lib/qkd/entropy";
import { cryptoRandom, RandomStream, seededRandom } from "../lib/qkd/rng";
import { runLocal } from "../lib/qkd/run";
import { randomSubsetMask } from "../lib/qkd/sift";
import { toeplitzNaive, toeplitzNtt } from "../lib/qkd/toeplitz";

const QUICK = process.argv.includes("--quick");
const now = () => performance.now();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 3) => Number(x.toFixed(d));
function timeIt(reps: number, fn: () => void): { medianMs: number; bestMs: number } {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = now();
    fn();
    ts.push(now() - t);
  }
  return { medianMs: round(median(ts), 2), bestMs: round(Math.min(...ts), 2) };
}
const log = (s: string) => process.stderr.write(`[bench:qkd] ${s}\n`);

// 1. Simulation throughput -------------------------------------------------------------------------
function simulation() {
  log("simulation throughput");
  const n = 1 << 22;
  const nw = n >>> 5;
  const rs = new RandomStream(cryptoRandom);
  const once = (eve: number) => {
    const ch = new QuantumChannel({ noise: 0.02, eve, loss: 0, darkCount: 0 }, cryptoRandom);
    const chunk = 1 << 18;
    for (let off = 0; off < n; off += chunk) {
      const w = chunk >>> 5;
      const a = rs.words(new Uint32Array(w)),
        alpha = rs.words(new Uint32Array(w)),
        beta = rs.words(new Uint32Array(w));
      ch.transmit(off, chunk, a, alpha, beta);
    }
  };
  once(0); // warm-up
  const plain = timeIt(5, () => once(0));
  const withEve = timeIt(5, () => once(0.1));
  const buf = new Uint8Array(nw * 4 * 4); // 4 bits per qubit
  const fill = timeIt(5, () => cryptoRandom.fill(buf));
  const fillBytesPerSec = buf.length / (fill.bestMs / 1000);
  const qps = n / (plain.bestMs / 1000);
  return {
    qubits: n,
    simulatedQubitsPerSec: Math.round(qps),
    simulatedQubitsPerSecMedian: Math.round(n / (plain.medianMs / 1000)),
    simulatedQubitsPerSecWithEve10pct: Math.round(n / (withEve.bestMs / 1000)),
    baseline: {
      what: "crypto.getRandomValues filling the 4 random bits per qubit (Alice bit + basis, Bob basis, Bob's coin), same run",
      fillBytesPerSec: Math.round(fillBytesPerSec),
      randomOnlyQubitsPerSec: Math.round((fillBytesPerSec * 8) / 4),
    },
    ratioToRandomOnly: round(qps / ((fillBytesPerSec * 8) / 4)),
  };
}

// 2. Cascade ------------------------------------------------------------------------------------------
function cascade() {
  const qbers = [0.01, 0.02, 0.05, 0.1];
  const sizes: [number, number][] = QUICK
    ? [
        [10_000, 40],
        [100_000, 3],
      ]
    : [
        [10_000, 200],
        [100_000, 12],
      ];
  const rng = seededRandom(20240601);
  const rs = new RandomStream(rng);
  const out: Record<string, unknown>[] = [];
  for (const [n, runs] of sizes) {
    for (const variant of CASCADE_VARIANTS) {
      log(`cascade ${variant} n=${n} × ${runs}`);
      for (const q of qbers) {
        let fSum = 0,
          rtSum = 0,
          rtMax = 0,
          frames = 0,
          ms = 0;
        for (let r = 0; r < runs; r++) {
          const alice = BitArray.random(n, rng);
          const errors = randomSubsetMask(n, Math.round(q * n), rs);
          const bob = alice.xor(errors);
          const seed = rs.bytesOf(32);
          const t = now();
          const res = runCascadeLocal(alice, bob, { variant, qber: q, seed });
          ms += now() - t;
          fSum += res.disclosedBits / (n * binaryEntropy(q));
          rtSum += res.roundTrips;
          rtMax = Math.max(rtMax, res.roundTrips);
          if (!res.bits.equals(alice)) frames++;
        }
        out.push({
          n,
          variant,
          qber: q,
          runs,
          fEC: round(fSum / runs, 4),
          roundTrips: round(rtSum / runs, 1),
          roundTripsMax: rtMax,
          frameErrorRate: frames / runs,
          msPerRun: round(ms / runs, 2),
        });
      }
    }
  }
  return out;
}

// 2b. Frame error rate of the default variant ------------------------------------------------------
// 200 runs can only bound the FER below ~1.5%; showing ≤ 10^-3 takes ≥ 3,000 runs per point with no
// residual error (95% one-sided bound 1 − 0.05^(1/runs) ≈ 3/runs).
function frameErrorRate() {
  const n = 10_000;
  const runs = QUICK ? 300 : 3000;
  const rng = seededRandom(99);
  const rs = new RandomStream(rng);
  const out: Record<string, unknown>[] = [];
  for (const q of [0.01, 0.02, 0.05, 0.1]) {
    log(`FER ${DEFAULT_CASCADE_VARIANT} n=${n} q=${q} × ${runs}`);
    let frames = 0,
      rtSum = 0,
      rtMax = 0,
      over120 = 0;
    for (let r = 0; r < runs; r++) {
      const alice = BitArray.random(n, rng);
      const bob = alice.xor(randomSubsetMask(n, Math.round(q * n), rs));
      const res = runCascadeLocal(alice, bob, { variant: DEFAULT_CASCADE_VARIANT, qber: q, seed: rs.bytesOf(32) });
      if (!res.bits.equals(alice)) frames++;
      rtSum += res.roundTrips;
      rtMax = Math.max(rtMax, res.roundTrips);
      if (res.roundTrips > 120) over120++;
    }
    const upper95 = frames === 0 ? 1 - Math.pow(0.05, 1 / runs) : null;
    out.push({
      n,
      variant: DEFAULT_CASCADE_VARIANT,
      qber: q,
      runs,
      frameErrors: frames,
      frameErrorRate: frames / runs,
      frameErrorRateUpper95: upper95 === null ? null : round(upper95, 6),
      roundTripsMean: round(rtSum / runs, 1),
      roundTripsMax: rtMax,
      runsOver120RoundTrips: over120,
    });
  }
  return out;
}

// 3. Toeplitz ----------------------------------------------------------------------------------------
function toeplitz() {
  log("toeplitz");
  const rng = seededRandom(7);
  const res: Record<string, unknown> = {};
  for (const [n, ell, reps] of [
    [100_000, 50_000, 9],
    [1_000_000, 500_000, 7],
  ] as const) {
    const x = BitArray.random(n, rng),
      s = BitArray.random(n + ell - 1, rng);
    const first = timeIt(1, () => toeplitzNtt(x, s, ell)).bestMs; // includes twiddle tables and JIT
    res[`${n}->${ell}`] = { firstCallMs: first, ...timeIt(reps, () => toeplitzNtt(x, s, ell)) };
  }
  // Baseline: the naive bit-by-bit product on a small size, extrapolated by its O(n·ℓ) cost.
  const n0 = 4096,
    l0 = 2048;
  const x0 = BitArray.random(n0, rng),
    s0 = BitArray.random(n0 + l0 - 1, rng);
  const naive = timeIt(3, () => toeplitzNaive(x0, s0, l0));
  const ntt0 = timeIt(9, () => toeplitzNtt(x0, s0, l0));
  const nsPerOp = (naive.bestMs * 1e6) / (n0 * l0);
  const big = res["1000000->500000"] as { bestMs: number };
  res.naiveBaseline = {
    size: `${n0}->${l0}`,
    naiveMs: naive.bestMs,
    nttMs: ntt0.bestMs,
    speedupAtThisSize: round(naive.bestMs / ntt0.bestMs, 1),
    naiveExtrapolated1e6To5e5Sec: round((nsPerOp * 1e6 * 5e5) / 1e9, 0),
    speedupAt1e6: Math.round((nsPerOp * 1e6 * 5e5) / 1e6 / big.bestMs),
  };
  return res;
}

// 4. Whole pipeline ---------------------------------------------------------------------------------
function pipeline() {
  log("pipeline 10^6 qubits at 2%");
  const runs: Record<string, unknown>[] = [];
  for (let i = 0; i < (QUICK ? 2 : 4); i++) {
    const r = runLocal({ qubits: 1_000_000, noise: 0.02 });
    runs.push({
      ok: r.ok,
      totalMs: round(r.timings.total, 1),
      stagesMs: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, round(v, 1)])),
      ell: r.finalKeyLength,
      sifted: r.sifted,
      qber: round(r.qber?.estimate ?? NaN, 5),
      fEC: r.cascade?.fEC !== null && r.cascade?.fEC !== undefined ? round(r.cascade.fEC, 4) : null,
      roundTrips: r.cascade?.roundTrips ?? null,
      bytes: r.traffic.bytesAliceToBob + r.traffic.bytesBobToAlice,
    });
  }
  const totals = runs.slice(1).map((r) => r.totalMs as number); // the first run pays for JIT warm-up
  return { cascadeVariant: DEFAULT_CASCADE_VARIANT, firstRunMs: runs[0].totalMs, medianMs: median(totals), bestMs: Math.min(...totals), runs };
}

function main() {
  const t0 = now();
  const result: Record<string, unknown> = {
    node: process.version,
    date: new Date().toISOString(),
    quick: QUICK,
    simulation: simulation(),
    toeplitz: toeplitz(),
    pipeline: pipeline(),
    cascade: cascade(),
    frameErrorRate: frameErrorRate(),
  };
  result.benchSeconds = round((now() - t0) / 1000, 1);
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  if (!QUICK) writeFileSync(join(__dirname, "qkd.bench.result.json"), json + "\n");
}

main();
