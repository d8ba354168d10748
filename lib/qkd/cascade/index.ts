/**
 * Cascade error reconciliation (Brassard & Salvail 1993) with the optimised block-size schedules
 * studied by Yan et al. (2008) and Martinez-Mateo, Pacher, Peev, Ciurana & Martin (2015,
 * "Demystifying the information reconciliation protocol Cascade"), named as in Bruno Rijsman's
 * cascade-cpp and laid out like cascade-python:
 *
 *   variants.ts   variant names and block-size schedules (all lib/protocol needs)
 *   schedule.ts   configuration, the schedule both parties derive from it, result, error type
 *   bounds.ts     the most corrections and round trips an honest run needs (abort beyond them)
 *   shuffle.ts    the public per-pass permutations (xoshiro128** from ../rng.ts)
 *   wire.ts       request / response format (the shared codec, ../wire.ts)
 *   alice.ts      Alice answers parity queries; bob.ts  Bob drives the binary searches
 *   run.ts        both parties in one process
 *
 * Bob (noisy key) drives; Alice (reference key) only answers parity queries. Each pass p works in
 * its own permuted index space, derived by both sides from the public 32-byte seed (pass 0 is the
 * identity, as in the original protocol). Every parity bit Alice returns is counted in
 * `disclosedBits`.
 */
export { CASCADE_VARIANTS, CASCADE_VARIANT_NAMES, CASCADE_VARIANT_SPECS, DEFAULT_CASCADE_VARIANT } from "./variants";
export type { CascadeRoundPolicy, CascadeVariant, CascadeVariantSpec } from "./variants";
export { CascadeProtocolError, cascadeSchedule } from "./schedule";
export { cascadeBounds } from "./bounds";
export type { CascadeBounds } from "./bounds";
export type { CascadeConfig, CascadeResult, CascadeSchedule } from "./schedule";
export { cascadePermutation } from "./shuffle";
export { CascadeAlice } from "./alice";
export { CascadeBob } from "./bob";
export { runCascadeLocal } from "./run";
