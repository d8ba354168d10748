/**
 * Randomness for the QKD engine. Production code uses crypto.getRandomValues (Web Crypto, available
 * in browsers, Web Workers and Node ≥ 19); tests inject a seeded generator so runs are reproducible.
 * Never Math.random.
 */
// Module-local aliases: under a vm context (Jest) every global lookup in a hot loop is slow.
const { imul } = Math;
export interface RandomSource {
  /** Fill `out` with uniformly random bytes. */
  fill(out: Uint8Array): void;
}

/** Web Crypto's CSPRNG. getRandomValues accepts at most 65,536 bytes per call. */
export const cryptoRandom: RandomSource = {
  fill(out: Uint8Array) {
    for (let off = 0; off < out.length; off += 65536) {
      globalThis.crypto.getRandomValues(out.subarray(off, Math.min(out.length, off + 65536)));
    }
  },
};

/** MurmurHash3's 32-bit finalizer (fmix32): a bijective avalanche mix of one word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * One step of xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
 * 2018): advances the state s[0..3] in place (never all zero) and returns the next 32-bit output.
 * Shared by seededRandom and Cascade's public shuffles (cascade/shuffle.ts), which must agree bit
 * for bit with every earlier run.
 */
export function xoshiro128ss(s: Uint32Array): number {
  const b = s[1];
  const r = imul(rotl(imul(b, 5), 7), 9) >>> 0;
  const t = b << 9;
  const c = s[2] ^ s[0],
    d = s[3] ^ b;
  s[1] = b ^ c;
  s[0] ^= d;
  s[2] = c ^ t;
  s[3] = rotl(d, 11);
  return r;
}
function rotl(v: number, k: number) {
  return (v << k) | (v >>> (32 - k));
}

/**
 * Deterministic generator for tests and reproducible simulations only (xoshiro128**, seeded by
 * SplitMix32). Not for keys.
 */
export function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    return fmix32(x);
  };
  const state = Uint32Array.of(splitmix(), splitmix(), splitmix(), splitmix());
  return {
    fill(out: Uint8Array) {
      const n4 = out.length & ~3;
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < n4; i += 4) view.setUint32(i, xoshiro128ss(state), true);
      if (n4 < out.length) {
        const r = xoshiro128ss(state);
        for (let i = n4; i < out.length; i++) out[i] = (r >>> ((i - n4) * 8)) & 0xff;
      }
    },
  };
}

/** Uniform 32-bit words. */
export function randomWords(rng: RandomSource, n: number): Uint32Array {
  const out = new Uint32Array(n);
  rng.fill(new Uint8Array(out.buffer));
  return out;
}

/** Uniform integer in [0, n) without modulo bias (rejection sampling), n ≤ 2^32. */
export function randomBelow(rng: RandomSource, n: number): number {
  if (!(n > 0 && n <= 0x1_0000_0000)) throw new RangeError("randomBelow: n out of range");
  const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
  const buf = new Uint32Array(1);
  const bytes = new Uint8Array(buf.buffer);
  for (;;) {
    rng.fill(bytes);
    if (buf[0] < limit) return buf[0] % n;
  }
}

/** Uniform float in [0, 1) with 53 random bits. */
export function randomFloat(rng: RandomSource): number {
  const w = randomWords(rng, 2);
  return ((w[0] >>> 5) * 67108864 + (w[1] >>> 6)) / 9007199254740992;
}

/** Fisher–Yates shuffle of 0..n-1 (used for Cascade permutations and test-sample selection). */
export function randomPermutation(rng: RandomSource, n: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomBelow(rng, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Buffered reader over a RandomSource: one `fill` call per 16 KiB instead of one per draw, so
 * per-qubit sampling (geometric gaps, sample selection) stays fast with crypto.getRandomValues.
 */
export class RandomStream {
  private readonly buf: Uint32Array;
  private readonly bytes: Uint8Array;
  private pos: number;

  constructor(
    readonly source: RandomSource,
    bufferWords = 4096,
  ) {
    this.buf = new Uint32Array(bufferWords);
    this.bytes = new Uint8Array(this.buf.buffer);
    this.pos = bufferWords;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    if (this.pos === this.buf.length) {
      this.source.fill(this.bytes);
      this.pos = 0;
    }
    return this.buf[this.pos++];
  }

  /** Fill `out` with uniform words (large requests bypass the buffer). */
  words(out: Uint32Array): Uint32Array {
    if (out.length >= this.buf.length) this.source.fill(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    else for (let i = 0; i < out.length; i++) out[i] = this.u32();
    return out;
  }

  /** Uniform integer in [0, n), n ≤ 2^32, without modulo bias. */
  below(n: number): number {
    if (!(n > 0 && n <= 0x1_0000_0000)) throw new RangeError("RandomStream.below: n out of range");
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const r = this.u32();
      if (r < limit) return r % n;
    }
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  bytesOf(n: number): Uint8Array {
    const out = new Uint8Array(n);
    this.source.fill(out);
    return out;
  }
}

/** Derive an independent seeded stream for each party from one user seed (tests, CLI --seed). */
export function deriveSeed(seed: number, index: number): number {
  let z = (imul(seed >>> 0, 0x9e3779b1) ^ imul(index + 1, 0x85ebca6b)) >>> 0;
  z = imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
