/**
 * Finite-key length for BB84 after Tomamichel, Lim, Gisin & Renner, "Tight finite-key analysis for
 * quantum cryptography", Nat. Commun. 3, 634 (2012), Eq. (2) (Supplementary (S3)–(S4) with
 * ε = ε_sec/4, ε̃ = ε_sec/2, hence ln(4/ε_sec) in μ):
 *
 *   ℓ = ⌊ n·(1 − h(Q + μ)) − leak_EC − log2(2 / (ε_sec²·ε_cor)) ⌋
 *   μ = √( (n + k)/(n·k) · (k + 1)/k · ln(4/ε_sec) )
 *
 * n = key bits entering privacy amplification, k = test-sample bits, Q = error rate measured on the
 * sample, leak_EC = every bit disclosed during error correction and verification. Conservative:
 * the verification hash is counted in leak_EC although log2(2/ε_cor) already pays for it (TLGR
 * (S6)). Q is the measured rate, not a tolerance fixed in advance: see docs/qkd.md §7
 * "Finite-key honesty" for what that does and does not cover.
 */
import { binaryEntropy, binaryEntropyClamped } from "./entropy";

export const DEFAULT_EPS_SEC = 1e-10;
export const DEFAULT_EPS_COR = 1e-15;
/** Point-estimate QBER above which a run aborts as suspected eavesdropping: BB84's 1 − 2h(Q) = 0 at ≈ 11.0%. */
export const DEFAULT_QBER_THRESHOLD = 0.11;

/** Statistical deviation μ of TLGR 2012 (conservative form): Q_key ≤ Q_test + μ except with prob. ε_sec/2. */
export function finiteKeyMu(n: number, k: number, epsSec: number): number {
  if (!(n > 0 && k > 0)) return Infinity;
  return Math.sqrt(((n + k) / (n * k)) * ((k + 1) / k) * Math.log(4 / epsSec));
}

/** Bits of a verification hash giving collision probability ≤ ε_cor with a 2-universal family. */
export function verificationHashBits(epsCor: number): number {
  if (!(epsCor > 0 && epsCor < 1)) throw new RangeError("epsCor must be in (0, 1)");
  return Math.ceil(Math.log2(1 / epsCor) - 1e-12);
}

/** log2(2/(ε_sec²·ε_cor)): the privacy-amplification and correctness cost in bits. */
export function securityCost(epsSec: number, epsCor: number): number {
  return 1 + 2 * Math.log2(1 / epsSec) + Math.log2(1 / epsCor);
}

export interface FiniteKeyInput {
  n: number;
  k: number;
  qber: number;
  leakEC: number;
  epsSec: number;
  epsCor: number;
}
export interface FiniteKeyResult {
  /** ⌊…⌋ of the bound; may be ≤ 0 (then no key may be extracted). */
  ell: number;
  /** The bound before flooring. */
  bound: number;
  mu: number;
  qberUpper: number;
  entropyUpper: number;
  cost: number;
}

export function finiteKeyLength({ n, k, qber, leakEC, epsSec, epsCor }: FiniteKeyInput): FiniteKeyResult {
  const mu = finiteKeyMu(n, k, epsSec);
  const qberUpper = qber + mu;
  const entropyUpper = binaryEntropyClamped(qberUpper);
  const cost = securityCost(epsSec, epsCor);
  const bound = n > 0 ? n * (1 - entropyUpper) - leakEC - cost : -Infinity;
  return { ell: Math.floor(bound), bound, mu, qberUpper, entropyUpper, cost };
}

export interface SampleSizeOptions {
  epsSec: number;
  epsCor: number;
  /** QBER the sample is sized for (the protocol's design point). */
  designQber: number;
  /** Error-correction efficiency assumed when sizing (leak = f·n·h(Q)). */
  designEfficiency: number;
}
export const DEFAULT_SAMPLE_DESIGN: Pick<SampleSizeOptions, "designQber" | "designEfficiency"> = {
  designQber: 0.02,
  designEfficiency: 1.1,
};

/**
 * Test-sample size k for N sifted bits: the k that maximises the TLGR key length ℓ(N − k, k) at the
 * design QBER and design error-correction efficiency. A larger sample tightens μ but removes key
 * bits; the optimum grows roughly like N^(2/3) (e.g. ≈ 5·10^4 of 5·10^5 sifted bits at 2%).
 * Depends only on public values, so it leaks nothing.
 */
export function optimalSampleSize(N: number, opts: SampleSizeOptions): number {
  if (N < 2) return 0;
  const t = verificationHashBits(opts.epsCor);
  const hq = binaryEntropy(Math.min(0.5, Math.max(0, opts.designQber)));
  const f = (k: number) => {
    const n = N - k;
    return finiteKeyLength({ n, k, qber: opts.designQber, leakEC: opts.designEfficiency * n * hq + t, epsSec: opts.epsSec, epsCor: opts.epsCor }).bound;
  };
  // ℓ(k) is unimodal in k: ternary search on integers, then a local scan.
  let lo = 1,
    hi = N - 1;
  while (hi - lo > 8) {
    const m1 = lo + Math.floor((hi - lo) / 3),
      m2 = hi - Math.floor((hi - lo) / 3);
    if (f(m1) < f(m2)) lo = m1 + 1;
    else hi = m2 - 1;
  }
  let best = lo,
    bestV = f(lo);
  for (let k = lo + 1; k <= hi; k++) {
    const v = f(k);
    if (v > bestV) {
      best = k;
      bestV = v;
    }
  }
  return best;
}

/**
 * Upper bound on Eve's mutual information with a final key that is ε-secret (trace distance ≤ ε
 * from uniform and independent of E), by the Alicki–Fannes–Winter continuity bound for
 * conditional entropy (Winter, Commun. Math. Phys. 347, 291 (2016), Lemma 2):
 * I(K;E) = ℓ − H(K|E) ≤ ε·ℓ + (1 + ε)·h(ε/(1 + ε)).
 */
export function eveInformationBound(ell: number, epsSec: number): number {
  if (ell <= 0) return 0;
  return epsSec * ell + (1 + epsSec) * binaryEntropy(epsSec / (1 + epsSec));
}
