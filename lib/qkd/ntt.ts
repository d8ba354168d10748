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
  let r = 1,
    b = base % P;
  while (exp > 0) {
    if (exp & 1) r = mulmod(r, b);
    b = mulmod(b, b);
    exp = floor(exp / 2);
  }
  return r;
}

interface Tables {
  fwd: Float64Array;
  inv: Float64Array;
}
const tableCache = new Map<number, Tables>();

/**
 * Twiddles for every stage, balanced: tw[len + j] = ω_{2len}^j for len = 1, 2, 4, …, L/2, j < len.
 * Only the top stage is computed (L/2 products); each lower stage takes every other entry of the
 * one above, since ω_{2len}^j = ω_{4len}^{2j}.
 */
function tables(L: number): Tables {
  let t = tableCache.get(L);
  if (t) return t;
  const fwd = new Float64Array(L),
    inv = new Float64Array(L);
  if (L >= 2) {
    const half = L >>> 1;
    const w = powmod(3, (P - 1) / L),
      wi = powmod(w, P - 2);
    let a = 1,
      b = 1;
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
 * bound and is reduced every fourth stage, at the last, and in every stage longer than a block
 * (bound ≤ 8R, so |d·ω| ≤ 4p² < 2^52).
 * Inverse (DIT): only the product is reduced; sums and differences grow by R per stage, ≤ 22R
 * after 21 stages (|a·ω| ≤ 5.5p² < 2^52). No data-dependent branch: conditional corrections
 * mispredict on random data and cost 3× in V8.
 */

/**
 * Stages whose butterflies span at most BLOCK entries run block by block (all of them on one
 * 64 KiB block before the next); longer stages run two at a time. The array is then streamed
 * from memory ~5 times per transform instead of 21.
 */
const BLOCK = 1 << 13;

/** In-place forward transform (output in bit-reversed order, balanced). Entries: |a_i| ≤ p/2. */
export function nttForward(a: Float64Array): void {
  const L = a.length;
  checkLength(L);
  const tw = tables(L).fwd;
  const block = Math.min(L, BLOCK);
  let stage = 0,
    len = L >>> 1;
  // Stages too long for a block: two at a time (radix-2², half the passes over memory), sums reduced.
  for (; len >= 2 && len > block; len >>>= 2, stage += 2) difTwoStages(a, tw, len);
  for (; len >= 1 && 2 * len > block; len >>>= 1, stage++) difStage(a, tw, len, 0, L, true);
  for (let b = 0; b < L; b += block) {
    for (let l = len, st = stage; l >= 1; l >>>= 1, st++) difStage(a, tw, l, b, b + block, (st & 3) === 3 || l === 1);
  }
}

function difStage(a: Float64Array, tw: Float64Array, len: number, from: number, to: number, reduceSum: boolean): void {
  if (reduceSum) {
    for (let i = from; i < to; i += 2 * len) {
      for (let j = 0; j < len; j++) {
        const u = a[i + j],
          v = a[i + j + len];
        const s = u + v;
        const x = (u - v) * tw[len + j];
        a[i + j] = s - floor(s * PINV + 0.5) * P;
        a[i + j + len] = x - floor(x * PINV + 0.5) * P;
      }
    }
  } else {
    for (let i = from; i < to; i += 2 * len) {
      for (let j = 0; j < len; j++) {
        const u = a[i + j],
          v = a[i + j + len];
        const x = (u - v) * tw[len + j];
        a[i + j] = u + v;
        a[i + j + len] = x - floor(x * PINV + 0.5) * P;
      }
    }
  }
}

/** DIF stages len and len/2 fused: each group of four entries is loaded and stored once. */
function difTwoStages(a: Float64Array, tw: Float64Array, len: number): void {
  const L = a.length,
    h = len >>> 1;
  for (let i = 0; i < L; i += 2 * len) {
    for (let j = 0; j < h; j++) {
      const i0 = i + j,
        i1 = i0 + h,
        i2 = i0 + len,
        i3 = i2 + h;
      const x0 = a[i0],
        x1 = a[i1],
        x2 = a[i2],
        x3 = a[i3];
      let y0 = x0 + x2,
        y1 = x1 + x3;
      let y2 = (x0 - x2) * tw[len + j],
        y3 = (x1 - x3) * tw[len + j + h];
      y0 -= floor(y0 * PINV + 0.5) * P;
      y1 -= floor(y1 * PINV + 0.5) * P;
      y2 -= floor(y2 * PINV + 0.5) * P;
      y3 -= floor(y3 * PINV + 0.5) * P;
      const w = tw[h + j];
      const z0 = y0 + y1,
        z2 = y2 + y3;
      const z1 = (y0 - y1) * w,
        z3 = (y2 - y3) * w;
      a[i0] = z0 - floor(z0 * PINV + 0.5) * P;
      a[i1] = z1 - floor(z1 * PINV + 0.5) * P;
      a[i2] = z2 - floor(z2 * PINV + 0.5) * P;
      a[i3] = z3 - floor(z3 * PINV + 0.5) * P;
    }
  }
}

/** DIT stages len and 2·len fused (same growth bounds as two separate stages). */
function ditTwoStages(a: Float64Array, tw: Float64Array, len: number): void {
  const L = a.length;
  for (let i = 0; i < L; i += 4 * len) {
    for (let j = 0; j < len; j++) {
      const i0 = i + j,
        i1 = i0 + len,
        i2 = i1 + len,
        i3 = i2 + len;
      const w = tw[len + j];
      let x = a[i1] * w;
      let v = x - floor(x * PINV + 0.5) * P;
      const u0 = a[i0];
      const y0 = u0 + v,
        y1 = u0 - v;
      x = a[i3] * w;
      v = x - floor(x * PINV + 0.5) * P;
      const u2 = a[i2];
      const y2 = u2 + v,
        y3 = u2 - v;
      x = y2 * tw[2 * len + j];
      v = x - floor(x * PINV + 0.5) * P;
      a[i0] = y0 + v;
      a[i2] = y0 - v;
      x = y3 * tw[2 * len + j + len];
      v = x - floor(x * PINV + 0.5) * P;
      a[i1] = y1 + v;
      a[i3] = y1 - v;
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
  let len = block;
  for (; 4 * len <= L; len <<= 2) ditTwoStages(a, tw, len);
  for (; len < L; len <<= 1) ditStage(a, tw, len, 0, L);
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
