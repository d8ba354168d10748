/**
 * Toeplitz hashing over GF(2): the ℓ × n matrix T[i][j] = s[i − j + n − 1] defined by a seed s of
 * n + ℓ − 1 bits; output y = T·x. Random Toeplitz matrices form a 2-universal family
 * (Krawczyk, CRYPTO '94; Carter & Wegman), used here both for verification (ℓ = ⌈log2 1/ε_cor⌉)
 * and for privacy amplification (leftover hash lemma).
 *
 * y_i = Σ_j s[i + n − 1 − j]·x_j is entry i + n − 1 of the integer convolution s * x, reduced mod 2.
 * Every convolution entry is at most min(n, ·) ≤ 2^21 < p, so the NTT mod p = 23068673 computes it
 * exactly; a cyclic length L ≥ n + ℓ − 1 suffices because wrap-around only lands on entries below
 * n − 1 or above n + ℓ − 2. Larger problems are cut into tiles whose parities are XORed.
 */
import { BitArray, parity32 } from "./bits";
import { NTT_MAX_LOG, NTT_PRIME, nttForward, nttInverseUnscaled, nttPointwise, powmod, mulmod, canonical } from "./ntt";

function checkArgs(x: BitArray, seed: BitArray, ell: number) {
  if (!Number.isInteger(ell) || ell < 0) throw new RangeError("toeplitz: bad output length");
  if (x.length === 0 || ell === 0) return;
  if (seed.length !== x.length + ell - 1) throw new RangeError(`toeplitz: seed must have n + ℓ − 1 = ${x.length + ell - 1} bits`);
}

/** Reference implementation, bit by bit, O(n·ℓ). For tests and the benchmark baseline only. */
export function toeplitzNaive(x: BitArray, seed: BitArray, ell: number): BitArray {
  checkArgs(x, seed, ell);
  const n = x.length;
  const out = new BitArray(ell);
  for (let i = 0; i < ell; i++) {
    let acc = 0;
    for (let j = 0; j < n; j++) acc ^= seed.get(i - j + n - 1) & x.get(j);
    if (acc) out.set(i, 1);
  }
  return out;
}

/**
 * Word-parallel O(n·ℓ/32): y_i = parity(window(s, i, n) AND reverse(x)). Fast when ℓ is small
 * (the verification hash).
 */
export function toeplitzWordParallel(x: BitArray, seed: BitArray, ell: number): BitArray {
  checkArgs(x, seed, ell);
  const out = new BitArray(ell);
  if (x.length === 0) return out;
  const xr = x.reverse().words;
  const nw = xr.length;
  const s = new Uint32Array(seed.words.length + 2);
  s.set(seed.words);
  for (let i = 0; i < ell; i++) {
    const q = i >>> 5,
      r = i & 31;
    let acc = 0;
    if (r === 0) for (let k = 0; k < nw; k++) acc ^= s[q + k] & xr[k];
    else {
      const l = 32 - r;
      for (let k = 0; k < nw; k++) acc ^= ((s[q + k] >>> r) | (s[q + k + 1] << l)) & xr[k];
    }
    if (parity32(acc)) out.words[i >>> 5] |= 1 << (i & 31);
  }
  return out;
}

const MAX_L = 1 << NTT_MAX_LOG;

/**
 * Exact Toeplitz product by NTT convolution, tiled when n + ℓ − 1 > maxLength (2^21, the largest
 * transform of the prime; a smaller power of two can be given to exercise tiling in tests).
 */
export function toeplitzNtt(x: BitArray, seed: BitArray, ell: number, maxLength = MAX_L): BitArray {
  checkArgs(x, seed, ell);
  const n = x.length;
  const out = new BitArray(ell);
  if (n === 0 || ell === 0) return out;
  // Tile sizes: a column block of width nt and a row block of height lt with nt + lt − 1 ≤ 2^21.
  let nt = n,
    lt = ell;
  if (!(maxLength >= 2 && maxLength <= MAX_L && (maxLength & (maxLength - 1)) === 0)) throw new RangeError("toeplitz: bad maxLength");
  if (nt + lt - 1 > maxLength) {
    nt = Math.min(n, maxLength >>> 1);
    lt = Math.min(ell, maxLength - nt + 1);
  }
  const L = nextPow2(nt + lt - 1);
  const A = new Float64Array(L),
    B = new Float64Array(L);
  for (let i0 = 0; i0 < ell; i0 += lt) {
    const lh = Math.min(lt, ell - i0);
    for (let j0 = 0; j0 < n; j0 += nt) {
      const nw = Math.min(nt, n - j0);
      // Sub-matrix rows i0..i0+lh, columns j0..j0+nw: its seed starts at i0 − (j0 + nw − 1) + n − 1.
      const s0 = i0 - j0 - nw + n;
      const Lt = nextPow2(nw + lh - 1);
      const a = Lt === L ? A : new Float64Array(Lt),
        b = Lt === L ? B : new Float64Array(Lt);
      a.fill(0);
      b.fill(0);
      unpack(x, j0, nw, a);
      unpack(seed, s0, nw + lh - 1, b);
      nttForward(a);
      nttForward(b);
      nttPointwise(a, b);
      nttInverseUnscaled(a);
      const invL = powmod(Lt, NTT_PRIME - 2);
      for (let i = 0; i < lh; i++) {
        if (mulmod(canonical(a[i + nw - 1]), invL) & 1) out.words[(i0 + i) >>> 5] ^= 1 << ((i0 + i) & 31);
      }
    }
  }
  return out;
}

/** Toeplitz hash choosing the fastest exact method for the shape. */
export function toeplitzHash(x: BitArray, seed: BitArray, ell: number): BitArray {
  if (ell <= 128 || x.length <= 4096) return toeplitzWordParallel(x, seed, ell);
  return toeplitzNtt(x, seed, ell);
}

function unpack(bits: BitArray, from: number, count: number, into: Float64Array) {
  const w = bits.words;
  for (let i = 0; i < count; i++) {
    const p = from + i;
    into[i] = (w[p >>> 5] >>> (p & 31)) & 1;
  }
}

function nextPow2(v: number): number {
  let L = 1;
  while (L < v) L <<= 1;
  return L;
}
