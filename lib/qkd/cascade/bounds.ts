/**
 * What an honest Cascade run can look like, given the channel both parties estimated: the most
 * corrections Bob can make and the most round trips a run can take. A party that sees more aborts
 * at once with the reason, instead of letting a peer's inconsistent parities (a bug, or a
 * malicious but authenticated peer) run the search for minutes.
 *
 * Neither bound changes an honest run: they only decide when to give up.
 */
import { CascadeSchedule } from "./schedule";

// Module-scope aliases: global lookups are slow inside vm contexts (Jest).
const { ceil, log2, max, min, sqrt, LN2 } = Math;

export interface CascadeBounds {
  /** Corrections Bob may make before his peer's parities are taken to be inconsistent. */
  maxCorrections: number;
  /** Round trips (requests) either party accepts. */
  maxRoundTrips: number;
  /** Parity bits Alice discloses in all before she refuses to answer (a lying Bob asking for her key). */
  maxDisclosed: number;
}

/** Failure probability of the statistical bound on the key's errors: 2^-40 (before the slack). */
const LN_INV_EPS = 40 * LN2;

/**
 * Corrections. With an honest Alice every correction removes one real error (her parities are
 * consistent, so a block with odd error parity always holds an error), so corrections ≤ errors in
 * the n key bits. The test sample of k bits and the key are a random split of the sifted bits, so
 * the key's error rate exceeds Q̂ + μ with probability ≤ ε, μ = √((n+k)/(n·k) · (k+1)/k · ln(1/ε))
 * (the sampling bound TLGR 2012 use for the key length, here with ε = 2^-40). The cap doubles that
 * and adds 64, capped at n. Without a sample size (tests, benchmarks that hand Cascade the true
 * QBER), k = n.
 *
 * Round trips. A binary search takes at most D = ⌈log2(largest block + 1)⌉ round trips, and honest
 * runs need a few dozen search depths in sequence (cascade chains between passes): the cap is
 * 12·(passes + D)·D. Measured against it (bench/qkd.bench.ts and single runs at 10^6): the default
 * variant's longest run at n = 10^4 is 299 of 4212; the slowest variant, option8, takes up to 1593
 * of 5760 at n = 10^5 and 1839 of 7524 at n = 10^6 (Q = 10%).
 *
 * Disclosed parities (Alice). An honest run discloses the top-level block parities T (every pass,
 * once) plus about f·h(Q)·n search parities, f ≈ 1.1 and h(Q) ≤ 1/2 below the 11 % abort threshold.
 * More than T + n parities would tell the listener more bits than the key has: no key can come of
 * it, so Alice stops answering a Bob who asks for them, whatever his round-trip count.
 */
export function cascadeBounds(sched: CascadeSchedule, n: number, qber: number, sampleSize?: number): CascadeBounds {
  const k = sampleSize !== undefined && sampleSize >= 1 ? sampleSize : max(1, n);
  const nn = max(1, n);
  const mu = sqrt(((nn + k) / (nn * k)) * ((k + 1) / k) * LN_INV_EPS);
  const maxCorrections = min(n, ceil(2 * nn * min(0.5, qber + mu)) + 64);
  const D = ceil(log2(max(1, ...sched.blockSize) + 1));
  const maxRoundTrips = 12 * (sched.passes + D) * D;
  let tops = 0;
  for (let p = 0; p < sched.passes; p++) tops += sched.numBlocks[p];
  return { maxCorrections, maxRoundTrips, maxDisclosed: tops + n };
}
