/**
 * Argon2id parameters for passphrase-protected key backups (lib/client/argon2.ts runs the function), kept apart
 * so code that only reads a blob's header does not pull in the WASM.
 *
 * m = 64 MiB, t = 3, p = 1: RFC 9106 §4's second recommended option ("if much less memory is
 * available": 64 MiB, t = 3), with one lane instead of its four. hash-wasm computes in one thread,
 * so four lanes would cost the same per guess here while letting an attacker split each guess over
 * four cores. docs/security.md states the measured cost.
 */
import { CryptoError } from "./errors";

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export const ARGON2_DEFAULT: Argon2Params = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 };

/**
 * Bounds a stored header may ask for: a blob (which the server could have replaced) must not make
 * a browser allocate gigabytes or spin for minutes, nor derive a key with trivially weak settings.
 */
export const ARGON2_BOUNDS = { memoryKiB: [8 * 1024, 256 * 1024], iterations: [1, 10], parallelism: [1, 4] } as const;

export function checkArgon2Params(p: Argon2Params): void {
  for (const k of ["memoryKiB", "iterations", "parallelism"] as const) {
    const [lo, hi] = ARGON2_BOUNDS[k];
    if (!Number.isInteger(p[k]) || p[k] < lo || p[k] > hi) throw new CryptoError("bad-encoding", `Argon2id ${k} out of bounds`);
  }
}
