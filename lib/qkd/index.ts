/** lib/qkd: simulated BB84 with the full post-processing chain. Pure TypeScript (browser, Worker, Node). */
export { BitArray, popcount32, parity32 } from "./bits";
export { cryptoRandom, seededRandom, deriveSeed, RandomStream, randomWords, randomBelow, randomFloat, randomPermutation } from "./rng";
export type { RandomSource } from "./rng";
export { QuantumChannel, expectedQber, bernoulliWords, DEFAULT_CHANNEL, validateChannelParams } from "./channel";
export type { ChannelParams, ChannelOutput } from "./channel";
export { binaryEntropy, binaryEntropyClamped, asymptoticKeyFraction, clopperPearson, binomialCdf } from "./entropy";
export {
  finiteKeyLength,
  finiteKeyMu,
  optimalSampleSize,
  verificationHashBits,
  securityCost,
  eveInformationBound,
  DEFAULT_EPS_SEC,
  DEFAULT_EPS_COR,
  DEFAULT_QBER_THRESHOLD,
} from "./finite-key";
export type { FiniteKeyInput, FiniteKeyResult } from "./finite-key";
export { toeplitzHash, toeplitzNtt, toeplitzNaive, toeplitzWordParallel } from "./toeplitz";
export { basisMatch, siftBits, randomSubsetMask } from "./sift";
export { evaluateSample, cascadeQber } from "./estimate";
export type { Estimate } from "./estimate";
export { verificationHash, privacyAmplify } from "./verify";
export { encodeMessage, decodeMessage, MsgType, MessageError, ABORT_CODES, cascadeResponseParityCount } from "./messages";
export type { Message, Payload, AbortCode } from "./messages";
export { Party, DEFAULT_PARAMS, STAGES, resolveParams } from "./party";
export type { QkdParams, Stage, PartyStatus, PartyResult, AbortInfo } from "./party";
export { Alice } from "./alice";
export type { AliceOptions } from "./alice";
export { Bob } from "./bob";
export type { BobOptions } from "./bob";
export { runLocal } from "./run";
export { planKey, MIN_USABLE_KEY_BITS } from "./plan";
export type { KeyPlan } from "./plan";
export type { RunOptions } from "./run";
export type { QkdReport } from "./report";
export { CASCADE_VARIANTS, CASCADE_VARIANT_NAMES, DEFAULT_CASCADE_VARIANT, runCascadeLocal } from "./cascade";
export type { CascadeVariant } from "./cascade";
export { suspectEavesdropper, eavesdropperQberLimit, isQberAbort } from "./eavesdropper";
export {
  DEFAULT_LINK,
  PAPER_BLOCK_SIZES,
  MIN_RATE,
  validateLink,
  fibreTransmittance,
  systemTransmittance,
  gain,
  errorProbability,
  qberAt,
  keyRateAt,
  keyRateWithSettings,
  keyRateCurve,
  maxDistance,
} from "./decoy";
export type { LinkParams, DecoySettings, KeyRatePoint, KeyRateCurve, Progress, OptimiseOptions } from "./decoy";
