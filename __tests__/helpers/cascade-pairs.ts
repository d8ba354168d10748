/**
 * Inputs for Cascade tests and benches: Alice's key and Bob's copy with an exact number of errors,
 * and 32-byte seeds, all from a (seeded) RandomSource so runs repeat.
 */
import { BitArray } from "@/lib/qkd/bits";
import { randomBelow, type RandomSource } from "@/lib/qkd/rng";

export function seedFrom(rng: RandomSource): Uint8Array {
  const s = new Uint8Array(32);
  rng.fill(s);
  return s;
}

/** Alice's key and Bob's copy with exactly round(q·n) errors at random positions. */
export function exactErrorPair(n: number, q: number, rng: RandomSource): { a: BitArray; b: BitArray; errors: number } {
  const a = BitArray.random(n, rng);
  const b = a.clone();
  const target = Math.round(q * n);
  const hit = new Uint8Array(n);
  let errors = 0;
  while (errors < target) {
    const i = randomBelow(rng, n);
    if (!hit[i]) {
      hit[i] = 1;
      b.flip(i);
      errors++;
    }
  }
  return { a, b, errors };
}
