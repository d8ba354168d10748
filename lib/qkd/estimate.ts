/**
 * Parameter estimation: the error rate on the test sample, its finite-key upper bound, a
 * Clopper–Pearson interval for display, and the decision to continue or abort.
 *
 * Both parties evaluate the same public numbers with the same code, so they reach the same
 * decision. Abort rules, in order:
 *  1. Q > qberThreshold (default 11%, where BB84's 1 − 2h(Q) reaches 0): suspected eavesdropping.
 *  2. The TLGR length with the Shannon-limit leak n·h(Q) + t (no real error correction does better)
 *     is ≤ 0: the block is too short or too noisy for any key, so reconciliation is skipped.
 */
import { binaryEntropy } from "./entropy";
import { clopperPearson } from "./entropy";
import { finiteKeyLength, verificationHashBits } from "./finite-key";
import type { AbortCode } from "./messages";

export interface EstimateParams {
  epsSec: number;
  epsCor: number;
  qberThreshold: number;
}

export interface Estimate {
  sampleSize: number;
  sampleErrors: number;
  keyBits: number;
  qber: number;
  mu: number;
  /** Q + μ: the bound on the key's error rate that enters ℓ (fails with probability ≤ ε_sec/2). */
  qberUpper: number;
  /** Clopper–Pearson 95% interval for the sample's error rate (display only). */
  interval95: [number, number];
  /** ℓ if error correction leaked exactly n·h(Q) (Shannon limit). */
  ellShannon: number;
  abort: { code: AbortCode; message: string } | null;
}

export function evaluateSample(keyBits: number, sampleSize: number, sampleErrors: number, p: EstimateParams): Estimate {
  const k = sampleSize,
    n = keyBits;
  const qber = k > 0 ? sampleErrors / k : 1;
  const t = verificationHashBits(p.epsCor);
  const fk = finiteKeyLength({ n, k, qber, leakEC: n * binaryEntropy(Math.min(qber, 0.5)) + t, epsSec: p.epsSec, epsCor: p.epsCor });
  const interval95 = k > 0 ? clopperPearson(sampleErrors, k, 0.95) : ([0, 1] as [number, number]);
  let abort: Estimate["abort"] = null;
  // One decimal, as the panel shows percentages; more where one decimal would show an estimate just
  // above the threshold as equal to it.
  const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;
  if (qber > p.qberThreshold) {
    let digits = 1;
    while (digits < 4 && pct(qber, digits) === pct(p.qberThreshold, digits)) digits++;
    abort = {
      code: "QBER_TOO_HIGH",
      message: `QBER ${pct(qber, digits)} (${sampleErrors}/${k}) exceeds the ${pct(p.qberThreshold)} threshold: suspected eavesdropping`,
    };
  } else if (!(fk.ell > 0)) {
    abort = {
      code: "KEY_TOO_SHORT",
      message: `finite-key bound leaves no key even at the Shannon limit (n = ${n}, k = ${k}, Q = ${pct(qber)}, μ = ${pct(fk.mu)})`,
    };
  }
  return { sampleSize: k, sampleErrors, keyBits: n, qber, mu: fk.mu, qberUpper: fk.qberUpper, interval95, ellShannon: fk.ell, abort };
}

/**
 * QBER handed to Cascade to size its blocks: the sample estimate, but at least ½ error per sample
 * (a zero-error sample does not mean a zero-error key; too large blocks only cost round trips,
 * too small ones cost leakage).
 */
export function cascadeQber(e: Estimate): number {
  return Math.max(e.qber, 0.5 / Math.max(1, e.sampleSize));
}
