/**
 * Verification and privacy amplification, both by Toeplitz hashing (a 2-universal family).
 *
 * Verification (error verification, e.g. Fung, Ma & Chau, PRA 81, 012318 (2010)): Alice sends a
 * fresh seed and her t = ⌈log2(1/ε_cor)⌉-bit hash; a 2-universal family makes two different keys
 * collide with probability ≤ 2^−t ≤ ε_cor. The t bits count as leakage.
 *
 * Privacy amplification (Bennett, Brassard, Crépeau & Maurer 1995; leftover hash lemma, Renner
 * 2005): ℓ output bits = T·key with a fresh public Toeplitz seed of n + ℓ − 1 bits.
 */
import { BitArray } from "./bits";
import { toeplitzHash, toeplitzWordParallel } from "./toeplitz";
import { verificationHashBits } from "./finite-key";

export { verificationHashBits };

export function verificationHash(key: BitArray, seed: BitArray, t: number): BitArray {
  return toeplitzWordParallel(key, seed, t);
}

export function privacyAmplify(key: BitArray, seed: BitArray, ell: number): BitArray {
  return toeplitzHash(key, seed, ell);
}
