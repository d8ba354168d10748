/**
 * Exact number-theoretic transform over Z_p, p = 11·2^21 + 1 = 23068673 (primitive root 3), on
 * Float64Array. Since p < 2^26, a product of two residues is < 2^52 and exact in a double, so
 * a·b mod p is computed exactly with one float multiply-and-floor (Barrett reduction with 1/p).
 * Transforms up to length 2^21.
 *
 * Forward: decimation in frequency (natural order in, bit-reversed out); inverse: decimation in
 * time (bit-reversed in, natural out), so a convolution needs no bit-reversal pass.
 */
// Module-local aliases: under a vm context (Jest) every global lookup in a hot loop is slow.
const { floor } = Math;
export const NTT_PRIME = 23068673;
export const NTT_MAX_LOG = 21;
const P = NTT_PRIME;
const PINV = 1 / P;

/** a·b mod p in [0, p) for |a|, |b| < p. */
export function mulmod(a: number, b: number): number {
  return canonical(a * b);
}

export function powmod(base: number, exp: number): number {
  let r = 1, b = base % P;
  while (exp > 0) {
    if (exp & 1) r = mulmod(r, b);
    b = mulmod(b, b);
    exp = floor(exp / 2);
  }
  return r;
}

interface Tables { fwd: Float64Array; inv: Float64Array }
const tableCache = new Map<number, Tables>();

/**
 * Twiddles for every stage, balanced: tw[len + j] = ω_{2len}^j for len = 1, 2, 4, …, L/2, j < len.
 * Only the top stage is computed (L/2 products); each lower stage takes every other entry of the
 * one above, since ω_{2len}^j = ω_{4len}^{2j}.
 */
function tables(L: number): Tables {
  let t = tableCache.get(L);
  if (t) return t;
  const fwd = new Float64Array(L), inv = new Float64Array(L);
  if (L >= 2) {
    const half = L >>> 1;
    const w = powmod(3, (P - 1) / L), wi = powmod(w, P - 2);
    let a = 1, b = 1;
    for (let j = 0; j < half; j++) {
      fwd[half + j] = a > P / 2 ? a - P : a;
      inv[half + j] = b > P / 2 ? b - P : b;
      a = mulmod(a, w);
      b = mulmod(b, wi);
    }
    for (let len = half >>> 1; len >= 1; len >>>= 1) {
      for (let j = 0; j < len; j++) {
        fwd[len + j] = fwd[2 * len + 2 * j];
        inv[len + j] = inv[2 * len + 2 * j];
      }
    }
  }
  t = { fwd, inv };
  if (tableCache.size >= 4) tableCache.clear();
  tableCache.set(L, t);
  return t;
}

function checkLength(L: number) {
  if (!(L >= 1 && (L & (L - 1)) === 0 && L <= 1 << NTT_MAX_LOG)) throw new RangeError("NTT length must be a power of two ≤ 2^21");
}

/*
 * Lazy, branch-free reduction. Residues are kept as integer-valued doubles and reduced with
 * red(x) = x − ⌊x/p + ½⌋·p, which maps any |x| < 2^52 exactly into R = [−p/2 − 1, p/2 + 1].
 * Twiddles are stored balanced (|ω| ≤ p/2), so a product |a·ω| < 2^52 whenever |a| < 2^52/(p/2)
 * ≈ 17p. Forward (DIF): the difference is multiplied by a twiddle and reduced; the sum doubles its
 * bound and is reduced every fourth stage and at the last (bound ≤ 8R, so |d·ω| ≤ 4p² < 2^52).
 * Inverse (DIT): only the product is reduced; sums and differences grow by R per stage, ≤ 22R
 * after 21 stages (|a·ω| ≤ 5.5p² < 2^52). No data-dependent branch: conditional corrections
 * mispredict on random data and cost 3× in V8.
 */

/**
 * Stages whose butterflies span at most BLOCK entries run block by block (all of them on one
 * 64 KiB block before the next), so the array is streamed from memory ~8 times instead of 21.
 */
const BLOCK = 1 << 13;

/** In-place forward transform (output in bit-reversed order, balanced). Entries: |a_i| ≤ p/2. */
export function nttForward(a: Float64Array): void {
  const L = a.length;
  checkLength(L);
  const tw = tables(L).fwd;
  const block = Math.min(L, BLOCK);
  let stage = 0, len = L >>> 1;
  for (; len >= 1 && 2 * len > block; len >>>= 1, stage++) difStage(a, tw, len, 0, L, (stage & 3) === 3 || len === 1);
  for (let b = 0; b < L; b += block) {
    for (let l = len, st = stage; l >= 1; l >>>= 1, st++) difStage(a, tw, l, b, b + block, (st & 3) === 3 || l === 1);
  }
}

function difStage(a: Float64Array, tw: Float64Array, len: number, from: number, to: number, reduceSum: boolean): void {
  if (reduceSum) {
    for (let i = from; i < to; i += 2 * len) {
      for (let j = 0; j < len; j++) {
        const u = a[i + j], v = a[i + j + len];
        const s = u + v;
        const x = (u - v) * tw[len + j];
        a[i + j] = s - floor(s * PINV + 0.5) * P;
        a[i + j + len] = x - floor(x * PINV + 0.5) * P;
      }
    }
  } else {
    for (let i = from; i < to; i += 2 * len) {
      for (let j = 0; j < len; j++) {
        const u = a[i + j], v = a[i + j + len];
        const x = (u - v) * tw[len + j];
        a[i + j] = u + v;
        a[i + j + len] = x - floor(x * PINV + 0.5) * P;
      }
    }
  }
}

/**
 * In-place inverse transform of a bit-reversed spectrum with entries |a_i| ≤ p/2 + 1, without the
 * 1/L factor. Output entries are congruent to the result but only bounded by 22·(p/2 + 1); use
 * canonical() on the entries you read.
 */
export function nttInverseUnscaled(a: Float64Array): void {
  const L = a.length;
  checkLength(L);
  const tw = tables(L).inv;
  const block = Math.min(L, BLOCK);
  for (let b = 0; b < L; b += block) {
    for (let len = 1; 2 * len <= block && len < L; len <<= 1) ditStage(a, tw, len, b, b + block);
  }
  for (let len = block; len < L; len <<= 1) ditStage(a, tw, len, 0, L);
}

function ditStage(a: Float64Array, tw: Float64Array, len: number, from: number, to: number): void {
  for (let i = from; i < to; i += 2 * len) {
    for (let j = 0; j < len; j++) {
      const u = a[i + j];
      const x = a[i + j + len] * tw[len + j];
      const v = x - floor(x * PINV + 0.5) * P;
      a[i + j] = u + v;
      a[i + j + len] = u - v;
    }
  }
}

/** Pointwise a ← a·b, balanced residues. */
export function nttPointwise(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] * b[i];
    a[i] = x - floor(x * PINV + 0.5) * P;
  }
}

/** Canonical residue in [0, p) of any integer-valued double with |x| < 2^52. */
export function canonical(x: number): number {
  const r = x - floor(x * PINV) * P;
  return r < 0 ? r + P : r >= P ? r - P : r;
}
