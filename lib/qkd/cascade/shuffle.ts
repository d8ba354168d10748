/**
 * Cascade's public per-pass shuffles: a Fisher–Yates permutation driven by xoshiro128** (rng.ts),
 * keyed by the 32-byte seed Bob sends and the pass number, so both parties derive the same one.
 * Not secret. Pass 0 uses no permutation (the identity, as in the original protocol).
 */
import { BitArray } from "../bits";
import { fmix32, xoshiro128ss } from "../rng";

// Module-scope aliases: global lookups are slow inside vm contexts (Jest), and so are calls through
// an imported binding (a property of the compiled module object); both sit in the hot loop.
const { imul, floor } = Math;
const next = xoshiro128ss;

/** Permutation of pass p: perm[q] = original index at permuted position q. */
export function cascadePermutation(seed: Uint8Array, pass: number, n: number): Uint32Array {
  const w = new Uint32Array(8);
  for (let i = 0; i < 32; i++) w[i >>> 2] |= seed[i] << ((i & 3) * 8);
  // xoshiro128** state: each word mixes the pass number with all eight seed words.
  const st = new Uint32Array(4);
  for (let j = 0; j < 4; j++) {
    let h = fmix32((0x9e3779b9 * (j + 1)) ^ imul(pass + 1, 0x632be5ab));
    for (let i = 0; i < 8; i++) h = fmix32((h ^ w[(i + 2 * j) & 7]) + 0x7f4a7c15 * (i + 1));
    st[j] = h;
  }
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const r = next(st);
    const m = i + 1;
    let j: number;
    if (m <= 0x200000) {
      j = floor((r * m) / 4294967296); // exact: r·m < 2^53
    } else {
      // 53 random bits (this word's 32, the next word's top 21) for a uniform index below m.
      j = floor(((r * 2097152 + (next(st) >>> 11)) / 9007199254740992) * m);
    }
    const x = perm[i];
    perm[i] = perm[j];
    perm[j] = x;
  }
  return perm;
}

/** The bits of `src` in the order of `perm` (out[q] = src[perm[q]]). */
export function permuteBits(src: BitArray, perm: Uint32Array): BitArray {
  const out = new BitArray(src.length);
  const sw = src.words,
    ow = out.words;
  for (let q = 0; q < perm.length; q++) {
    const i = perm[q];
    if ((sw[i >>> 5] >>> (i & 31)) & 1) ow[q >>> 5] |= 1 << (q & 31);
  }
  return out;
}
