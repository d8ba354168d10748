/**
 * A real fibre link: weak coherent pulses, vacuum + weak decoy BB84, finite-key analysis of
 * Lim, Curty, Walenta, Xu & Zbinden, Phys. Rev. A 89, 022307 (2014) ("LCWXZ" below).
 *
 * Channel model (LCWXZ §IV, dedicated fibre):
 *   η_ch  = 10^(−α·L/10)                 fibre transmittance, α = 0.2 dB/km
 *   η_sys = η_ch · η_det
 *   D_k   = 1 − (1 − 2·p_dc)·e^(−η_sys·k)  detection probability for intensity k (two detectors)
 *   R_k   = D_k · (1 + p_ap)               with afterpulses
 *   e_k   = p_dc + e_mis·(1 − e^(−η_sys·k)) + p_ap·D_k/2   probability of an erroneous detection
 * (the paper prints η_ch in the e_mis term; we use η_sys so that e_mis is the optical error rate of
 * detected photons, as its name says — see docs/qkd.md for the difference it makes.)
 *
 * Expected statistics for a block of n_X X-basis detections: N = n_X / (q_x² · Σ_k p_k R_k) pulses,
 * n_{X,k} = N q_x² p_k R_k, m_{X,k} = N q_x² p_k e_k, and the same with (1 − q_x)² for Z.
 * λ_EC = f_EC · n_X · h(e_obs) and ε_sec = κ·ℓ (κ = 10^-15) as in the paper, or a fixed ε_sec.
 * The rate per pulse ℓ/N is maximised over μ1, μ2, p_μ1, p_μ2, q_x by Nelder–Mead from fixed
 * starting points (deterministic: same inputs, same output). Pure: no DOM, no Node APIs.
 */
import { binaryEntropyClamped } from "./entropy";
import { BasisCounts, Intensities, IntensityProbabilities, limKeyLength, LimBoundsResult } from "./decoy-bounds";

export interface LinkParams {
  /** Fibre loss α in dB/km (0.2 for standard telecom fibre at 1550 nm). */
  attenuationDbPerKm: number;
  /** Bob's detection efficiency η_det, 0..1. */
  detectorEfficiency: number;
  /** Dark-count probability p_dc per detector per pulse. */
  darkCount: number;
  /** Afterpulse probability p_ap. */
  afterpulse: number;
  /** Optical misalignment error rate e_mis. */
  misalignment: number;
  /** Error-correction efficiency f_EC ≥ 1: λ_EC = f_EC · n_X · h(e_obs). */
  fEC: number;
  /** Correctness ε_cor. */
  epsCor: number;
  /** "perKeyBit": ε_sec = κ·ℓ, as in the paper; "fixed": ε_sec = epsSec. */
  epsSecMode: "perKeyBit" | "fixed";
  /** κ, secrecy leakage per key bit (perKeyBit mode). */
  kappa: number;
  /** ε_sec (fixed mode). */
  epsSec: number;
  /** Third ("vacuum") intensity μ3; the paper uses 2·10^-4, a practical modulator's floor. */
  mu3: number;
}

/** LCWXZ 2014's evaluation (Fig. 1, dedicated fibre). */
export const DEFAULT_LINK: Readonly<LinkParams> = Object.freeze({
  attenuationDbPerKm: 0.2,
  detectorEfficiency: 0.1,
  darkCount: 6e-7,
  afterpulse: 4e-2,
  misalignment: 5e-3,
  fEC: 1.16,
  epsCor: 1e-15,
  epsSecMode: "perKeyBit",
  kappa: 1e-15,
  epsSec: 1e-10,
  mu3: 2e-4,
});

/** Block sizes of the paper's Fig. 1. */
export const PAPER_BLOCK_SIZES: readonly number[] = [1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** Checks a LinkParams; throws a RangeError naming the first bad field. */
export function validateLink(p: LinkParams): void {
  const check = (ok: boolean, field: string, want: string) => {
    if (!ok) throw new RangeError(`LinkParams.${field}: expected ${want}, got ${String((p as unknown as Record<string, unknown>)[field])}`);
  };
  const fin = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  check(fin(p.attenuationDbPerKm) && p.attenuationDbPerKm >= 0 && p.attenuationDbPerKm <= 10, "attenuationDbPerKm", "a number in [0, 10]");
  check(fin(p.detectorEfficiency) && p.detectorEfficiency > 0 && p.detectorEfficiency <= 1, "detectorEfficiency", "a number in (0, 1]");
  check(fin(p.darkCount) && p.darkCount >= 0 && p.darkCount < 0.5, "darkCount", "a number in [0, 0.5)");
  check(fin(p.afterpulse) && p.afterpulse >= 0 && p.afterpulse < 1, "afterpulse", "a number in [0, 1)");
  check(fin(p.misalignment) && p.misalignment >= 0 && p.misalignment < 0.5, "misalignment", "a number in [0, 0.5)");
  check(fin(p.fEC) && p.fEC >= 1 && p.fEC <= 10, "fEC", "a number in [1, 10]");
  check(fin(p.epsCor) && p.epsCor > 0 && p.epsCor < 1, "epsCor", "a number in (0, 1)");
  check(p.epsSecMode === "perKeyBit" || p.epsSecMode === "fixed", "epsSecMode", '"perKeyBit" or "fixed"');
  check(fin(p.kappa) && p.kappa > 0 && p.kappa < 1e-3, "kappa", "a number in (0, 1e-3)");
  check(fin(p.epsSec) && p.epsSec > 0 && p.epsSec < 1, "epsSec", "a number in (0, 1)");
  check(fin(p.mu3) && p.mu3 >= 0 && p.mu3 <= 0.01, "mu3", "a number in [0, 0.01]");
}

const checkDistance = (d: number) => {
  if (!(Number.isFinite(d) && d >= 0 && d <= 1000)) throw new RangeError(`distanceKm: expected a number in [0, 1000], got ${d}`);
};
const checkBlock = (n: number) => {
  if (!(n === Infinity || (Number.isFinite(n) && n >= 1e2 && n <= 1e15)))
    throw new RangeError(`nX: expected a block size in [1e2, 1e15] or Infinity (asymptotic), got ${n}`);
};

// ---------------------------------------------------------------- channel model

/** Fibre transmittance η_ch = 10^(−α·L/10). */
export function fibreTransmittance(p: LinkParams, distanceKm: number): number {
  return Math.pow(10, (-p.attenuationDbPerKm * distanceKm) / 10);
}
/** η_sys = η_ch · η_det. */
export function systemTransmittance(p: LinkParams, distanceKm: number): number {
  return fibreTransmittance(p, distanceKm) * p.detectorEfficiency;
}
/** D_k: probability of a detection (no afterpulses) for a pulse of mean photon number k. */
export function detectionWithoutAfterpulse(p: LinkParams, distanceKm: number, k: number): number {
  return 1 - (1 - 2 * p.darkCount) * Math.exp(-systemTransmittance(p, distanceKm) * k);
}
/** R_k = D_k·(1 + p_ap): the gain, probability that a pulse of intensity k is detected. */
export function gain(p: LinkParams, distanceKm: number, k: number): number {
  return detectionWithoutAfterpulse(p, distanceKm, k) * (1 + p.afterpulse);
}
/** e_k: probability that a pulse of intensity k gives an erroneous detection. */
export function errorProbability(p: LinkParams, distanceKm: number, k: number): number {
  const eta = systemTransmittance(p, distanceKm);
  return p.darkCount + p.misalignment * (1 - Math.exp(-eta * k)) + (p.afterpulse * detectionWithoutAfterpulse(p, distanceKm, k)) / 2;
}
/**
 * Y_1: probability that a single photon is detected (dark counts and afterpulses included), the
 * n = 1 term of R_k = Σ_n e^(−k) k^n/n! · Y_n: Y_n = (1 + p_ap)·(1 − (1 − 2p_dc)(1 − η_sys)^n).
 */
export function singlePhotonYield(p: LinkParams, distanceKm: number): number {
  return (1 + p.afterpulse) * (1 - (1 - 2 * p.darkCount) * (1 - systemTransmittance(p, distanceKm)));
}
/** e_1/Y_1: error rate of detected single photons, the n = 1 term of e_k the same way. */
export function singlePhotonQber(p: LinkParams, distanceKm: number): number {
  const eta = systemTransmittance(p, distanceKm);
  const d1 = 1 - (1 - 2 * p.darkCount) * (1 - eta);
  return (p.darkCount + p.misalignment * eta + (p.afterpulse * d1) / 2) / singlePhotonYield(p, distanceKm);
}
/** QBER of pulses of intensity k: e_k / R_k. */
export function qberAt(p: LinkParams, distanceKm: number, k: number): number {
  return errorProbability(p, distanceKm, k) / gain(p, distanceKm, k);
}

// ---------------------------------------------------------------- key rate at fixed settings

export interface DecoySettings {
  intensities: Intensities;
  /** p1, p2, p3 (intensity choice) and pX (basis choice q_x, for Alice and Bob). */
  probabilities: IntensityProbabilities & { pX: number };
}

export interface KeyRatePoint {
  distanceKm: number;
  nX: number;
  /** Secret key rate per pulse ℓ/N (0 when no key can be extracted). */
  rate: number;
  /**
   * keyRateAt only: the bound's rate when it is positive but below MIN_RATE, reported as rate 0
   * (a link that needs more than 10^12 pulses per key bit is not a link).
   */
  rawRate?: number;
  /** ℓ, the secret key length of one block (0 if none). */
  ell: number;
  /** N, pulses Alice sends to fill the block. */
  pulses: number;
  intensities: Intensities;
  probabilities: IntensityProbabilities & { pX: number };
  /** φ_X upper bound on the single-photon phase-error rate. */
  phaseError: number;
  /** Average observed X-basis error rate e_obs. */
  qber: number;
  /** λ_EC in bits. */
  leakEC: number;
  sX0: number;
  sX1: number;
  /** ε_sec the key length was computed for. */
  epsSec: number;
  /** Fibre transmittance η_ch at this distance. */
  transmittance: number;
}

interface Evaluation extends LimBoundsResult {
  pulses: number;
  qber: number;
  leakEC: number;
  epsSec: number;
}

/**
 * Key length for settings s. epsSecOverride fixes ε_sec (used inside the optimiser, where the
 * κ·ℓ fixed point would cost five evaluations each); the reported points always solve ε_sec = κ·ℓ.
 */
function evaluate(p: LinkParams, distanceKm: number, nX: number, s: DecoySettings, epsSecOverride?: number): Evaluation {
  const { mu1, mu2, mu3 } = s.intensities;
  const { p1, p2, p3, pX } = s.probabilities;
  const asymptotic = nX === Infinity;
  const R = [gain(p, distanceKm, mu1), gain(p, distanceKm, mu2), gain(p, distanceKm, mu3)];
  const E = [errorProbability(p, distanceKm, mu1), errorProbability(p, distanceKm, mu2), errorProbability(p, distanceKm, mu3)];
  const P = [p1, p2, p3];
  const perPulse = P[0] * R[0] + P[1] * R[1] + P[2] * R[2];
  // Asymptotic: counts per pulse (N = 1); finite: N pulses fill n_X X-basis detections.
  const pulses = asymptotic ? 1 : nX / (pX * pX * perPulse);
  const counts = (w: number, v: number[]) => ({ k1: pulses * w * P[0] * v[0], k2: pulses * w * P[1] * v[1], k3: pulses * w * P[2] * v[2] });
  const wx = pX * pX,
    wz = (1 - pX) * (1 - pX);
  const x: BasisCounts = { n: counts(wx, R), m: counts(wx, E) };
  const z: BasisCounts = { n: counts(wz, R), m: counts(wz, E) };
  const nXTotal = x.n.k1 + x.n.k2 + x.n.k3;
  const qber = (x.m.k1 + x.m.k2 + x.m.k3) / nXTotal;
  const leakEC = p.fEC * nXTotal * binaryEntropyClamped(qber);
  const run = (epsSec: number) => limKeyLength({ mu: s.intensities, p: { p1, p2, p3 }, x, z, leakEC, epsSec, epsCor: p.epsCor, asymptotic });
  let epsSec = p.epsSec;
  let r: LimBoundsResult;
  if (epsSecOverride !== undefined) {
    epsSec = epsSecOverride;
    r = run(epsSec);
  } else if (p.epsSecMode === "fixed" || asymptotic) r = run(epsSec);
  else {
    // ε_sec = κ·ℓ: ℓ(ε) grows with ε, so iterating ε ← κ·ℓ from ε = κ·n_X decreases to the fixed point.
    epsSec = Math.min(0.5, p.kappa * nXTotal);
    r = run(epsSec);
    for (let i = 0; i < 30; i++) {
      const next = Math.min(0.5, p.kappa * Math.max(1, r.bound));
      if (Math.abs(next - epsSec) <= 1e-9 * epsSec) break;
      epsSec = next;
      r = run(epsSec);
    }
  }
  return { ...r, pulses, qber, leakEC, epsSec };
}

/** Key rate at given intensities and probabilities (no optimisation). */
export function keyRateWithSettings(p: LinkParams, distanceKm: number, nX: number, settings: DecoySettings): KeyRatePoint {
  validateLink(p);
  checkDistance(distanceKm);
  checkBlock(nX);
  const { mu1, mu2, mu3 } = settings.intensities;
  const { p1, p2, p3, pX } = settings.probabilities;
  if (!(mu1 > mu2 + mu3 && mu2 > mu3 && mu3 >= 0)) throw new RangeError("intensities: need μ1 > μ2 + μ3 and μ2 > μ3 ≥ 0");
  if (![p1, p2, p3, pX].every((q) => q > 0 && q < 1) || Math.abs(p1 + p2 + p3 - 1) > 1e-9)
    throw new RangeError("probabilities: need p1, p2, p3, pX in (0, 1) and p1 + p2 + p3 = 1");
  return toPoint(p, distanceKm, nX, settings, evaluate(p, distanceKm, nX, settings));
}

function toPoint(p: LinkParams, distanceKm: number, nX: number, s: DecoySettings, e: Evaluation): KeyRatePoint {
  const ell = nX === Infinity ? Math.max(0, e.bound) : e.ell;
  return {
    distanceKm,
    nX,
    rate: ell > 0 ? ell / e.pulses : 0,
    ell,
    pulses: e.pulses,
    intensities: { ...s.intensities },
    probabilities: { ...s.probabilities },
    phaseError: e.phaseError,
    qber: e.qber,
    leakEC: e.leakEC,
    sX0: e.sX0,
    sX1: e.sX1,
    epsSec: e.epsSec,
    transmittance: fibreTransmittance(p, distanceKm),
  };
}

// ---------------------------------------------------------------- optimiser

// Kept off 0 and 1 so that no probability vanishes (N would be infinite).
const sigmoid = (t: number) => Math.min(1 - 1e-9, Math.max(1e-9, 1 / (1 + Math.exp(-t))));
const logit = (y: number) => Math.log(y / (1 - y));
const MU1_MAX = 1.5;

/** Unconstrained vector → settings satisfying μ1 > μ2 + μ3, μ2 > μ3 and the probability simplex. */
function decode(v: number[], mu3: number): DecoySettings {
  const mu1 = 2 * mu3 + 1e-6 + (MU1_MAX - 2 * mu3) * sigmoid(v[0]);
  const mu2 = mu3 + (mu1 - 2 * mu3) * sigmoid(v[1]);
  const p1 = sigmoid(v[2]);
  const p2 = (1 - p1) * sigmoid(v[3]);
  const p3 = 1 - p1 - p2;
  return { intensities: { mu1, mu2, mu3 }, probabilities: { p1, p2, p3, pX: sigmoid(v[4]) } };
}
function encode(s: DecoySettings): number[] {
  const { mu1, mu2, mu3 } = s.intensities;
  const { p1, p2, pX } = s.probabilities;
  const clamp = (y: number) => Math.min(1 - 1e-12, Math.max(1e-12, y));
  return [
    logit(clamp((mu1 - 2 * mu3 - 1e-6) / (MU1_MAX - 2 * mu3))),
    logit(clamp((mu2 - mu3) / (mu1 - 2 * mu3))),
    logit(clamp(p1)),
    logit(clamp(p2 / (1 - p1))),
    logit(clamp(pX)),
  ];
}

/** Nelder–Mead (Lagarias et al. 1998 coefficients) maximising f; deterministic. */
function nelderMead(f: (v: number[]) => number, start: number[], step: number, maxEvals: number): { x: number[]; fx: number } {
  const n = start.length;
  let simplex = [start.slice()];
  for (let i = 0; i < n; i++) {
    const v = start.slice();
    v[i] += step;
    simplex.push(v);
  }
  let values = simplex.map((v) => -f(v));
  let evals = n + 1;
  const comb = (a: number[], b: number[], t: number) => a.map((ai, i) => ai + t * (b[i] - ai));
  while (evals < maxEvals) {
    const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
    simplex = order.map((i) => simplex[i]);
    values = order.map((i) => values[i]);
    if (Math.abs(values[n] - values[0]) <= 1e-12 * (Math.abs(values[0]) + 1e-300) && evals > 4 * n) break;
    const centroid = new Array(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += simplex[i][j] / n;
    const xr = comb(centroid, simplex[n], -1);
    const fr = -f(xr);
    evals++;
    if (fr < values[0]) {
      const xe = comb(centroid, simplex[n], -2);
      const fe = -f(xe);
      evals++;
      if (fe < fr) [simplex[n], values[n]] = [xe, fe];
      else [simplex[n], values[n]] = [xr, fr];
    } else if (fr < values[n - 1]) {
      [simplex[n], values[n]] = [xr, fr];
    } else {
      const outside = fr < values[n];
      const xc = comb(centroid, simplex[n], outside ? -0.5 : 0.5);
      const fc = -f(xc);
      evals++;
      if (fc < (outside ? fr : values[n])) [simplex[n], values[n]] = [xc, fc];
      else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = comb(simplex[0], simplex[i], 0.5);
          values[i] = -f(simplex[i]);
          evals++;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i <= n; i++) if (values[i] < values[best]) best = i;
  return { x: simplex[best], fx: -values[best] };
}

/**
 * A coarse grid of (μ1, μ2, p1, p2, q_x) scanned before the simplex starts: at small blocks the
 * region with a positive key is narrow (large p2 and p3 for the decoy statistics, q_x near 1/2),
 * and a simplex started outside it climbs the wrong slope.
 */
const GRID = (() => {
  const out: { mu1: number; mu2: number; p1: number; p2: number; pX: number }[] = [];
  for (const mu1 of [0.3, 0.5, 0.7])
    for (const mu2 of [0.05, 0.12, 0.25])
      for (const p1 of [0.1, 0.3, 0.6, 0.85])
        for (const p2 of [0.1, 0.3, 0.5]) for (const pX of [0.3, 0.5, 0.7, 0.9]) if (p1 + p2 < 0.99 && mu2 < mu1 - 0.05) out.push({ mu1, mu2, p1, p2, pX });
  return out;
})();

export interface OptimiseOptions {
  /** Settings to start from as well (e.g. the optimum at the previous distance). */
  warmStart?: DecoySettings;
  /** Objective evaluations per Nelder–Mead run (default 600). */
  maxEvals?: number;
}

function optimise(p: LinkParams, distanceKm: number, nX: number, opts: OptimiseOptions = {}): { settings: DecoySettings; e: Evaluation } {
  // Objective: the un-floored key length per pulse ℓ/N where positive. Where no key exists it is
  // the (negative) bound per block, ℓ/n_X: still a slope for the simplex to climb, and unlike ℓ/N it
  // does not reward sending more pulses (q_x → 0, N → ∞ would push a negative ℓ/N towards 0).
  const blockScale = nX === Infinity ? 1 : nX;
  // ε_sec = κ·ℓ depends on ℓ only through log2(1/ε_sec): the optimiser uses the ε_sec of a reference
  // point (the best of the grid, or the warm start), the final point solves the fixed point.
  const perKeyBit = p.epsSecMode === "perKeyBit" && nX !== Infinity;
  let epsFixed: number | undefined = perKeyBit ? Math.min(0.5, p.kappa * Math.max(1, 0.05 * nX)) : undefined;
  const f = (v: number[]) => {
    const s = decode(v, p.mu3);
    const e = evaluate(p, distanceKm, nX, s, epsFixed);
    if (!Number.isFinite(e.bound) || !Number.isFinite(e.pulses)) return -1e300;
    return e.bound > 0 ? e.bound / e.pulses : e.bound / blockScale;
  };
  const grid = GRID.map((q) =>
    encode({ intensities: { mu1: q.mu1, mu2: q.mu2, mu3: p.mu3 }, probabilities: { p1: q.p1, p2: q.p2, p3: 1 - q.p1 - q.p2, pX: q.pX } }),
  )
    .map((x) => ({ x, fx: f(x) }))
    .sort((a, b) => b.fx - a.fx);
  const starts = [grid[0].x, grid[1].x];
  // The asymptotic optimum sits at the edge of the region (μ2 → μ3, p2, p3 → 0, q_x → 1: decoys
  // cost nothing without fluctuations); the grid does not reach it, so start there too.
  if (nX === Infinity)
    starts.push(encode({ intensities: { mu1: 0.6, mu2: p.mu3 + 1e-4, mu3: p.mu3 }, probabilities: { p1: 0.98, p2: 0.01, p3: 0.01, pX: 0.99 } }));
  if (opts.warmStart) starts.unshift(encode(opts.warmStart));
  if (perKeyBit) epsFixed = Math.max(...starts.map((x) => evaluate(p, distanceKm, nX, decode(x, p.mu3)).epsSec));
  const maxEvals = opts.maxEvals ?? 600;
  let best: { x: number[]; fx: number } | null = null;
  for (const s of starts) {
    const r = nelderMead(f, s, 0.5, maxEvals);
    if (!best || r.fx > best.fx) best = r;
  }
  // Restart from the best: Nelder–Mead can stall on a collapsed simplex.
  const again = nelderMead(f, best!.x, 0.2, maxEvals / 2);
  if (again.fx > best!.fx) best = again;
  const settings = decode(best!.x, p.mu3);
  return { settings, e: evaluate(p, distanceKm, nX, settings) };
}

// ---------------------------------------------------------------- public API

/**
 * Optimised secret key rate per pulse at one distance and block size n_X (Infinity: the
 * asymptotic limit with the same three intensities, the paper's dashed curve).
 */
export function keyRateAt(params: LinkParams, distanceKm: number, nX: number, opts: OptimiseOptions = {}): KeyRatePoint {
  validateLink(params);
  checkDistance(distanceKm);
  checkBlock(nX);
  const { settings, e } = optimise(params, distanceKm, nX, opts);
  const pt = toPoint(params, distanceKm, nX, settings, e);
  // Below MIN_RATE the optimum is the q_x → 0 limit (see MIN_RATE): reported as no key.
  return pt.rate < MIN_RATE ? { ...pt, rate: 0, ell: 0, rawRate: pt.rate } : pt;
}

export interface KeyRateCurve {
  nX: number;
  points: KeyRatePoint[];
  /** Largest distance (km) with a rate ≥ MIN_RATE, from maxDistance(). */
  maxDistanceKm: number;
}

/** Progress: done / total points (maximum-distance searches count as one point each). */
export type Progress = (done: number, total: number) => void;

/**
 * Rate vs distance for each block size, plus each block's maximum distance. Each point starts
 * from the previous distance's optimum as well as the grid; points past the maximum distance
 * report rate 0 without a search.
 */
export function keyRateCurve(params: LinkParams, distances: readonly number[], blocks: readonly number[], onProgress?: Progress): KeyRateCurve[] {
  validateLink(params);
  distances.forEach(checkDistance);
  blocks.forEach(checkBlock);
  const total = blocks.length * (distances.length + 1);
  let done = 0;
  return blocks.map((nX) => {
    // The maximum distance first: past it the rate is 0 by definition, so those points are not
    // optimised (they carry the last optimum's settings, evaluated there, with rate 0).
    const maxDistanceKm = maxDistance(params, nX);
    onProgress?.(++done, total);
    const points: KeyRatePoint[] = [];
    let warm: DecoySettings | undefined;
    for (const d of distances) {
      let pt: KeyRatePoint;
      if (d > maxDistanceKm && warm) {
        const e = toPoint(params, d, nX, warm, evaluate(params, d, nX, warm));
        pt = { ...e, rate: 0, ell: 0, ...(e.rate > 0 && { rawRate: e.rate }) };
      } else pt = keyRateAt(params, d, nX, { warmStart: warm });
      if (pt.rate > 0) warm = { intensities: pt.intensities, probabilities: pt.probabilities };
      points.push(pt);
      onProgress?.(++done, total);
    }
    return { nX, points, maxDistanceKm };
  });
}

/**
 * Rate per pulse below which maxDistance() counts a link as dead: 10^-12, one key bit per 10^12
 * pulses (≈ 17 minutes of a 1 GHz source per bit). Close to the cut-off the optimum drives q_x → 0:
 * a Z basis ever larger than the X basis keeps the phase-error estimate tight while N → ∞, so ℓ
 * stays positive at rates of 10^-20 and below; that limit is not a link anyone could run, so
 * keyRateAt reports such points as rate 0 (the bound's value in rawRate).
 */
export const MIN_RATE = 1e-12;

/**
 * Largest fibre length (km, to 0.05 km) with an optimised key rate ≥ minRate (keyRateAt reports
 * rates below MIN_RATE as 0, so with the default this is the last distance with a positive rate);
 * 0 if there is none at 0 km.
 */
export function maxDistance(params: LinkParams, nX: number, minRate = MIN_RATE): number {
  validateLink(params);
  checkBlock(nX);
  let lo = 0;
  let warm: DecoySettings | undefined;
  const alive = (d: number) => {
    const pt = keyRateAt(params, d, nX, { warmStart: warm });
    if (pt.rate >= minRate) warm = { intensities: pt.intensities, probabilities: pt.probabilities };
    return pt.rate >= minRate;
  };
  if (!alive(0)) return 0;
  // Coarse scan upwards in 25 km steps, then bisection.
  let hi = 25;
  while (hi <= 1000 && alive(hi)) {
    lo = hi;
    hi += 25;
  }
  if (hi > 1000) return 1000;
  while (hi - lo > 0.05) {
    const mid = (lo + hi) / 2;
    if (alive(mid)) lo = mid;
    else hi = mid;
  }
  return Math.round(lo * 100) / 100;
}
