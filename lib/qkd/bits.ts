/**
 * Bit-packed arrays: bit i lives in words[i >>> 5] at position (i & 31). Bits past `length` in the
 * last word are always zero, so word-wise popcount and XOR need no masking.
 */
import { RandomSource, randomWords } from "./rng";
// Module-local aliases: under a vm context (Jest) every global lookup in a hot loop is slow.
const { clz32, imul } = Math;

export class BitArray {
  readonly length: number;
  readonly words: Uint32Array;

  constructor(length: number, words?: Uint32Array) {
    if (!Number.isInteger(length) || length < 0) throw new RangeError("BitArray: bad length");
    this.length = length;
    const nw = (length + 31) >>> 5;
    if (words) {
      if (words.length < nw) throw new RangeError("BitArray: too few words");
      this.words = words.length === nw ? words : words.slice(0, nw);
      this.clearTail();
    } else {
      this.words = new Uint32Array(nw);
    }
  }

  static random(length: number, rng: RandomSource): BitArray {
    return new BitArray(length, randomWords(rng, (length + 31) >>> 5));
  }

  static fromBits(bits: ArrayLike<number>): BitArray {
    const b = new BitArray(bits.length);
    for (let i = 0; i < bits.length; i++) if (bits[i]) b.words[i >>> 5] |= 1 << (i & 31);
    return b;
  }

  /** Little-endian bytes: bit i is bit (i & 7) of byte i >>> 3. */
  static fromBytes(bytes: Uint8Array, length = bytes.length * 8): BitArray {
    if (length > bytes.length * 8) throw new RangeError("BitArray.fromBytes: too few bytes");
    const nw = (length + 31) >>> 5;
    const padded = new Uint8Array(nw * 4);
    padded.set(bytes.subarray(0, Math.min(bytes.length, nw * 4)));
    const words = new Uint32Array(nw);
    const dv = new DataView(padded.buffer);
    for (let i = 0; i < nw; i++) words[i] = dv.getUint32(i * 4, true);
    return new BitArray(length, words);
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array((this.length + 7) >>> 3);
    const dv = new DataView(new ArrayBuffer(this.words.length * 4));
    for (let i = 0; i < this.words.length; i++) dv.setUint32(i * 4, this.words[i], true);
    out.set(new Uint8Array(dv.buffer, 0, out.length));
    return out;
  }

  get(i: number): number {
    return (this.words[i >>> 5] >>> (i & 31)) & 1;
  }
  set(i: number, v: number): void {
    if (v) this.words[i >>> 5] |= 1 << (i & 31);
    else this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  flip(i: number): void {
    this.words[i >>> 5] ^= 1 << (i & 31);
  }

  clone(): BitArray {
    return new BitArray(this.length, this.words.slice());
  }

  xor(other: BitArray): BitArray {
    sameLength(this, other);
    const w = new Uint32Array(this.words.length);
    for (let i = 0; i < w.length; i++) w[i] = this.words[i] ^ other.words[i];
    return new BitArray(this.length, w);
  }
  and(other: BitArray): BitArray {
    sameLength(this, other);
    const w = new Uint32Array(this.words.length);
    for (let i = 0; i < w.length; i++) w[i] = this.words[i] & other.words[i];
    return new BitArray(this.length, w);
  }
  not(): BitArray {
    const w = new Uint32Array(this.words.length);
    for (let i = 0; i < w.length; i++) w[i] = ~this.words[i];
    return new BitArray(this.length, w);
  }

  popcount(): number {
    let c = 0;
    for (let i = 0; i < this.words.length; i++) c += popcount32(this.words[i]);
    return c;
  }

  /** Parity of bits [from, to). */
  parityRange(from: number, to: number): number {
    if (from >= to) return 0;
    let acc = 0;
    const fw = from >>> 5,
      tw = (to - 1) >>> 5;
    if (fw === tw) {
      acc = (this.words[fw] >>> (from & 31)) & lowMask(to - from);
    } else {
      acc = this.words[fw] >>> (from & 31);
      for (let i = fw + 1; i < tw; i++) acc ^= this.words[i];
      acc ^= this.words[tw] & lowMask(((to - 1) & 31) + 1);
    }
    return parity32(acc);
  }

  /** The bits at positions where `mask` is 1, packed in order (sifting, sample removal). */
  select(mask: BitArray): BitArray {
    sameLength(this, mask);
    const out = new BitArray(mask.popcount());
    let o = 0;
    for (let wi = 0; wi < mask.words.length; wi++) {
      let m = mask.words[wi];
      const v = this.words[wi];
      while (m !== 0) {
        const t = m & -m;
        const bit = 31 - clz32(t);
        if ((v >>> bit) & 1) out.words[o >>> 5] |= 1 << (o & 31);
        o++;
        m ^= t;
      }
    }
    return out;
  }

  equals(other: BitArray): boolean {
    if (this.length !== other.length) return false;
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== other.words[i]) return false;
    return true;
  }

  /** Number of positions where the two arrays differ. */
  hamming(other: BitArray): number {
    sameLength(this, other);
    let c = 0;
    for (let i = 0; i < this.words.length; i++) c += popcount32(this.words[i] ^ other.words[i]);
    return c;
  }

  /** Bits [from, to) as a new array. */
  slice(from: number, to: number): BitArray {
    if (from < 0 || to > this.length || from > to) throw new RangeError("BitArray.slice: bad range");
    const out = new BitArray(to - from);
    const sh = from & 31,
      base = from >>> 5;
    for (let i = 0; i < out.words.length; i++) {
      const lo = this.words[base + i] ?? 0;
      const hi = sh === 0 ? 0 : (this.words[base + i + 1] ?? 0) << (32 - sh);
      out.words[i] = sh === 0 ? lo : (lo >>> sh) | hi;
    }
    out.clearTail();
    return out;
  }

  /** Concatenation; parts whose lengths are multiples of 32 (except the last) are copied word-wise. */
  static concat(parts: BitArray[]): BitArray {
    const total = parts.reduce((s, p) => s + p.length, 0);
    const out = new BitArray(total);
    let off = 0;
    for (const p of parts) {
      if ((off & 31) === 0) out.words.set(p.words, off >>> 5);
      else for (let i = 0; i < p.length; i++) if (p.get(i)) out.words[(off + i) >>> 5] |= 1 << ((off + i) & 31);
      off += p.length;
    }
    return out;
  }

  /** Bits in reverse order (bit i of the result is bit length-1-i of this). */
  reverse(): BitArray {
    const out = new BitArray(this.length);
    const n = this.length;
    for (let wi = 0; wi < this.words.length; wi++) {
      let m = this.words[wi];
      while (m !== 0) {
        const t = m & -m;
        const j = n - 1 - ((wi << 5) + 31 - clz32(t));
        out.words[j >>> 5] |= 1 << (j & 31);
        m ^= t;
      }
    }
    return out;
  }

  static scatter(mask: BitArray, values: BitArray): BitArray {
    // Inverse of select: a length-mask.length array with values placed at mask's set positions.
    if (values.length !== mask.popcount()) throw new RangeError("BitArray.scatter: count mismatch");
    const out = new BitArray(mask.length);
    let o = 0;
    for (let wi = 0; wi < mask.words.length; wi++) {
      let m = mask.words[wi];
      while (m !== 0) {
        const t = m & -m;
        if ((values.words[o >>> 5] >>> (o & 31)) & 1) out.words[wi] |= t;
        o++;
        m ^= t;
      }
    }
    return out;
  }

  private clearTail(): void {
    const r = this.length & 31;
    if (r !== 0) this.words[this.words.length - 1] &= lowMask(r);
  }
}

function sameLength(a: BitArray, b: BitArray) {
  if (a.length !== b.length) throw new RangeError("BitArray: length mismatch");
}
function lowMask(n: number): number {
  return n >= 32 ? 0xffffffff : ((1 << n) >>> 0) - 1;
}
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
export function parity32(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}
