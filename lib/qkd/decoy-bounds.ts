/**
 * Finite-key bounds of the vacuum + weak decoy BB84 protocol after Lim, Curty, Walenta, Xu &
 * Zbinden, "Concise security bounds for practical decoy-state quantum key distribution",
 * Phys. Rev. A 89, 022307 (2014), Eqs. (1)–(5). Pure arithmetic on observed counts: no channel
 * model here (that is lib/qkd/decoy.ts), so the formulas can be checked against the paper alone.
 *
 * Three intensities μ1 > μ2 + μ3, μ2 > μ3 ≥ 0 sent with probabilities p1, p2, p3; every bound is
 * per basis (X for the key, Z for the phase-error estimate).
 */
import { binaryEntropyClamped } from "./entropy";

export interface Intensities {
  mu1: number;
  mu2: number;
  mu3: number;
}
export interface IntensityProbabilities {
  p1: number;
  p2: number;
  p3: number;
}
/** Observed counts of one basis, split by intensity (n_k detections or m_k errors). */
export interface CountsByIntensity {
  k1: number;
  k2: number;
  k3: number;
}

/** τ_n = Σ_k p_k e^{−k} k^n / n!: probability that Alice sends an n-photon state (n = 0, 1). */
export function photonNumberProbability(n: 0 | 1, mu: Intensities, p: IntensityProbabilities): number {
  const term = (k: number, pk: number) => pk * Math.exp(-k) * (n === 0 ? 1 : k);
  return term(mu.mu1, p.p1) + term(mu.mu2, p.p2) + term(mu.mu3, p.p3);
}

/** Hoeffding deviation δ(n, ε) = √(n/2 · ln(1/ε)) (Eq. (A1)); the paper uses ε = ε_sec/21. */
export function hoeffdingDelta(total: number, eps: number): number {
  return Math.sqrt((total / 2) * Math.log(1 / eps));
}

/** n^±_k = e^k/p_k · (n_k ± δ): the finite-size corrected, intensity-rescaled counts. */
export function rescaledBounds(counts: CountsByIntensity, mu: Intensities, p: IntensityProbabilities, delta: number) {
  const f = (k: number, pk: number, nk: number, s: 1 | -1) => (Math.exp(k) / pk) * (nk + s * delta);
  return {
    plus: { k1: f(mu.mu1, p.p1, counts.k1, 1), k2: f(mu.mu2, p.p2, counts.k2, 1), k3: f(mu.mu3, p.p3, counts.k3, 1) },
    minus: { k1: f(mu.mu1, p.p1, counts.k1, -1), k2: f(mu.mu2, p.p2, counts.k2, -1), k3: f(mu.mu3, p.p3, counts.k3, -1) },
  };
}

/** Eq. (2): s_0 ≥ τ0 · (μ2·n⁻_μ3 − μ3·n⁺_μ2) / (μ2 − μ3). */
export function vacuumLowerBound(tau0: number, mu: Intensities, nMinus: CountsByIntensity, nPlus: CountsByIntensity): number {
  return (tau0 * (mu.mu2 * nMinus.k3 - mu.mu3 * nPlus.k2)) / (mu.mu2 - mu.mu3);
}

/** Eq. (3): s_1 ≥ τ1·μ1·[n⁻_μ2 − n⁺_μ3 − (μ2² − μ3²)/μ1² · (n⁺_μ1 − s_0/τ0)] / [μ1(μ2 − μ3) − μ2² + μ3²]. */
export function singlePhotonLowerBound(tau0: number, tau1: number, mu: Intensities, nMinus: CountsByIntensity, nPlus: CountsByIntensity, s0: number): number {
  const { mu1, mu2, mu3 } = mu;
  const sq = mu2 * mu2 - mu3 * mu3;
  const num = nMinus.k2 - nPlus.k3 - (sq / (mu1 * mu1)) * (nPlus.k1 - s0 / tau0);
  return (tau1 * mu1 * num) / (mu1 * (mu2 - mu3) - sq);
}

/** Eq. (4): v_1 ≤ τ1 · (m⁺_μ2 − m⁻_μ3) / (μ2 − μ3): errors among single-photon detections. */
export function singlePhotonErrorUpperBound(tau1: number, mu: Intensities, mPlus: CountsByIntensity, mMinus: CountsByIntensity): number {
  return (tau1 * (mPlus.k2 - mMinus.k3)) / (mu.mu2 - mu.mu3);
}

/**
 * γ(a, b, c, d) = √( (c+d)(1−b)b / (c·d·ln 2) · log2( (c+d)/(c·d·(1−b)·b) · 21²/a² ) ), Eq. (5): the
 * random-sampling (without replacement) deviation of the phase-error rate, with a = ε_sec.
 */
export function gammaDeviation(a: number, b: number, c: number, d: number): number {
  if (!(b > 0 && b < 1 && c > 0 && d > 0)) return b > 0 && b < 1 ? Infinity : 0;
  const arg = ((c + d) / (c * d * (1 - b) * b)) * ((21 * 21) / (a * a));
  const inner = (((c + d) * (1 - b) * b) / (c * d * Math.LN2)) * Math.log2(arg);
  return Math.sqrt(Math.max(0, inner));
}

export interface BasisCounts {
  /** Detections per intensity, n_{B,k}. */
  n: CountsByIntensity;
  /** Bit errors per intensity, m_{B,k}. */
  m: CountsByIntensity;
}

export interface LimBoundsInput {
  mu: Intensities;
  p: IntensityProbabilities;
  x: BasisCounts;
  z: BasisCounts;
  /** λ_EC: bits disclosed by error correction. */
  leakEC: number;
  epsSec: number;
  epsCor: number;
  /**
   * Asymptotic limit (N → ∞, counts given per pulse): no Hoeffding deviation, no γ, no ε costs.
   * The paper's dashed curve in Fig. 1.
   */
  asymptotic?: boolean;
}

export interface LimBoundsResult {
  sX0: number;
  sX1: number;
  sZ0: number;
  sZ1: number;
  vZ1: number;
  /** φ_X upper bound (Eq. (5)), clamped to [0, 1/2]; 1/2 when s_Z1 or s_X1 is not positive. */
  phaseError: number;
  /** Key length before flooring, Eq. (1); may be negative. */
  bound: number;
  /** ⌊bound⌋ when positive, else 0. */
  ell: number;
}

const sum = (c: CountsByIntensity) => c.k1 + c.k2 + c.k3;

/** Eq. (1): ℓ = ⌊s_X0 + s_X1·(1 − h(φ_X)) − λ_EC − 6·log2(21/ε_sec) − log2(2/ε_cor)⌋. */
export function limKeyLength({ mu, p, x, z, leakEC, epsSec, epsCor, asymptotic = false }: LimBoundsInput): LimBoundsResult {
  const tau0 = photonNumberProbability(0, mu, p);
  const tau1 = photonNumberProbability(1, mu, p);
  const eps = epsSec / 21;
  const basis = (b: BasisCounts) => {
    const nb = rescaledBounds(b.n, mu, p, asymptotic ? 0 : hoeffdingDelta(sum(b.n), eps));
    const s0 = Math.max(0, vacuumLowerBound(tau0, mu, nb.minus, nb.plus));
    const s1 = Math.max(0, singlePhotonLowerBound(tau0, tau1, mu, nb.minus, nb.plus, s0));
    return { s0, s1 };
  };
  const X = basis(x);
  const Z = basis(z);
  const mb = rescaledBounds(z.m, mu, p, asymptotic ? 0 : hoeffdingDelta(sum(z.m), eps));
  const vZ1 = Math.max(0, singlePhotonErrorUpperBound(tau1, mu, mb.plus, mb.minus));
  let phaseError = 0.5;
  if (Z.s1 > 0 && X.s1 > 0) {
    const b = Math.min(vZ1 / Z.s1, 0.5);
    phaseError = Math.min(0.5, b + (asymptotic ? 0 : gammaDeviation(epsSec, b, Z.s1, X.s1)));
    if (Number.isNaN(phaseError)) phaseError = 0.5;
  }
  const cost = asymptotic ? 0 : 6 * Math.log2(21 / epsSec) + Math.log2(2 / epsCor);
  const bound = X.s0 + X.s1 * (1 - binaryEntropyClamped(phaseError)) - leakEC - cost;
  return { sX0: X.s0, sX1: X.s1, sZ0: Z.s0, sZ1: Z.s1, vZ1, phaseError, bound, ell: bound > 0 ? Math.floor(bound) : 0 };
}
