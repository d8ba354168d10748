import { BitArray } from "@/lib/qkd/bits";
import { seededRandom } from "@/lib/qkd/rng";
import { toeplitzHash, toeplitzNaive, toeplitzNtt, toeplitzWordParallel } from "@/lib/qkd/toeplitz";
import { nttForward, nttInverseUnscaled, nttPointwise, canonical, powmod, NTT_PRIME } from "@/lib/qkd/ntt";

describe("Toeplitz hashing", () => {
  const rng = seededRandom(20240501);
  const shapes: [number, number][] = [
    [1, 1],
    [2, 1],
    [1, 5],
    [31, 17],
    [32, 32],
    [33, 65],
    [100, 37],
    [257, 999],
    [1000, 500],
    [1023, 1],
    [1500, 700],
    [3001, 129],
  ];

  it.each(shapes)("NTT and word-parallel equal the naive reference for n=%i, ℓ=%i", (n, ell) => {
    const x = BitArray.random(n, rng),
      s = BitArray.random(n + ell - 1, rng);
    const ref = toeplitzNaive(x, s, ell);
    expect(toeplitzNtt(x, s, ell).equals(ref)).toBe(true);
    expect(toeplitzWordParallel(x, s, ell).equals(ref)).toBe(true);
    expect(toeplitzHash(x, s, ell).equals(ref)).toBe(true);
  });

  it("tiles exactly when the problem exceeds one transform", () => {
    for (const [n, ell] of [
      [900, 400],
      [1000, 1000],
      [700, 3000],
    ] as const) {
      const x = BitArray.random(n, rng),
        s = BitArray.random(n + ell - 1, rng);
      const ref = toeplitzNaive(x, s, ell);
      expect(toeplitzNtt(x, s, ell, 256).equals(ref)).toBe(true);
      expect(toeplitzNtt(x, s, ell, 1024).equals(ref)).toBe(true);
    }
  });

  it("is exact on extreme inputs (all ones: every coefficient is as large as it gets)", () => {
    const n = 5000,
      ell = 3000;
    const x = new BitArray(n).not(),
      s = new BitArray(n + ell - 1).not();
    const xs = new BitArray(n, x.words),
      ss = new BitArray(n + ell - 1, s.words);
    expect(toeplitzNtt(xs, ss, ell).equals(toeplitzWordParallel(xs, ss, ell))).toBe(true);
  });

  it("matches the word-parallel method on a large non-power-of-two input", () => {
    const n = 200_003,
      ell = 97;
    const x = BitArray.random(n, rng),
      s = BitArray.random(n + ell - 1, rng);
    expect(toeplitzNtt(x, s, ell).equals(toeplitzWordParallel(x, s, ell))).toBe(true);
  });

  it("is linear: T(x ⊕ y) = T(x) ⊕ T(y)", () => {
    const n = 10_000,
      ell = 4_000;
    const x = BitArray.random(n, rng),
      y = BitArray.random(n, rng),
      s = BitArray.random(n + ell - 1, rng);
    expect(toeplitzNtt(x.xor(y), s, ell).equals(toeplitzNtt(x, s, ell).xor(toeplitzNtt(y, s, ell)))).toBe(true);
  });

  it("rejects a seed of the wrong length", () => {
    const x = BitArray.random(10, rng);
    expect(() => toeplitzHash(x, BitArray.random(10, rng), 5)).toThrow(RangeError);
  });
});

describe("NTT mod 23068673", () => {
  it("computes an exact cyclic convolution", () => {
    const L = 64,
      rng = seededRandom(3);
    const a = new Float64Array(L),
      b = new Float64Array(L);
    const ra = new Uint8Array(L),
      rb = new Uint8Array(L);
    rng.fill(ra);
    rng.fill(rb);
    for (let i = 0; i < L; i++) {
      a[i] = ra[i];
      b[i] = rb[i];
    }
    const ref = new Array(L).fill(0);
    for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) ref[(i + j) % L] += a[i] * b[j];
    nttForward(a);
    nttForward(b);
    nttPointwise(a, b);
    nttInverseUnscaled(a);
    const invL = powmod(L, NTT_PRIME - 2);
    for (let i = 0; i < L; i++) expect(canonical(canonical(a[i]) * invL)).toBe(ref[i] % NTT_PRIME);
  });
});
