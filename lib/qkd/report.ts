/**
 * The structured report of a local run: what each stage produced, what was disclosed, the
 * finite-key arithmetic, what Eve learned (simulation only) and the time each stage took.
 */
import { BitArray } from "./bits";
import type { Alice } from "./alice";
import type { Bob } from "./bob";
import { ChannelParams, expectedQber, QuantumChannel } from "./channel";
import { asymptoticKeyFraction, binaryEntropy } from "./entropy";
import { eveInformationBound, securityCost } from "./finite-key";
import { AbortInfo, QkdParams, Stage, STAGES } from "./party";
import { complement } from "./sift";
import { privacyAmplify } from "./verify";

export interface QkdReport {
  ok: boolean;
  abort: (AbortInfo & { party: "alice" | "bob" }) | null;
  params: ChannelParams & { qubits: number; cascadeVariant: string; epsSec: number; epsCor: number; qberThreshold: number };
  qubitsSent: number;
  detected: number;
  sifted: number;
  testSampleSize: number;
  keyBits: number;
  qber: {
    expected: number;
    sampleErrors: number;
    estimate: number;
    interval95: [number, number];
    mu: number;
    /** Q + μ, the value that enters the finite-key length. */
    upper: number;
    /** True error rate of the key bits before reconciliation (simulation only). */
    actual: number | null;
  } | null;
  cascade: {
    variant: string;
    errorsCorrected: number | null;
    /** True errors in the key before Cascade (simulation only). */
    actualErrors: number | null;
    /** Bits still wrong after Cascade, before verification (simulation only). */
    residualErrors: number | null;
    disclosedBits: number;
    roundTrips: number;
    /** disclosed / (n·h(Q)) with Q the true key error rate (as cascade-cpp reports it). */
    fEC: number | null;
    /** disclosed / (n·h(Q̂)) with Q̂ the sample estimate. */
    fECEstimated: number | null;
  } | null;
  verification: { hashBits: number; passed: boolean | null } | null;
  finiteKey: {
    leakEC: number | null;
    securityCostBits: number;
    ell: number | null;
    /** ℓ / sifted bits. */
    keyFraction: number;
    /** 1 − 2h(Q) at the expected QBER (asymptotic, ideal error correction). */
    asymptoticFraction: number;
  };
  finalKeyLength: number;
  eve: {
    fraction: number;
    intercepted: number;
    /** On the sifted key: positions where Eve measured in Alice's basis and so knows the bit. */
    siftedKnownBits: number;
    siftedKnownFraction: number;
    /** The same among the n key bits that enter privacy amplification. */
    keyKnownBits: number;
    /** Her information before amplification, bounded by known bits + every disclosed parity. */
    keyInformationBound: number;
    /**
     * Final key: bound from ε_sec-secrecy (Alicki–Fannes–Winter), in bits; and, when computed, the
     * fraction of final-key bits her best simulated guess (her measurements hashed with the public
     * seed) gets right — ≈ 0.5 means she knows nothing.
     */
    finalKeyInformationBound: number;
    finalKeyGuessAgreement: number | null;
  };
  timings: Record<Stage, number> & { channel: number; total: number };
  traffic: { messages: number; bytesAliceToBob: number; bytesBobToAlice: number };
  keys: { alice: BitArray | null; bob: BitArray | null; identical: boolean };
}

export interface ReportInput {
  alice: Alice;
  bob: Bob;
  channel: QuantumChannel;
  channelParams: ChannelParams;
  params: QkdParams;
  traffic: QkdReport["traffic"];
  eveFinalKeyGuess?: boolean;
  t0: number;
}

export function buildReport({ alice, bob, channel, channelParams, params, traffic, eveFinalKeyGuess, t0 }: ReportInput): QkdReport {
  const A = alice.result,
    B = bob.result;
  const ok = A.status === "done" && B.status === "done";
  // The abort detected first is the one raised by a party itself ("self").
  const abort =
    A.abort?.by === "self"
      ? { ...A.abort, party: "alice" as const }
      : B.abort?.by === "self"
        ? { ...B.abort, party: "bob" as const }
        : A.abort
          ? { ...A.abort, party: "alice" as const }
          : B.abort
            ? { ...B.abort, party: "bob" as const }
            : null;
  const est = B.stats.estimate ?? A.stats.estimate;
  const keyA = alice.diagnostics?.key ?? null,
    keyB = bob.diagnostics?.key ?? null;
  const reconciled = bob.diagnostics?.reconciled ?? null;
  const n = keyA?.length ?? 0;
  const actualErrors = keyA && keyB ? keyA.hamming(keyB) : null;
  const actualQ = actualErrors !== null && n > 0 ? actualErrors / n : null;
  const cs = B.stats.cascade;
  const sifted = B.stats.sifted ?? A.stats.sifted ?? 0;
  const ell = ok ? A.stats.ell! : 0;

  const fec = (q: number | null) => (cs && q !== null && q > 0 && q < 0.5 && n > 0 ? cs.disclosedBits / (n * binaryEntropy(q)) : null);

  // Eve (simulation): map her per-qubit record onto the sifted key and the key bits.
  const eveRec = channel.eveRecord(params.qubits);
  const tr = alice.transcript;
  let siftedKnown = 0,
    keyKnown = 0,
    guessAgreement: number | null = null;
  let eveKeyGuess: BitArray | null = null;
  if (tr.detected && tr.match) {
    const knownSifted = eveRec.knows.select(tr.detected).select(tr.match);
    siftedKnown = knownSifted.popcount();
    if (tr.sample) {
      const keep = complement(tr.sample);
      keyKnown = knownSifted.select(keep).popcount();
      eveKeyGuess = eveRec.guess.select(tr.detected).select(tr.match).select(keep);
    }
  }
  const leak = A.stats.leakEC ?? B.stats.leakEC;
  const wantGuess = eveFinalKeyGuess ?? n <= 1 << 18;
  if (ok && wantGuess && eveKeyGuess && tr.paSeed && A.key && params.qubits > 0 && channelParams.eve > 0) {
    const g = privacyAmplify(eveKeyGuess, tr.paSeed, ell);
    guessAgreement = 1 - g.hamming(A.key) / ell;
  }

  const timings = {} as Record<Stage, number> & { channel: number; total: number };
  for (const s of STAGES) timings[s] = A.timings[s] + B.timings[s];
  timings.channel = B.timings.qubits;
  timings.total = performance.now() - t0;

  const qExp = expectedQber(channelParams);
  return {
    ok,
    abort,
    params: {
      ...channelParams,
      qubits: params.qubits,
      cascadeVariant: params.cascadeVariant,
      epsSec: params.epsSec,
      epsCor: params.epsCor,
      qberThreshold: params.qberThreshold,
    },
    qubitsSent: params.qubits,
    detected: B.stats.detected ?? 0,
    sifted,
    testSampleSize: est?.sampleSize ?? 0,
    keyBits: n,
    qber: est
      ? { expected: qExp, sampleErrors: est.sampleErrors, estimate: est.qber, interval95: est.interval95, mu: est.mu, upper: est.qberUpper, actual: actualQ }
      : null,
    cascade: cs
      ? {
          variant: params.cascadeVariant,
          errorsCorrected: cs.errorsCorrected,
          actualErrors,
          residualErrors: reconciled && keyA ? reconciled.hamming(keyA) : null,
          disclosedBits: cs.disclosedBits,
          roundTrips: cs.roundTrips,
          fEC: fec(actualQ),
          fECEstimated: fec(est?.qber ?? null),
        }
      : null,
    verification: B.stats.verifyBits !== null ? { hashBits: B.stats.verifyBits, passed: B.stats.verified } : null,
    finiteKey: {
      leakEC: leak,
      securityCostBits: securityCost(params.epsSec, params.epsCor),
      ell: A.stats.ell ?? B.stats.ell,
      keyFraction: sifted > 0 ? ell / sifted : 0,
      asymptoticFraction: asymptoticKeyFraction(qExp),
    },
    finalKeyLength: ell,
    eve: {
      fraction: channelParams.eve,
      intercepted: eveRec.intercepted.popcount(),
      siftedKnownBits: siftedKnown,
      siftedKnownFraction: sifted > 0 ? siftedKnown / sifted : 0,
      keyKnownBits: keyKnown,
      keyInformationBound: Math.min(n, keyKnown + (leak ?? 0)),
      finalKeyInformationBound: ok ? eveInformationBound(ell, params.epsSec) : 0,
      finalKeyGuessAgreement: guessAgreement,
    },
    timings,
    traffic,
    keys: { alice: A.key, bob: B.key, identical: ok && A.key !== null && B.key !== null && A.key.equals(B.key) },
  };
}
