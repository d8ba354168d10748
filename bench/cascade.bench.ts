/**
 * npm run bench:cascade — Cascade's trade-off and its abort bounds, as JSON on stdout (progress on
 * stderr); the full run also writes bench/cascade.bench.result.json.
 *
 *  1. curve: f_EC against round trips for every variant at n = 10^4 and 10^5, QBER 1, 2, 5, 10 %
 *     (error patterns of exactly round(Q·n) errors, the true Q given to Cascade, as bench:qkd and
 *     cascade-cpp do). Per variant: mean f_EC, mean / p99 / max round trips, residual frames; which
 *     variants are on the Pareto front (no other variant has both a lower mean f_EC and fewer mean
 *     round trips); and the default the curve picks: the fewest mean round trips among the variants
 *     that meet the f_EC targets at n = 10^4 (≤ 1.10 at every QBER, ≤ 1.08 at 2 % and 5 %), with
 *     its frame error rate then measured over --fer-runs runs per QBER (target ≤ 10^-3; the
 *     curve's 200 runs per point cannot show that).
 *  2. falseAborts: honest runs as a session makes them: N sifted bits with Bernoulli(Q) errors, the
 *     protocol's test sample (optimalSampleSize) split off, Cascade sized by the sample estimate
 *     (cascadeQber) and bounded by it (bounds.ts), Q = 1 … 11 %, n ≈ 10^4, 10^5, 10^6. Counts
 *     Cascade aborts (each one would be a false abort) and how close honest runs came to each bound.
 *
 * Flags: --quick (fewer runs, no 10^6, no FER; its 40 runs per point are too few for the choice)  --fer-runs=N (default 3000)
 *        --sections=curve,falseAborts (default both; the result file is written only when both run)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BitArray } from "../lib/qkd/bits";
import {
  CASCADE_VARIANT_NAMES,
  CASCADE_VARIANTS,
  cascadeBounds,
  CascadeProtocolError,
  cascadeSchedule,
  CascadeVariant,
  DEFAULT_CASCADE_VARIANT,
  runCascadeLocal,
} from "../lib/qkd/cascade";
import { binaryEntropy, clopperPearson } from "../lib/qkd/entropy";
import { cascadeQber, evaluateSample } from "../lib/qkd/estimate";
import { optimalSampleSize } from "../lib/qkd/finite-key";
import { DEFAULT_PARAMS } from "../lib/qkd/party";
import { randomFloat, seededRandom } from "../lib/qkd/rng";
import { exactErrorPair, seedFrom } from "../__tests__/helpers/cascade-pairs";

const QUICK = process.argv.includes("--quick");
const FER_RUNS = Number(process.argv.find((a) => a.startsWith("--fer-runs="))?.slice(11) ?? (QUICK ? 0 : 3000));
const log = (s: string) => process.stderr.write(`[bench:cascade] ${s}\n`);
const round = (x: number, d = 3) => Number(x.toFixed(d));
const t0 = performance.now();
const SECTIONS = (process.argv.find((a) => a.startsWith("--sections="))?.slice(11) ?? "curve,falseAborts").split(",");

// 1. f_EC against round trips ------------------------------------------------------------------------
const QBERS = [0.01, 0.02, 0.05, 0.1];

interface Point {
  qber: number;
  runs: number;
  fEC: number;
  meanRT: number;
  p99RT: number;
  maxRT: number;
  residualFrames: number;
}

function measure(variant: CascadeVariant, n: number, q: number, runs: number, seed: number): Point {
  const rng = seededRandom(seed);
  let sumF = 0,
    sumRT = 0,
    residual = 0;
  const rts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { a, b } = exactErrorPair(n, q, rng);
    const res = runCascadeLocal(a, b, { variant, qber: q, seed: seedFrom(rng) });
    sumF += res.disclosedBits / (n * binaryEntropy(q));
    sumRT += res.roundTrips;
    rts.push(res.roundTrips);
    if (!res.bits.equals(a)) residual++;
  }
  rts.sort((x, y) => x - y);
  return {
    qber: q,
    runs,
    fEC: round(sumF / runs),
    meanRT: round(sumRT / runs, 1),
    p99RT: rts[Math.min(runs - 1, Math.floor(0.99 * runs))],
    maxRT: rts[runs - 1],
    residualFrames: residual,
  };
}

function curve() {
  const sizes: [number, number][] = QUICK
    ? [
        [10_000, 40],
        [100_000, 3],
      ]
    : [
        [10_000, 200],
        [100_000, 12],
      ];
  const out: Record<string, unknown>[] = [];
  for (const [n, runs] of sizes) {
    const rows = CASCADE_VARIANTS.map((variant) => {
      log(`curve: ${variant} at n = ${n}, ${runs} runs per QBER`);
      const points = QBERS.map((q) => measure(variant, n, q, runs, 1000 + Math.round(q * 1e4) + n));
      log(`  ${points.map((p) => `Q ${p.qber}: f ${p.fEC}, RT ${p.meanRT} (max ${p.maxRT}), residual ${p.residualFrames}`).join("; ")}`);
      const mean = (f: (p: Point) => number) => round(points.reduce((s, p) => s + f(p), 0) / points.length, 3);
      return {
        variant,
        name: CASCADE_VARIANT_NAMES[variant].label,
        meanFEC: mean((p) => p.fEC),
        meanRT: round(
          mean((p) => p.meanRT),
          1,
        ),
        maxRT: Math.max(...points.map((p) => p.maxRT)),
        points,
      };
    });
    const front = rows.filter(
      (r) => !rows.some((o) => o !== r && o.meanFEC <= r.meanFEC && o.meanRT <= r.meanRT && (o.meanFEC < r.meanFEC || o.meanRT < r.meanRT)),
    );
    out.push({
      n,
      runsPerPoint: runs,
      variants: rows.map((r) => ({ ...r, paretoFront: front.includes(r) })),
    });
  }
  // The default from the curve: fewest mean round trips among those meeting the targets at 10^4.
  const small = out[0].variants as { variant: CascadeVariant; meanRT: number; points: Point[] }[];
  const meets = small.filter((r) => r.points.every((p) => p.fEC <= 1.1 && (p.qber < 0.02 || p.qber > 0.05 || p.fEC <= 1.08)));
  meets.sort((x, y) => x.meanRT - y.meanRT);
  const chosen = meets[0]?.variant ?? null;
  return {
    targets: "n = 10^4: f_EC ≤ 1.10 at every QBER, ≤ 1.08 at 2 % and 5 %; then the fewest mean round trips (FER measured next)",
    meetingTargets: meets.map((r) => r.variant),
    chosen,
    defaultVariant: DEFAULT_CASCADE_VARIANT,
    chosenIsDefault: chosen === DEFAULT_CASCADE_VARIANT,
    sizes: out,
  };
}

/** Frame error rate of one variant at n = 10^4: residual frames over `runs` runs per QBER, with the 95 % upper bound. */
function frameErrorRate(variant: CascadeVariant, runs: number) {
  return QBERS.map((q) => {
    log(`FER: ${variant}, Q = ${q}, ${runs} runs`);
    const p = measure(variant, 10_000, q, runs, 777 + Math.round(q * 1e4));
    // One-sided 95 % upper bound: the upper end of the two-sided 90 % Clopper–Pearson interval.
    const k = p.residualFrames;
    const upper = clopperPearson(k, runs, 0.9)[1];
    return { qber: q, runs, residualFrames: k, fer: round(k / runs, 5), fer95Upper: round(upper, 5), meanRT: p.meanRT, maxRT: p.maxRT, fEC: p.fEC };
  });
}

// 2. False aborts of honest runs --------------------------------------------------------------------
function falseAborts() {
  const qbers = [0.01, 0.02, 0.03, 0.05, 0.07, 0.09, 0.11];
  const sizes: [number, number, CascadeVariant[]][] = QUICK
    ? [
        [12_500, 20, [...CASCADE_VARIANTS]],
        [125_000, 2, [DEFAULT_CASCADE_VARIANT]],
      ]
    : [
        [12_500, 100, [...CASCADE_VARIANTS]],
        [125_000, 20, [DEFAULT_CASCADE_VARIANT, "yanetal-rt", "original"]],
        [1_250_000, 2, [DEFAULT_CASCADE_VARIANT]],
      ];
  const p = DEFAULT_PARAMS;
  const rows: Record<string, unknown>[] = [];
  let sessions = 0,
    aborts = 0;
  for (const [N, runs, variants] of sizes) {
    const k = optimalSampleSize(N, { designQber: p.sampleDesignQber, designEfficiency: p.sampleDesignEfficiency, epsSec: p.epsSec, epsCor: p.epsCor });
    const n = N - k;
    for (const variant of variants) {
      log(`false aborts: ${variant}, n = ${n} (sample ${k}), ${runs} runs per QBER`);
      for (const q of qbers) {
        const rng = seededRandom(5000 + Math.round(q * 1e4) + N);
        let cascadeAborts = 0,
          qberAborts = 0,
          ran = 0,
          maxCorr = 0,
          maxRT = 0,
          maxDisc = 0;
        const reasons: string[] = [];
        for (let r = 0; r < runs; r++) {
          // N sifted bits with Bernoulli(q) errors; the sample is a uniformly random k-subset, so the
          // first k bits serve (the errors are i.i.d.).
          const a = BitArray.random(n, rng);
          const b = a.clone();
          let sampleErrors = 0;
          for (let i = 0; i < k; i++) if (randomFloat(rng) < q) sampleErrors++;
          for (let i = 0; i < n; i++) if (randomFloat(rng) < q) b.flip(i);
          const est = evaluateSample(n, k, sampleErrors, p);
          if (est.abort) {
            qberAborts++;
            continue;
          }
          ran++;
          const cfg = { variant, qber: cascadeQber(est), seed: seedFrom(rng), sampleSize: k };
          const bounds = cascadeBounds(cascadeSchedule(variant, cfg.qber, n), n, cfg.qber, k);
          try {
            const res = runCascadeLocal(a, b, cfg);
            maxCorr = Math.max(maxCorr, res.errorsCorrected / bounds.maxCorrections);
            maxRT = Math.max(maxRT, res.roundTrips / bounds.maxRoundTrips);
            maxDisc = Math.max(maxDisc, res.disclosedBits / bounds.maxDisclosed);
          } catch (e) {
            if (!(e instanceof CascadeProtocolError)) throw e;
            cascadeAborts++;
            reasons.push(e.message);
          }
        }
        sessions += ran;
        aborts += cascadeAborts;
        rows.push({
          variant,
          n,
          sampleSize: k,
          qber: q,
          runs,
          cascadeRuns: ran,
          abortedByEstimate: qberAborts,
          falseAborts: cascadeAborts,
          reasons,
          maxShareOfCorrectionCap: round(maxCorr),
          maxShareOfRoundTripCap: round(maxRT),
          maxShareOfDisclosureCap: round(maxDisc),
        });
      }
    }
  }
  return {
    what: "honest Cascade runs sized by the sample estimate; any Cascade abort here is a false abort",
    failureProbability:
      "corrections cap: ≤ 2^-40 per session (the key's error rate exceeds Q̂ + μ with probability ≤ 2^-40, and honest corrections never exceed the key's errors); no-bit-twice: exact (never fires on consistent parities); round-trip and disclosure caps: no stated probability, their margins are the maxShareOf… columns",
    cascadeRuns: sessions,
    falseAborts: aborts,
    rows,
  };
}

function main() {
  const warm = exactErrorPair(10_000, 0.02, seededRandom(1));
  runCascadeLocal(warm.a, warm.b, { variant: DEFAULT_CASCADE_VARIANT, qber: 0.02, seed: new Uint8Array(32) }); // JIT warm-up
  const c = SECTIONS.includes("curve") ? curve() : null;
  const fer = c && FER_RUNS > 0 && c.chosen ? { variant: c.chosen, n: 10_000, points: frameErrorRate(c.chosen, FER_RUNS) } : null;
  const fa = SECTIONS.includes("falseAborts") ? falseAborts() : null;
  const doc = {
    node: process.version,
    date: new Date().toISOString(),
    quick: QUICK,
    curve: c,
    frameErrorRate: fer,
    falseAborts: fa,
    benchSeconds: round((performance.now() - t0) / 1000, 1),
  };
  const json = JSON.stringify(doc, null, 2);
  console.log(json);
  if (!QUICK && c && fa) writeFileSync(join(__dirname, "cascade.bench.result.json"), json + "\n");
}

main();
