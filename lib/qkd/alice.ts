/**
 * Alice: prepares the qubits, answers Bob's sifting report with the basis-match mask, picks the
 * test sample, answers Cascade parity queries over her (reference) key, sends the verification hash
 * and the privacy-amplification seed, and hashes her key once Bob confirms.
 */
import { BitArray } from "./bits";
import { CascadeAlice } from "./cascade";
import { cascadeQber, evaluateSample } from "./estimate";
import { finiteKeyLength, optimalSampleSize, verificationHashBits } from "./finite-key";
import { cascadeResponseParityCount, MsgType, Payload, SESSION_ID_BYTES } from "./messages";
import { Party, QkdParams, resolveParams } from "./party";
import { cryptoRandom, RandomSource, RandomStream } from "./rng";
import { basisMatch, complement, randomSubsetMask, siftBits } from "./sift";
import { privacyAmplify, verificationHash } from "./verify";

export interface AliceOptions {
  params?: Partial<QkdParams>;
  rng?: RandomSource;
  /** 16-byte session id (random by default). */
  sessionId?: Uint8Array;
  /** Keep key bits for simulation diagnostics (see Party.diagnostics). */
  diagnostics?: boolean;
}

export class Alice extends Party {
  readonly role = "alice" as const;
  private readonly rnd: RandomStream;
  private bits: BitArray | null = null;
  private bases: BitArray | null = null;
  private key: BitArray | null = null;
  private sampleBits: BitArray | null = null;
  private cascade: CascadeAlice | null = null;
  private disclosed = 0;
  private paSeed: BitArray | null = null;
  private ell = 0;
  private readonly presetSession: Uint8Array | undefined;

  constructor(opts: AliceOptions = {}) {
    super(resolveParams(opts.params));
    this.rnd = new RandomStream(opts.rng ?? cryptoRandom);
    if (opts.sessionId && opts.sessionId.length !== SESSION_ID_BYTES) throw new RangeError("session id must be 16 bytes");
    this.presetSession = opts.sessionId;
    if (opts.diagnostics) this.diagnostics = { key: null, reconciled: null };
  }

  /** Begin the session: the Hello and every "qubits" message (the simulated quantum channel). */
  start(): Uint8Array[] {
    if (this.status !== "idle") return [];
    this.setSession(this.presetSession ?? this.rnd.bytesOf(SESSION_ID_BYTES));
    this.status = "running";
    this.stage = "qubits";
    const { qubits, chunkSize } = this.params;
    const out: Uint8Array[] = [];
    this.timed("qubits", () => {
      this.bits = randomBits(this.rnd, qubits);
      this.bases = randomBits(this.rnd, qubits);
      out.push(
        this.send({
          type: MsgType.Hello,
          hello: {
            qubits,
            chunkSize,
            epsSec: this.params.epsSec,
            epsCor: this.params.epsCor,
            qberThreshold: this.params.qberThreshold,
            cascadeVariant: this.params.cascadeVariant,
          },
        }),
      );
      for (let off = 0; off < qubits; off += chunkSize) {
        const end = Math.min(qubits, off + chunkSize);
        out.push(this.send({ type: MsgType.Qubits, offset: off, bits: this.bits.slice(off, end), bases: this.bases.slice(off, end) }));
      }
    });
    return out;
  }

  protected handle(p: Payload): Uint8Array[] {
    switch (p.type) {
      case MsgType.Detect:
        if (this.stage !== "qubits") this.unexpected(p);
        return this.onDetect(p.detected, p.bases);
      case MsgType.Estimate:
        if (this.stage !== "sifting") this.unexpected(p);
        return this.onEstimate(p.sampleBits, p.cascadeSeed);
      case MsgType.CascadeRequest:
        if (this.stage !== "cascade") this.unexpected(p);
        return this.onCascadeRequest(p.body);
      case MsgType.CascadeDone:
        if (this.stage !== "cascade") this.unexpected(p);
        return this.onCascadeDone(p.disclosedBits);
      case MsgType.Confirm:
        if (this.stage !== "verification") this.unexpected(p);
        return this.onConfirm();
      default:
        this.unexpected(p);
    }
  }

  private onDetect(detected: BitArray, bobBases: BitArray): Uint8Array[] {
    this.stage = "sifting";
    return this.timed("sifting", () => {
      this.expect(detected.length === this.params.qubits, `detection mask has ${detected.length} bits, expected ${this.params.qubits}`);
      const D = detected.popcount();
      this.expect(bobBases.length === D, `Bob sent ${bobBases.length} bases for ${D} detections`);
      const match = basisMatch(this.bases!.select(detected), bobBases);
      const sifted = siftBits(this.bits!, detected, match);
      const N = sifted.length;
      this.stats.detected = D;
      this.stats.sifted = N;
      this.transcript.detected = detected;
      this.transcript.match = match;
      if (N < 64) return this.fail("KEY_TOO_SHORT", `only ${N} sifted bits`);
      const k = optimalSampleSize(N, {
        epsSec: this.params.epsSec,
        epsCor: this.params.epsCor,
        designQber: this.params.sampleDesignQber,
        designEfficiency: this.params.sampleDesignEfficiency,
      });
      const sample = randomSubsetMask(N, k, this.rnd);
      this.transcript.sample = sample;
      this.sampleBits = sifted.select(sample);
      this.key = sifted.select(complement(sample));
      if (this.diagnostics) this.diagnostics.key = this.diagnostics.reconciled = this.key;
      this.bits = this.bases = null; // raw data no longer needed
      return [this.send({ type: MsgType.Sift, match, sample, sampleBits: this.sampleBits })];
    });
  }

  private onEstimate(bobSample: BitArray, seed: Uint8Array): Uint8Array[] {
    this.stage = "estimation";
    return this.timed("estimation", () => {
      const k = this.sampleBits!.length;
      this.expect(bobSample.length === k, `Bob's sample has ${bobSample.length} bits, expected ${k}`);
      const est = evaluateSample(this.key!.length, k, this.sampleBits!.hamming(bobSample), this.params);
      this.stats.estimate = est;
      if (est.abort) return this.fail(est.abort.code, est.abort.message);
      this.cascade = new CascadeAlice(this.key!, { variant: this.params.cascadeVariant, qber: cascadeQber(est), seed, sampleSize: est.sampleSize });
      this.stage = "cascade";
      return [];
    });
  }

  private onCascadeRequest(body: Uint8Array): Uint8Array[] {
    return this.timed("cascade", () => {
      const resp = this.cascade!.respond(body);
      this.disclosed += cascadeResponseParityCount(resp);
      this.cascadeRounds++;
      return [this.send({ type: MsgType.CascadeResponse, body: resp })];
    });
  }

  private onCascadeDone(bobCount: number): Uint8Array[] {
    this.stage = "verification";
    return this.timed("verification", () => {
      this.expect(
        bobCount === this.disclosed && this.cascade!.disclosedBits === this.disclosed,
        `disclosed-bit counts disagree (Alice sent ${this.disclosed}, Bob counted ${bobCount})`,
      );
      this.stats.cascade = { disclosedBits: this.disclosed, roundTrips: this.cascadeRounds, errorsCorrected: null };
      const t = verificationHashBits(this.params.epsCor);
      const key = this.key!,
        n = key.length,
        est = this.stats.estimate!;
      const leak = this.disclosed + t;
      const fk = finiteKeyLength({ n, k: est.sampleSize, qber: est.qber, leakEC: leak, epsSec: this.params.epsSec, epsCor: this.params.epsCor });
      this.stats.verifyBits = t;
      this.stats.leakEC = leak;
      this.stats.ell = fk.ell;
      if (!(fk.ell > 0)) return this.fail("KEY_TOO_SHORT", `finite-key length ℓ = ${fk.ell} ≤ 0 after disclosing ${leak} bits`);
      const hashSeed = randomBits(this.rnd, n + t - 1);
      const hash = verificationHash(key, hashSeed, t);
      this.ell = fk.ell;
      this.paSeed = randomBits(this.rnd, n + fk.ell - 1);
      this.transcript.paSeed = this.paSeed;
      this.transcript.ell = fk.ell;
      return [this.send({ type: MsgType.Verify, hashSeed, hash, ell: fk.ell, paSeed: this.paSeed })];
    });
  }

  private onConfirm(): Uint8Array[] {
    this.stats.verified = true;
    this.stage = "amplification";
    this.timed("amplification", () => this.finish(privacyAmplify(this.key!, this.paSeed!, this.ell)));
    this.key = null;
    return [];
  }

  protected qubitFraction(): number {
    return this.stage === "qubits" ? 1 : 0;
  }
}

export function randomBits(r: RandomStream, n: number): BitArray {
  return new BitArray(n, r.words(new Uint32Array((n + 31) >>> 5)));
}
