/**
 * Sifting and test-sample selection.
 *
 * Bob announces which slots clicked and his bases there; Alice answers with the basis-match mask;
 * both keep the matching positions (≈ ½ of the detections with unbiased bases, Bennett & Brassard
 * 1984). Alice then picks the test sample: a uniformly random k-subset of the sifted positions.
 */
import { BitArray } from "./bits";
import { RandomStream } from "./rng";

/** 1 where Alice's basis (at Bob's detected slots) equals Bob's. */
export function basisMatch(aliceBasesAtDetected: BitArray, bobBases: BitArray): BitArray {
  const x = aliceBasesAtDetected.xor(bobBases).not();
  return new BitArray(x.length, x.words); // re-clears the tail bits set by not()
}

/** The sifted bits: `bits` at the detected slots, then at the basis-matching ones. */
export function siftBits(bits: BitArray, detected: BitArray, match: BitArray): BitArray {
  return bits.select(detected).select(match);
}

/**
 * Uniform random k-subset of [0, N) as a mask (Floyd's algorithm, Bentley & Floyd, CACM 30(9),
 * 1987): for j = N−k … N−1 draw t ∈ [0, j]; take t unless already taken, else take j. O(k) draws.
 */
export function randomSubsetMask(N: number, k: number, r: RandomStream): BitArray {
  if (!(Number.isInteger(k) && k >= 0 && k <= N)) throw new RangeError("randomSubsetMask: need 0 ≤ k ≤ N");
  if (2 * k > N) return complement(randomSubsetMask(N, N - k, r));
  const mask = new BitArray(N);
  for (let j = N - k; j < N; j++) {
    const t = r.below(j + 1);
    if (mask.get(t)) mask.set(j, 1);
    else mask.set(t, 1);
  }
  return mask;
}

export function complement(mask: BitArray): BitArray {
  const x = mask.not();
  return new BitArray(x.length, x.words);
}
