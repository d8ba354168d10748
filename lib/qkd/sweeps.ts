/**
 * The lab's sweeps: the engine run over a grid of one parameter, side by side with the theory it
 * should follow. Each sweep is planned as a list of independent points (`runPoint(i)`), so a Web
 * Worker can report progress after each and be stopped between any two, and Node can time the
 * same work (bench/lab.bench.ts).
 *
 *  eve         QBER against Eve's intercept-resend fraction f: the test-sample estimate with its
 *              Clopper–Pearson 95% interval, against e + f/4 − e·f/2 (channel.ts).
 *  keyFraction secret key fraction against QBER: Shor–Preskill 1 − 2h(Q), the engine's finite-key
 *              length (finite-key.ts, with the engine's own test-sample size) at several block
 *              sizes, and measured ℓ / sifted bits of full engine runs.
 *  cascade     every Cascade variant's efficiency f_EC = disclosed / (n·h(Q)) and round trips.
 *  blockSize   ℓ / sifted bits against the session size, measured and from the bound.
 *
 * Every point's randomness is seeded (deriveSeed(seed, point)), so a shared URL reproduces a run.
 */
import { BitArray } from "./bits";
import { bernoulliWords, expectedQber } from "./channel";
import { CASCADE_VARIANTS, CascadeVariant, runCascadeLocal } from "./cascade";
import { asymptoticKeyFraction, binaryEntropy } from "./entropy";
import { DEFAULT_EPS_COR, DEFAULT_EPS_SEC, DEFAULT_SAMPLE_DESIGN, finiteKeyLength, optimalSampleSize, verificationHashBits } from "./finite-key";
import { deriveSeed, RandomStream, seededRandom } from "./rng";
import { runLocal } from "./run";

export const SWEEP_KINDS = ["eve", "keyFraction", "cascade", "blockSize"] as const;
export type SweepKind = (typeof SWEEP_KINDS)[number];

export interface EveSweepSpec {
  kind: "eve";
  /** Qubits per run. */
  qubits: number;
  /** Channel error rate e. */
  noise: number;
  /** Largest eavesdropper fraction (the grid is 0 … fMax in `points` steps). */
  fMax: number;
  points: number;
  seed: number;
}
export interface KeyFractionSweepSpec {
  kind: "keyFraction";
  /** Qubits per measured run. */
  qubits: number;
  qMax: number;
  points: number;
  /** Sifted-block sizes N of the finite-key curves. */
  blocks: number[];
  seed: number;
}
export interface CascadeSweepSpec {
  kind: "cascade";
  /** Key bits reconciled per run. */
  keyBits: number;
  qMin: number;
  qMax: number;
  points: number;
  variants: CascadeVariant[];
  seed: number;
}
export interface BlockSizeSweepSpec {
  kind: "blockSize";
  noise: number;
  /** Qubits per session (one measured run each). */
  sizes: number[];
  seed: number;
}
export type SweepSpec = EveSweepSpec | KeyFractionSweepSpec | CascadeSweepSpec | BlockSizeSweepSpec;

export const DEFAULT_SWEEPS: { [K in SweepKind]: Extract<SweepSpec, { kind: K }> } = {
  eve: { kind: "eve", qubits: 100_000, noise: 0.02, fMax: 1, points: 11, seed: 1 },
  keyFraction: { kind: "keyFraction", qubits: 200_000, qMax: 0.1, points: 11, blocks: [1e4, 1e5, 1e6, 1e7], seed: 1 },
  cascade: { kind: "cascade", keyBits: 10_000, qMin: 0.01, qMax: 0.1, points: 10, variants: [...CASCADE_VARIANTS], seed: 1 },
  blockSize: { kind: "blockSize", noise: 0.02, sizes: [2e4, 5e4, 1e5, 2e5, 5e5, 1e6], seed: 1 },
};

/** Bounds the lab accepts (keeps a shared URL from asking a browser for hours of work). */
export const SWEEP_LIMITS = { maxQubits: 2_000_000, maxPoints: 41, maxKeyBits: 1_000_000, maxBlocks: 8 };

export interface EvePoint {
  f: number;
  /** Theory e + f/4 − e·f/2. */
  theory: number;
  /** Test-sample QBER, its 95% interval, and the sample size. */
  qber: number;
  lo: number;
  hi: number;
  sampleSize: number;
  /** The theory value lies outside the 95% interval (expected for ~1 point in 20). */
  outside: boolean;
  /** The engine's verdict: null (key made) or an abort code. */
  abort: string | null;
}
export interface KeyFractionPoint {
  q: number;
  asymptotic: number;
  /** ℓ/N from the finite-key bound at each block size N (key "N" of `finite`), 0 when none. */
  finite: Record<string, number>;
  /** Measured run at channel error q: sample QBER with interval, and ℓ / sifted. */
  qber: number;
  lo: number;
  hi: number;
  outside: boolean;
  measured: number;
  abort: string | null;
}
export interface CascadePoint {
  variant: CascadeVariant;
  q: number;
  /** Actual error rate of the run's key. */
  actualQ: number;
  fEC: number;
  roundTrips: number;
  disclosedBits: number;
  residualErrors: number;
}
export interface BlockSizePoint {
  qubits: number;
  sifted: number;
  measured: number;
  /** ℓ/N from the bound at this run's sifted size N and the channel's error rate. */
  bound: number;
  asymptotic: number;
  qber: number;
  lo: number;
  hi: number;
  outside: boolean;
  abort: string | null;
}
export type SweepPoint = EvePoint | KeyFractionPoint | CascadePoint | BlockSizePoint;

export interface SweepPlan<P extends SweepPoint = SweepPoint> {
  spec: SweepSpec;
  total: number;
  /** Qubits (or key bits) processed by point i, for a progress bar weighted by work. */
  weight(i: number): number;
  runPoint(i: number): P;
}

const grid = (lo: number, hi: number, points: number) => Array.from({ length: points }, (_, i) => (points === 1 ? lo : lo + ((hi - lo) * i) / (points - 1)));
const round = (x: number, digits = 6) => Number(x.toFixed(digits));

function checkInt(name: string, v: number, lo: number, hi: number) {
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw new RangeError(`sweep: ${name} must be an integer in [${lo}, ${hi}]`);
}
function checkNum(name: string, v: number, lo: number, hi: number) {
  if (!(typeof v === "number" && v >= lo && v <= hi)) throw new RangeError(`sweep: ${name} must be in [${lo}, ${hi}]`);
}

export function validateSweep(s: SweepSpec): void {
  checkInt("seed", s.seed, 0, 0xffffffff);
  switch (s.kind) {
    case "eve":
      checkInt("qubits", s.qubits, 1000, SWEEP_LIMITS.maxQubits);
      checkNum("noise", s.noise, 0, 0.5);
      checkNum("fMax", s.fMax, 0, 1);
      checkInt("points", s.points, 1, SWEEP_LIMITS.maxPoints);
      return;
    case "keyFraction":
      checkInt("qubits", s.qubits, 1000, SWEEP_LIMITS.maxQubits);
      checkNum("qMax", s.qMax, 0, 0.2);
      checkInt("points", s.points, 1, SWEEP_LIMITS.maxPoints);
      if (!(s.blocks.length >= 1 && s.blocks.length <= SWEEP_LIMITS.maxBlocks)) throw new RangeError(`sweep: 1 to ${SWEEP_LIMITS.maxBlocks} block sizes`);
      for (const b of s.blocks) checkInt("block size", b, 100, 1e12);
      return;
    case "cascade":
      checkInt("keyBits", s.keyBits, 100, SWEEP_LIMITS.maxKeyBits);
      checkNum("qMin", s.qMin, 0.001, 0.25);
      checkNum("qMax", s.qMax, s.qMin, 0.25);
      checkInt("points", s.points, 1, SWEEP_LIMITS.maxPoints);
      if (!(s.variants.length >= 1 && s.variants.every((v) => (CASCADE_VARIANTS as readonly string[]).includes(v))))
        throw new RangeError(`sweep: Cascade variants must be among ${CASCADE_VARIANTS.join(", ")}`);
      return;
    case "blockSize":
      checkNum("noise", s.noise, 0, 0.5);
      if (!(s.sizes.length >= 1 && s.sizes.length <= SWEEP_LIMITS.maxBlocks)) throw new RangeError(`sweep: 1 to ${SWEEP_LIMITS.maxBlocks} session sizes`);
      for (const q of s.sizes) checkInt("session size", q, 1000, SWEEP_LIMITS.maxQubits);
      return;
    default:
      throw new RangeError(`sweep: unknown kind ${(s as { kind?: unknown }).kind}`);
  }
}

/**
 * The engine's finite-key fraction ℓ/N for N sifted bits at error rate q: the test sample the
 * engine would choose (optimalSampleSize at its design point), n = N − k key bits, error
 * correction leaking f·n·h(q) (f = the design efficiency 1.1) plus the verification hash.
 */
export function finiteKeyFraction(
  N: number,
  q: number,
  epsSec = DEFAULT_EPS_SEC,
  epsCor = DEFAULT_EPS_COR,
  f = DEFAULT_SAMPLE_DESIGN.designEfficiency,
): number {
  const k = optimalSampleSize(N, { epsSec, epsCor, ...DEFAULT_SAMPLE_DESIGN });
  const n = N - k;
  const leak = f * n * binaryEntropy(Math.min(0.5, q)) + verificationHashBits(epsCor);
  const { ell } = finiteKeyLength({ n, k, qber: q, leakEC: leak, epsSec, epsCor });
  return Math.max(0, ell) / N;
}

/** One engine run as the sweeps read it. */
function engineRun(qubits: number, noise: number, eve: number, seed: number) {
  const r = runLocal({ qubits, noise, eve, seed, eveFinalKeyGuess: false });
  const q = r.qber;
  return {
    qber: q ? q.estimate : NaN,
    lo: q ? q.interval95[0] : NaN,
    hi: q ? q.interval95[1] : NaN,
    sampleSize: r.testSampleSize,
    sifted: r.sifted,
    keyFraction: r.finiteKey.keyFraction,
    abort: r.abort?.code ?? null,
  };
}

const outsideOf = (theory: number, lo: number, hi: number) => Number.isFinite(lo) && (theory < lo || theory > hi);

export function planSweep(spec: SweepSpec): SweepPlan {
  validateSweep(spec);
  switch (spec.kind) {
    case "eve": {
      const fs = grid(0, spec.fMax, spec.points);
      return {
        spec,
        total: fs.length,
        weight: () => spec.qubits,
        runPoint(i): EvePoint {
          const f = round(fs[i]);
          const theory = expectedQber({ noise: spec.noise, eve: f, loss: 0, darkCount: 0 });
          const m = engineRun(spec.qubits, spec.noise, f, deriveSeed(spec.seed, i));
          return { f, theory, qber: m.qber, lo: m.lo, hi: m.hi, sampleSize: m.sampleSize, outside: outsideOf(theory, m.lo, m.hi), abort: m.abort };
        },
      };
    }
    case "keyFraction": {
      const qs = grid(0, spec.qMax, spec.points);
      return {
        spec,
        total: qs.length,
        weight: () => spec.qubits,
        runPoint(i): KeyFractionPoint {
          const q = round(qs[i]);
          const finite: Record<string, number> = {};
          for (const N of spec.blocks) finite[String(N)] = finiteKeyFraction(N, q);
          const m = engineRun(spec.qubits, q, 0, deriveSeed(spec.seed, i));
          return {
            q,
            asymptotic: asymptoticKeyFraction(q),
            finite,
            qber: m.qber,
            lo: m.lo,
            hi: m.hi,
            outside: outsideOf(q, m.lo, m.hi),
            measured: m.keyFraction,
            abort: m.abort,
          };
        },
      };
    }
    case "cascade": {
      const qs = grid(spec.qMin, spec.qMax, spec.points);
      const cells = spec.variants.flatMap((variant) => qs.map((q) => ({ variant, q: round(q) })));
      return {
        spec,
        total: cells.length,
        weight: () => spec.keyBits,
        runPoint(i): CascadePoint {
          const { variant, q } = cells[i];
          // The same key and errors for every variant at a given q: variants differ only by their schedule.
          const qi = qs.findIndex((x) => round(x) === q);
          const r = new RandomStream(seededRandom(deriveSeed(spec.seed, qi)));
          const n = spec.keyBits;
          const alice = new BitArray(n, r.words(new Uint32Array((n + 31) >>> 5)));
          const errors = new BitArray(n, bernoulliWords(r, q, n));
          const bob = alice.xor(errors);
          const actual = errors.popcount();
          const res = runCascadeLocal(alice, bob, { variant, qber: actual / n, seed: r.bytesOf(32) });
          const actualQ = actual / n;
          return {
            variant,
            q,
            actualQ,
            fEC: actualQ > 0 ? res.disclosedBits / (n * binaryEntropy(actualQ)) : NaN,
            roundTrips: res.roundTrips,
            disclosedBits: res.disclosedBits,
            residualErrors: res.bits.hamming(alice),
          };
        },
      };
    }
    case "blockSize": {
      const sizes = [...spec.sizes].sort((a, b) => a - b);
      return {
        spec,
        total: sizes.length,
        weight: (i) => sizes[i],
        runPoint(i): BlockSizePoint {
          const qubits = sizes[i];
          const m = engineRun(qubits, spec.noise, 0, deriveSeed(spec.seed, i));
          const theory = spec.noise;
          return {
            qubits,
            sifted: m.sifted,
            measured: m.keyFraction,
            bound: m.sifted > 0 ? finiteKeyFraction(m.sifted, spec.noise) : 0,
            asymptotic: asymptoticKeyFraction(spec.noise),
            qber: m.qber,
            lo: m.lo,
            hi: m.hi,
            outside: outsideOf(theory, m.lo, m.hi),
            abort: m.abort,
          };
        },
      };
    }
  }
}

/** Run a whole sweep in-thread (Node: tests and the benchmark). */
export function runSweep(spec: SweepSpec, onPoint?: (p: SweepPoint, done: number, total: number) => void): SweepPoint[] {
  const plan = planSweep(spec);
  const out: SweepPoint[] = [];
  for (let i = 0; i < plan.total; i++) {
    out.push(plan.runPoint(i));
    onPoint?.(out[i], i + 1, plan.total);
  }
  return out;
}

export interface SweepTable {
  columns: string[];
  rows: (number | string | boolean | null)[][];
}

const blockKey = (N: number) => `finite_N${N}`;

/**
 * The sweep's points as one flat table, one row per point and in run order: what the CSV export
 * writes and what the charts plot (cascade points in long form: one row per variant and QBER).
 */
export function sweepTable(spec: SweepSpec, points: readonly SweepPoint[]): SweepTable {
  const num = (x: number) => (Number.isFinite(x) ? x : null);
  switch (spec.kind) {
    case "eve":
      return {
        columns: ["eve_fraction", "qber_theory", "qber_measured", "ci95_low", "ci95_high", "sample_size", "outside_ci", "abort"],
        rows: (points as EvePoint[]).map((p) => [p.f, p.theory, num(p.qber), num(p.lo), num(p.hi), p.sampleSize, p.outside, p.abort ?? ""]),
      };
    case "keyFraction":
      return {
        columns: [
          "qber",
          "asymptotic_1_minus_2h",
          ...spec.blocks.map(blockKey),
          "measured_key_fraction",
          "qber_measured",
          "ci95_low",
          "ci95_high",
          "outside_ci",
          "abort",
        ],
        rows: (points as KeyFractionPoint[]).map((p) => [
          p.q,
          p.asymptotic,
          ...spec.blocks.map((N) => p.finite[String(N)]),
          p.measured,
          num(p.qber),
          num(p.lo),
          num(p.hi),
          p.outside,
          p.abort ?? "",
        ]),
      };
    case "cascade":
      return {
        columns: ["variant", "qber", "actual_qber", "f_ec", "round_trips", "disclosed_bits", "residual_errors"],
        rows: (points as CascadePoint[]).map((p) => [p.variant, p.q, p.actualQ, num(p.fEC), p.roundTrips, p.disclosedBits, p.residualErrors]),
      };
    case "blockSize":
      return {
        columns: [
          "qubits",
          "sifted",
          "measured_key_fraction",
          "finite_key_bound",
          "asymptotic_1_minus_2h",
          "qber_measured",
          "ci95_low",
          "ci95_high",
          "outside_ci",
          "abort",
        ],
        rows: (points as BlockSizePoint[]).map((p) => [
          p.qubits,
          p.sifted,
          p.measured,
          p.bound,
          p.asymptotic,
          num(p.qber),
          num(p.lo),
          num(p.hi),
          p.outside,
          p.abort ?? "",
        ]),
      };
  }
}
