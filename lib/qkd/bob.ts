/**
 * Bob: measures the arriving qubits (the channel model runs here, on receipt of each "qubits"
 * message), reports his detections and bases, estimates the QBER, drives Cascade, checks Alice's
 * verification hash and hashes his key.
 */
import { BitArray } from "./bits";
import { CascadeBob } from "./cascade";
import { QuantumChannel } from "./channel";
import { cascadeQber, evaluateSample } from "./estimate";
import { finiteKeyLength, verificationHashBits } from "./finite-key";
import { cascadeResponseParityCount, HelloPayload, Message, MsgType, Payload } from "./messages";
import { MAX_QUBITS, Party, ProtocolViolation, QkdParams, resolveParams } from "./party";
import { cryptoRandom, RandomSource, RandomStream } from "./rng";
import { complement, siftBits } from "./sift";
import { privacyAmplify, verificationHash } from "./verify";

export interface BobOptions {
  /** Bob's expectations; Alice's Hello must match (qubits and chunkSize are taken from it). */
  params?: Partial<QkdParams>;
  rng?: RandomSource;
  /** Quantum channel in front of Bob's detector (noiseless, lossless, no Eve by default). */
  channel?: QuantumChannel;
  /** Largest session accepted. */
  maxQubits?: number;
  /** Expected session id; by default Bob adopts the id of Alice's Hello. */
  sessionId?: Uint8Array;
  /** Keep key bits for simulation diagnostics (see Party.diagnostics). */
  diagnostics?: boolean;
}

export class Bob extends Party {
  readonly role = "bob" as const;
  private readonly rnd: RandomStream;
  readonly channel: QuantumChannel;
  private readonly maxQubits: number;
  private readonly expectedSession: Uint8Array | undefined;
  private received = 0;
  private rawBits: Uint32Array | null = null;
  private rawBases: Uint32Array | null = null;
  private rawDetected: Uint32Array | null = null;
  private detected: BitArray | null = null;
  private key: BitArray | null = null;
  private cascade: CascadeBob | null = null;
  private disclosed = 0;

  constructor(opts: BobOptions = {}) {
    super(resolveParams(opts.params));
    this.rnd = new RandomStream(opts.rng ?? cryptoRandom);
    this.channel = opts.channel ?? new QuantumChannel({ loss: 0, noise: 0, darkCount: 0, eve: 0 }, opts.rng ?? cryptoRandom);
    this.maxQubits = opts.maxQubits ?? MAX_QUBITS;
    this.expectedSession = opts.sessionId;
    if (opts.diagnostics) this.diagnostics = { key: null, reconciled: null };
  }

  protected adoptSession(msg: Message): string | null {
    if (msg.payload.type !== MsgType.Hello) return super.adoptSession(msg);
    if (this.expectedSession && !msg.sessionId.every((b, i) => b === this.expectedSession![i])) return "Hello for another session";
    this.setSession(msg.sessionId); // a wrong sequence number is then reported as out-of-order
    this.status = "running";
    this.stage = "qubits";
    return null;
  }

  protected handle(p: Payload): Uint8Array[] {
    switch (p.type) {
      case MsgType.Hello:
        if (this.rawBits !== null) this.unexpected(p);
        return this.onHello(p.hello);
      case MsgType.Qubits:
        if (this.stage !== "qubits" || this.rawBits === null) this.unexpected(p);
        return this.onQubits(p.offset, p.bits, p.bases);
      case MsgType.Sift:
        if (this.stage !== "sifting") this.unexpected(p);
        return this.onSift(p.match, p.sample, p.sampleBits);
      case MsgType.CascadeResponse:
        if (this.stage !== "cascade") this.unexpected(p);
        return this.onCascadeResponse(p.body);
      case MsgType.Verify:
        if (this.stage !== "verification") this.unexpected(p);
        return this.onVerify(p.hashSeed, p.hash, p.ell, p.paSeed);
      default:
        this.unexpected(p);
    }
  }

  private onHello(h: HelloPayload): Uint8Array[] {
    const mine = this.params;
    const mismatch: string[] = [];
    if (h.epsSec !== mine.epsSec) mismatch.push(`epsSec ${h.epsSec} ≠ ${mine.epsSec}`);
    if (h.epsCor !== mine.epsCor) mismatch.push(`epsCor ${h.epsCor} ≠ ${mine.epsCor}`);
    if (h.qberThreshold !== mine.qberThreshold) mismatch.push(`qberThreshold ${h.qberThreshold} ≠ ${mine.qberThreshold}`);
    if (h.cascadeVariant !== mine.cascadeVariant) mismatch.push(`Cascade variant ${h.cascadeVariant} ≠ ${mine.cascadeVariant}`);
    if (mismatch.length) throw new ProtocolViolation(`parameters differ: ${mismatch.join("; ")}`, "PARAMS_MISMATCH");
    this.expect(h.qubits >= 64 && h.qubits <= this.maxQubits, `qubit count ${h.qubits} outside [64, ${this.maxQubits}]`);
    this.expect(h.chunkSize >= 32 && h.chunkSize % 32 === 0, `chunk size ${h.chunkSize} is not a positive multiple of 32`);
    (this.params as QkdParams).qubits = h.qubits;
    (this.params as QkdParams).chunkSize = h.chunkSize;
    this.stats.qubits = h.qubits;
    const nw = (h.qubits + 31) >>> 5;
    this.rawBits = new Uint32Array(nw);
    this.rawBases = new Uint32Array(nw);
    this.rawDetected = new Uint32Array(nw);
    return [];
  }

  private onQubits(offset: number, bits: BitArray, bases: BitArray): Uint8Array[] {
    return this.timed("qubits", () => {
      const { qubits, chunkSize } = this.params;
      const count = bits.length;
      this.expect(offset === this.received, `qubits at offset ${offset}, expected ${this.received}`);
      this.expect(count === Math.min(chunkSize, qubits - offset) && count > 0, `qubit chunk of ${count}, expected ${Math.min(chunkSize, qubits - offset)}`);
      const nw = (count + 31) >>> 5;
      const bobBases = this.rnd.words(new Uint32Array(nw));
      if (count & 31) bobBases[nw - 1] &= ((1 << (count & 31)) >>> 0) - 1;
      const out = this.channel.transmit(offset, count, bits.words, bases.words, bobBases);
      const at = offset >>> 5;
      this.rawBits!.set(out.bits, at);
      this.rawDetected!.set(out.detected, at);
      this.rawBases!.set(bobBases, at);
      this.received += count;
      if (this.received < qubits) return [];
      const detected = new BitArray(qubits, this.rawDetected!);
      this.detected = detected;
      this.transcript.detected = detected;
      this.stats.detected = detected.popcount();
      this.stage = "sifting";
      const basesAtDetected = new BitArray(qubits, this.rawBases!).select(detected);
      this.rawBases = this.rawDetected = null;
      return [this.send({ type: MsgType.Detect, detected, bases: basesAtDetected })];
    });
  }

  private onSift(match: BitArray, sample: BitArray, aliceSample: BitArray): Uint8Array[] {
    const { sifted, k } = this.timed("sifting", () => {
      const D = this.stats.detected!;
      this.expect(match.length === D, `basis-match mask has ${match.length} bits, expected ${D}`);
      const N = match.popcount();
      this.expect(sample.length === N, `sample mask has ${sample.length} bits, expected ${N}`);
      const k = sample.popcount();
      this.expect(k >= 1 && k < N, `test sample of ${k} of ${N} sifted bits`);
      this.expect(aliceSample.length === k, `Alice's sample has ${aliceSample.length} bits, expected ${k}`);
      this.transcript.match = match;
      this.transcript.sample = sample;
      this.stats.sifted = N;
      const sifted = siftBits(new BitArray(this.params.qubits, this.rawBits!), this.detected!, match);
      this.rawBits = null;
      return { sifted, k };
    });
    this.stage = "estimation";
    return this.timed("estimation", () => {
      const mySample = sifted.select(sample);
      this.key = sifted.select(complement(sample));
      if (this.diagnostics) this.diagnostics.key = this.key;
      const est = evaluateSample(this.key.length, k, mySample.hamming(aliceSample), this.params);
      this.stats.estimate = est;
      if (est.abort) return this.fail(est.abort.code, est.abort.message);
      const seed = this.rnd.bytesOf(32);
      this.cascade = new CascadeBob(this.key, { variant: this.params.cascadeVariant, qber: cascadeQber(est), seed, sampleSize: est.sampleSize });
      this.stage = "cascade";
      const out = [this.send({ type: MsgType.Estimate, sampleBits: mySample, cascadeSeed: seed })];
      out.push(...this.timed("cascade", () => this.nextCascade()));
      return out;
    });
  }

  private onCascadeResponse(body: Uint8Array): Uint8Array[] {
    return this.timed("cascade", () => {
      this.disclosed += cascadeResponseParityCount(body);
      this.cascade!.handleResponse(body);
      return this.nextCascade();
    });
  }

  private nextCascade(): Uint8Array[] {
    const req = this.cascade!.nextRequest();
    if (req) {
      this.cascadeRounds++;
      return [this.send({ type: MsgType.CascadeRequest, body: req })];
    }
    const r = this.cascade!.result();
    if (r.disclosedBits !== this.disclosed) throw new Error(`Cascade counted ${r.disclosedBits} disclosed bits, responses carried ${this.disclosed}`);
    this.key = r.bits;
    if (this.diagnostics) this.diagnostics.reconciled = r.bits;
    this.stats.cascade = { disclosedBits: this.disclosed, roundTrips: r.roundTrips, errorsCorrected: r.errorsCorrected };
    this.stage = "verification";
    return [this.send({ type: MsgType.CascadeDone, disclosedBits: this.disclosed })];
  }

  private onVerify(hashSeed: BitArray, hash: BitArray, ell: number, paSeed: BitArray): Uint8Array[] {
    const ok = this.timed("verification", () => {
      const key = this.key!,
        n = key.length,
        est = this.stats.estimate!;
      const t = verificationHashBits(this.params.epsCor);
      const leak = this.disclosed + t;
      const fk = finiteKeyLength({ n, k: est.sampleSize, qber: est.qber, leakEC: leak, epsSec: this.params.epsSec, epsCor: this.params.epsCor });
      this.stats.verifyBits = t;
      this.stats.leakEC = leak;
      this.stats.ell = fk.ell;
      this.expect(fk.ell > 0 && ell === fk.ell, `Alice's key length ${ell} differs from the bound ${fk.ell}`);
      this.expect(
        hash.length === t && hashSeed.length === n + t - 1,
        `verification hash of ${hash.length} bits with a ${hashSeed.length}-bit seed, expected ${t} and ${n + t - 1}`,
      );
      this.expect(paSeed.length === n + ell - 1, `privacy-amplification seed of ${paSeed.length} bits, expected ${n + ell - 1}`);
      this.transcript.paSeed = paSeed;
      this.transcript.ell = ell;
      this.stats.verified = verificationHash(key, hashSeed, t).equals(hash);
      return this.stats.verified;
    });
    if (!ok) return this.fail("VERIFICATION_FAILED", "verification hashes differ: the keys still disagree after Cascade");
    this.stage = "amplification";
    this.timed("amplification", () => this.finish(privacyAmplify(this.key!, paSeed, ell)));
    this.key = null;
    return [this.send({ type: MsgType.Confirm })];
  }

  protected qubitFraction(): number {
    return this.params.qubits > 0 ? this.received / this.params.qubits : 0;
  }
}
