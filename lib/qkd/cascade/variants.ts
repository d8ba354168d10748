/**
 * Cascade variants: names (as in Bruno Rijsman's cascade-cpp) and their parameters, the block-size
 * schedules of Brassard & Salvail (1993), Yan et al. (2008) and Martinez-Mateo, Pacher, Peev, Ciurana
 * & Martin (2015, "Demystifying the information reconciliation protocol Cascade"), plus two tuned
 * here. Kept apart from the algorithm so lib/protocol can validate a variant name without loading it.
 */

// Module-scope aliases: global lookups are slow inside vm contexts (Jest).
const { ceil, log2 } = Math;

export const CASCADE_VARIANTS = ["original", "yanetal", "option3", "option7", "option8", "yanetal-tuned", "yanetal-rt"] as const;
export type CascadeVariant = (typeof CASCADE_VARIANTS)[number];
/** Best measured by bench/cascade-tune.ts: f_EC ≤ 1.09 for QBER 1–10 % at n = 10^4, FER < 10^-3. */
export const DEFAULT_CASCADE_VARIANT: CascadeVariant = "yanetal-tuned";

/**
 * Plain names for people choosing a variant (the room's panel), with the paper and the engine's name
 * in the hint. Ordered by the trade-off measured by bench:cascade (docs/qkd.md §10): the default
 * first, then from fewest round trips (most disclosed bits) to fewest disclosed bits (most round
 * trips). bench/cascade.bench.result.json, n = 10^4, Q = 1–10 %, mean round trips / f_EC: original
 * 34–43 / 1.14–1.21; option3 56–66 / 1.08–1.12; yanetal-rt 70–80 (max 130) / 1.07–1.09;
 * yanetal-tuned 71–85 (max 226) / 1.07–1.09; yanetal 93–102 / 1.07–1.09; option7 136–256 and
 * option8 188–439 / 1.07–1.10 (the lowest f_EC at n = 10^5, 1.04–1.08).
 */
export const CASCADE_VARIANT_NAMES: Readonly<Record<CascadeVariant, { readonly label: string; readonly hint: string }>> = {
  "yanetal-tuned": { label: "Efficient", hint: "The default. Yan et al. (2008) block sizes, tuned for QSEC (id: yanetal-tuned)" },
  original: {
    label: "Original (1994)",
    hint: "Brassard & Salvail, EUROCRYPT '93 (published 1994): 4 passes, fewest round trips, most disclosed bits (id: original)",
  },
  option3: { label: "Balanced", hint: "Martinez-Mateo et al. (2015), Cascade option 3 (id: option3)" },
  "yanetal-rt": { label: "Fewer round trips", hint: "The default's block sizes plus a round-trip policy, slightly more disclosed bits (id: yanetal-rt)" },
  yanetal: { label: "Classic optimised", hint: "Yan et al. (2008) (id: yanetal)" },
  option7: { label: "Very efficient, many round trips", hint: "Martinez-Mateo et al. (2015), Cascade option 7 (id: option7)" },
  option8: { label: "Most efficient, most round trips", hint: "Martinez-Mateo et al. (2015), Cascade option 8 (id: option8)" },
};

export interface CascadeVariantSpec {
  passes: number;
  /** Block size of pass p (0-based) for QBER q and key length n (before clamping to [1, n]). */
  blockSize: (p: number, q: number, n: number) => number;
  /** Infer the last top-level block of passes ≥ 1 from the total parity disclosed by pass 0. */
  inferLastBlock: boolean;
  /** Round-trip policy (Bob only; Alice answers whatever ranges she is asked). */
  rounds?: CascadeRoundPolicy;
}

/** Bob-side round-trip policy. Absent fields keep the plain behaviour. */
export interface CascadeRoundPolicy {
  /** Levels of its subtree a search asks per round, by round trip: [[fromTrip, levels], ...] ascending. */
  lookahead?: readonly (readonly [number, number])[];
  /** Lookahead only while at most this many passes were started in the regular order. */
  lookaheadMaxRegular?: number;
  /** Early-started passes search every odd top-level block at once (default: only the first). */
  earlyAllBlocks?: boolean;
  /** From this round trip on, start the next pass every `startEvery` rounds even if searches are pending. */
  earlyStartAfter?: number;
  startEvery?: number;
  /** Early starts only while at most this many passes were started in the regular order. */
  earlyStartMaxRegular?: number;
}

const half = (n: number) => ceil(n / 2);

/** Variant parameters (exported for the tuning script, which may add experimental entries). */
export const CASCADE_VARIANT_SPECS: Record<string, CascadeVariantSpec> = {
  // Brassard & Salvail: k1 = 0.73/Q, doubling, 4 passes. Kept faithful (no total-parity inference).
  original: {
    passes: 4,
    blockSize: (p, q) => ceil(0.73 / q) * 2 ** p,
    inferLastBlock: false,
  },
  // Yan et al. 2008: k1 = 0.8/Q, k2 = 5·k1, then n/2; 10 passes.
  yanetal: {
    passes: 10,
    blockSize: (p, q, n) => (p === 0 ? ceil(0.8 / q) : p === 1 ? 5 * ceil(0.8 / q) : half(n)),
    inferLastBlock: true,
  },
  // Demystifying, Cascade opt. (3): k1 = 1/Q, k2 = 2·k1, then n/2; 16 passes.
  option3: {
    passes: 16,
    blockSize: (p, q, n) => (p === 0 ? ceil(1 / q) : p === 1 ? 2 * ceil(1 / q) : half(n)),
    inferLastBlock: true,
  },
  // Demystifying, Cascade opt. (7): k1 = 2^⌈log2(1/Q)⌉, k2 = 4·k1, then n/2; 14 passes.
  option7: {
    passes: 14,
    blockSize: (p, q, n) => {
      const k1 = 2 ** ceil(log2(1 / q));
      return p === 0 ? k1 : p === 1 ? 4 * k1 : half(n);
    },
    inferLastBlock: true,
  },
  // Demystifying, Cascade opt. (8): α = log2(1/Q) − 1/2, k1 = 2^⌈α⌉, k2 = 2^⌈(α+12)/2⌉, k3 = 4096,
  // then n/2; 14 passes.
  option8: {
    passes: 14,
    blockSize: (p, q, n) => {
      const a = log2(1 / q) - 0.5;
      return p === 0 ? 2 ** ceil(a) : p === 1 ? 2 ** ceil((a + 12) / 2) : p === 2 ? 4096 : half(n);
    },
    inferLastBlock: true,
  },
  // Tuned here (bench/cascade-tune.ts sweep over k1 = a/Q, k2 = b·k1, pass count): Yan et al.'s
  // k1 = 0.8/Q with k2 = 4·k1, then 12 passes of n/2 (each costing one parity thanks to the
  // total-parity inference), enough to push the frame error rate below 10^-3.
  "yanetal-tuned": {
    passes: 14,
    blockSize: (p, q, n) => (p === 0 ? ceil(0.8 / q) : p === 1 ? 4 * ceil(0.8 / q) : half(n)),
    inferLastBlock: true,
  },
  // yanetal-tuned's schedule with a round-trip policy that cuts the tail of long cascade chains
  // (measured by bench/cascade-tune.ts at n = 10^4, 1,000 runs per QBER: runs over 120 round trips
  // 2–7 % → ≤ 0.4 %, max 191–246 → 119–126, for f_EC +0.0006 … +0.006 and no FER increase).
  // If passes 0–1 are still busy at round trip 60, a half-key pass is started early every 15 round
  // trips (its odd blocks split the chain); from round trip 100 (110) searches ask 2 (3) levels per
  // round. The thresholds are absolute round counts tuned at n = 10^4.
  "yanetal-rt": {
    passes: 14,
    blockSize: (p, q, n) => (p === 0 ? ceil(0.8 / q) : p === 1 ? 4 * ceil(0.8 / q) : half(n)),
    inferLastBlock: true,
    rounds: {
      earlyStartAfter: 60,
      startEvery: 15,
      earlyStartMaxRegular: 2,
      earlyAllBlocks: true,
      lookahead: [
        [100, 2],
        [110, 3],
      ],
    },
  },
};
