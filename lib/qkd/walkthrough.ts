/**
 * A BB84 session small enough to read qubit by qubit (the lab's step-by-step view), computed with
 * the engine's own pieces in the engine's order of random draws: for a seed s it sees exactly the
 * qubits, bases, channel outcomes, test sample, Cascade seed and hash seeds that `runLocal({ seed: s })`
 * sees (the unit test replays both and compares the messages on the wire).
 *
 * Where a handful of bits cannot honour the real security parameters it says so rather than
 * pretend: the finite-key bound of finite-key.ts is computed and shown, and when it leaves no key
 * (always, below ~10^4 qubits) verification and privacy amplification run with an illustrative
 * short hash and output length, flagged `illustrative`.
 */
import { BitArray } from "./bits";
import { randomBits } from "./alice";
import { CascadeProtocolError, CascadeVariant, DEFAULT_CASCADE_VARIANT, runCascadeLocal } from "./cascade";
import { QuantumChannel } from "./channel";
import { binaryEntropy } from "./entropy";
import { cascadeQber, evaluateSample } from "./estimate";
import {
  DEFAULT_EPS_COR,
  DEFAULT_EPS_SEC,
  DEFAULT_QBER_THRESHOLD,
  DEFAULT_SAMPLE_DESIGN,
  finiteKeyLength,
  optimalSampleSize,
  verificationHashBits,
} from "./finite-key";
import { SESSION_ID_BYTES } from "./messages";
import { deriveSeed, RandomStream, seededRandom } from "./rng";
import { basisMatch, complement, randomSubsetMask, siftBits } from "./sift";
import { privacyAmplify, verificationHash } from "./verify";

/** Qubit counts the step-by-step view shows (a table row each). */
export const WALKTHROUGH_MIN_QUBITS = 8;
export const WALKTHROUGH_MAX_QUBITS = 64;
/** The library accepts more (the engine comparison uses a full-size session). */
export const WALKTHROUGH_LIMIT = 1 << 16;
/** Verification hash length used when the real one (⌈log2 1/ε_cor⌉ = 50 bits) would exceed the key. */
export const ILLUSTRATIVE_HASH_BITS = 4;

export interface WalkthroughOptions {
  qubits: number;
  seed: number;
  /** Channel bit error rate e. */
  noise?: number;
  /** Fraction of qubits Eve intercepts and resends. */
  eve?: number;
  /** Probability a photon is lost. */
  loss?: number;
  cascade?: CascadeVariant;
  epsSec?: number;
  epsCor?: number;
}

/** Rectilinear (+: 0°/90°) or diagonal (×: 45°/135°). */
export type Basis = "+" | "x";
/** Polarisation angle in degrees of a bit in a basis. */
export type Polarisation = 0 | 90 | 45 | 135;

export function polarisation(bit: number, basis: Basis): Polarisation {
  return basis === "+" ? (bit ? 90 : 0) : bit ? 135 : 45;
}

export interface QubitRow {
  index: number;
  aliceBit: number;
  aliceBasis: Basis;
  sent: Polarisation;
  /** Present when Eve intercepted this qubit. */
  eve: { basis: Basis; result: number; resent: Polarisation } | null;
  bobBasis: Basis;
  /** Bob's detector clicked (a lost photon gives no result). */
  detected: boolean;
  bobResult: number | null;
  /** Detected and Alice's basis = Bob's: the bit survives sifting. */
  basesMatch: boolean;
  /** Position in the sifted key, or null. */
  siftedIndex: number | null;
  /** Sifted bit revealed in the test sample. */
  inSample: boolean;
  /** Position in the key that goes on to reconciliation, or null. */
  keyIndex: number | null;
  /** Sifted and Alice's bit ≠ Bob's. */
  error: boolean;
}

export interface Walkthrough {
  params: { qubits: number; seed: number; noise: number; eve: number; loss: number; cascade: CascadeVariant; epsSec: number; epsCor: number };
  rows: QubitRow[];
  detected: number;
  sifted: { count: number; errors: number };
  sample: { size: number; errors: number; qber: number; interval95: [number, number]; abortsAtThreshold: boolean };
  key: { alice: number[]; bob: number[]; errors: number[] };
  reconciliation: {
    /** Bob's key after Cascade (null when Cascade gave up). */
    bob: number[] | null;
    disclosedBits: number;
    roundTrips: number;
    errorsCorrected: number;
    residualErrors: number | null;
    failure: string | null;
  };
  verification: { hashBits: number; realHashBits: number; alice: number[]; bob: number[]; passed: boolean; illustrative: boolean } | null;
  amplification: {
    /** The engine's finite-key bound for this key (TLGR 2012; ≤ 0 means a real session stops here). */
    realEll: number;
    mu: number;
    securityCostBits: number;
    ell: number;
    alice: number[];
    bob: number[];
    identical: boolean;
    illustrative: boolean;
    /** Key bits Eve measured in Alice's basis (she knows them before amplification). */
    eveKnownKeyBits: number;
  } | null;
}

const basisOf = (b: number): Basis => (b ? "x" : "+");
const bitsOf = (a: BitArray): number[] => Array.from({ length: a.length }, (_, i) => a.get(i));

export function validateWalkthrough(o: WalkthroughOptions): void {
  if (!(Number.isInteger(o.qubits) && o.qubits >= WALKTHROUGH_MIN_QUBITS && o.qubits <= WALKTHROUGH_LIMIT))
    throw new RangeError(`walkthrough: qubits must be an integer in [${WALKTHROUGH_MIN_QUBITS}, ${WALKTHROUGH_LIMIT}]`);
  if (!(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff)) throw new RangeError("walkthrough: seed must be an integer in [0, 2^32)");
}

/**
 * Test-sample size: the engine's optimum (optimalSampleSize) when it leaves at least half of the
 * sifted bits as key, which it does from a few hundred sifted bits on; on a toy key that optimum is
 * "reveal all but one bit", so a quarter of the sifted bits is shown instead.
 */
export function walkthroughSampleSize(N: number, epsSec: number, epsCor: number): number {
  if (N < 2) return 0;
  const k = optimalSampleSize(N, { epsSec, epsCor, ...DEFAULT_SAMPLE_DESIGN });
  if (2 * k <= N) return k;
  return Math.min(N - 1, Math.max(1, Math.round(N / 4)));
}

export function runWalkthrough(opts: WalkthroughOptions): Walkthrough {
  validateWalkthrough(opts);
  const qubits = opts.qubits;
  const noise = opts.noise ?? 0.02,
    eve = opts.eve ?? 0,
    loss = opts.loss ?? 0;
  const cascade = opts.cascade ?? DEFAULT_CASCADE_VARIANT;
  const epsSec = opts.epsSec ?? DEFAULT_EPS_SEC,
    epsCor = opts.epsCor ?? DEFAULT_EPS_COR;
  // The same three independent streams as runLocal({ seed }): Alice, Bob, channel.
  const rA = new RandomStream(seededRandom(deriveSeed(opts.seed, 0)));
  const rB = new RandomStream(seededRandom(deriveSeed(opts.seed, 1)));
  const channel = new QuantumChannel({ noise, eve, loss, darkCount: 0 }, seededRandom(deriveSeed(opts.seed, 2)));

  // 1. Alice: session id, then her bits and bases (Alice.start).
  rA.bytesOf(SESSION_ID_BYTES);
  const aBits = randomBits(rA, qubits);
  const aBases = randomBits(rA, qubits);
  // 2. Bob picks a basis per qubit; the channel (with Eve) delivers his results (Bob.onQubits, one chunk).
  const nw = (qubits + 31) >>> 5;
  const bobBasesW = rB.words(new Uint32Array(nw));
  if (qubits & 31) bobBasesW[nw - 1] &= ((1 << (qubits & 31)) >>> 0) - 1;
  const out = channel.transmit(0, qubits, aBits.words, aBases.words, bobBasesW);
  const detected = new BitArray(qubits, out.detected);
  const bBits = new BitArray(qubits, out.bits);
  const bBases = new BitArray(qubits, bobBasesW);
  const eveRec = channel.eveRecord(qubits);

  // 3. Sifting (Alice.onDetect).
  const match = basisMatch(aBases.select(detected), bBases.select(detected));
  const siftedA = siftBits(aBits, detected, match);
  const siftedB = siftBits(bBits, detected, match);
  const N = siftedA.length;
  // 4. Test sample (Alice's stream, as in the engine) and its error rate.
  const k = walkthroughSampleSize(N, epsSec, epsCor);
  const sample = N >= 2 ? randomSubsetMask(N, k, rA) : new BitArray(N);
  const keep = complement(sample);
  const sampleErrors = siftedA.select(sample).hamming(siftedB.select(sample));
  const keyA = siftedA.select(keep),
    keyB = siftedB.select(keep);
  const n = keyA.length;
  const est = evaluateSample(n, k, sampleErrors, { epsSec, epsCor, qberThreshold: DEFAULT_QBER_THRESHOLD });

  // Rows: one per qubit, with where it ended up.
  const rows: QubitRow[] = [];
  let d = 0,
    s = 0,
    key = 0;
  for (let i = 0; i < qubits; i++) {
    const aliceBit = aBits.get(i),
      aliceBasis = basisOf(aBases.get(i));
    let eveRow: QubitRow["eve"] = null;
    if (eveRec.intercepted.get(i)) {
      const basis = eveRec.knows.get(i) ? aliceBasis : aliceBasis === "+" ? "x" : "+";
      const result = eveRec.guess.get(i);
      eveRow = { basis, result, resent: polarisation(result, basis) };
    }
    const isDetected = detected.get(i) === 1;
    let basesMatch = false,
      siftedIndex: number | null = null,
      inSample = false,
      keyIndex: number | null = null;
    if (isDetected) {
      basesMatch = match.get(d) === 1;
      d++;
      if (basesMatch) {
        siftedIndex = s;
        inSample = sample.get(s) === 1;
        if (!inSample) keyIndex = key++;
        s++;
      }
    }
    rows.push({
      index: i,
      aliceBit,
      aliceBasis,
      sent: polarisation(aliceBit, aliceBasis),
      eve: eveRow,
      bobBasis: basisOf(bBases.get(i)),
      detected: isDetected,
      bobResult: isDetected ? bBits.get(i) : null,
      basesMatch,
      siftedIndex,
      inSample,
      keyIndex,
      error: siftedIndex !== null && aliceBit !== bBits.get(i),
    });
  }
  const keyErrors: number[] = [];
  for (let i = 0; i < n; i++) if (keyA.get(i) !== keyB.get(i)) keyErrors.push(i);

  const result: Walkthrough = {
    params: { qubits, seed: opts.seed, noise, eve, loss, cascade, epsSec, epsCor },
    rows,
    detected: detected.popcount(),
    sifted: { count: N, errors: siftedA.hamming(siftedB) },
    sample: { size: k, errors: sampleErrors, qber: est.qber, interval95: est.interval95, abortsAtThreshold: est.qber > DEFAULT_QBER_THRESHOLD },
    key: { alice: bitsOf(keyA), bob: bitsOf(keyB), errors: keyErrors },
    reconciliation: { bob: null, disclosedBits: 0, roundTrips: 0, errorsCorrected: 0, residualErrors: null, failure: null },
    verification: null,
    amplification: null,
  };
  if (n === 0 || k === 0) {
    result.reconciliation.failure = "no key bits left after the test sample";
    return result;
  }

  // 5. Reconciliation: Cascade with Bob's public seed (Bob.onSift), on the real wire format.
  const cascadeSeed = rB.bytesOf(32);
  let reconciled: BitArray;
  try {
    const r = runCascadeLocal(keyA, keyB, { variant: cascade, qber: cascadeQber(est), seed: cascadeSeed, sampleSize: k });
    reconciled = r.bits;
    Object.assign(result.reconciliation, {
      bob: bitsOf(r.bits),
      disclosedBits: r.disclosedBits,
      roundTrips: r.roundTrips,
      errorsCorrected: r.errorsCorrected,
      residualErrors: r.bits.hamming(keyA),
    });
  } catch (e) {
    if (!(e instanceof CascadeProtocolError)) throw e;
    result.reconciliation.failure = e.message;
    return result;
  }

  // 6. Verification and 7. privacy amplification (Alice.onCascadeDone, Bob.onVerify).
  const realT = verificationHashBits(epsCor);
  const disclosed = result.reconciliation.disclosedBits;
  const fk = finiteKeyLength({ n, k, qber: est.qber, leakEC: disclosed + realT, epsSec, epsCor });
  const real = fk.ell > 0;
  const t = real ? realT : Math.min(realT, ILLUSTRATIVE_HASH_BITS);
  const hashSeed = randomBits(rA, n + t - 1);
  const hA = verificationHash(keyA, hashSeed, t),
    hB = verificationHash(reconciled, hashSeed, t);
  const passed = hA.equals(hB);
  result.verification = { hashBits: t, realHashBits: realT, alice: bitsOf(hA), bob: bitsOf(hB), passed, illustrative: !real };
  if (!passed) return result;
  // Illustrative length: what the asymptotic count leaves (n·(1 − h(Q)) minus every disclosed bit),
  // at least one bit so the hashing can be seen.
  const q = Math.min(0.5, est.qber);
  const ell = real ? fk.ell : Math.max(1, Math.min(n, Math.floor(n * (1 - binaryEntropy(q)) - disclosed - t)));
  const paSeed = randomBits(rA, n + ell - 1);
  const fA = privacyAmplify(keyA, paSeed, ell),
    fB = privacyAmplify(reconciled, paSeed, ell);
  const knownKey = eveRec.knows.select(detected).select(match).select(keep).popcount();
  result.amplification = {
    realEll: fk.ell,
    mu: fk.mu,
    securityCostBits: fk.cost,
    ell,
    alice: bitsOf(fA),
    bob: bitsOf(fB),
    identical: fA.equals(fB),
    illustrative: !real,
    eveKnownKeyBits: knownKey,
  };
  return result;
}
