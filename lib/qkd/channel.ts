/**
 * Quantum channel model applied at Bob's detector, 32 qubits per machine word.
 *
 * Per qubit (Alice's bit a, basis α; Bob's basis β):
 *  1. intercept-resend Eve, with probability f: she measures in a random basis ε. If ε = α she learns
 *     a and resends it faithfully; otherwise her result r is a fair coin and she resends r in ε.
 *  2. Bob measures the state that arrives: the sent bit if his basis equals the state's, a fair coin
 *     otherwise; then channel noise flips the result with probability e (bit error rate).
 *  3. loss: the photon reaches the detector with probability η = 1 − loss;
 *     dark counts: with probability d a dark count fires; a dark count alone, or together with a
 *     photon (double click, squashed to a random bit), yields a uniformly random bit.
 *
 * On the sifted key (β = α) this gives QBER = e + f/4 − e·f/2 without dark counts: an intercepted
 * qubit is wrong with probability ½·½ + ½·e. With dark counts, a fraction
 * d / (1 − (1 − η)(1 − d)) of the clicks carry a random bit.
 *
 * Eve's record (simulation only): for every qubit, whether she intercepted it, whether her basis was
 * Alice's (then she knows Alice's bit exactly), and her measurement result.
 */
import { BitArray } from "./bits";
import { RandomSource, RandomStream } from "./rng";
// Module-local aliases: under a vm context (Jest) every global lookup in a hot loop is slow.
const { floor, log: ln, log1p } = Math;

export interface ChannelParams {
  /** Probability that a qubit is lost before Bob's detector (1 − transmittance). */
  loss: number;
  /** Bit error rate e of the channel and detector. */
  noise: number;
  /** Probability of a dark count per detection slot. */
  darkCount: number;
  /** Fraction f of qubits intercepted and resent by Eve. */
  eve: number;
}
export const DEFAULT_CHANNEL: ChannelParams = { loss: 0, noise: 0.02, darkCount: 0, eve: 0 };

export function validateChannelParams(p: ChannelParams): void {
  for (const key of ["loss", "noise", "darkCount", "eve"] as const) {
    const v = p[key];
    if (!(typeof v === "number" && v >= 0 && v <= 1)) throw new RangeError(`channel ${key} must be in [0, 1]`);
  }
  if (p.loss === 1 && p.darkCount === 0) throw new RangeError("channel loss 1 with no dark counts: nothing is detected");
}

/**
 * Expected QBER of the sifted key without dark counts: e + f/4 − e·f/2 (an intercepted qubit is
 * wrong with probability ½·½ + ½·e). Loss removes photons but adds no errors. Sessions over the
 * relay run with no dark counts, so this is what their channel settings should produce.
 */
export function expectedQberWithoutDarkCounts(p: Pick<ChannelParams, "noise" | "eve">): number {
  return p.noise + p.eve / 4 - (p.noise * p.eve) / 2;
}

/** Expected QBER of the sifted key under this model (dark-count clicks carry a random bit). */
export function expectedQber(p: ChannelParams): number {
  const q0 = expectedQberWithoutDarkCounts(p);
  const eta = 1 - p.loss;
  const click = 1 - (1 - eta) * (1 - p.darkCount);
  if (click === 0) return 0.5;
  const darkShare = p.darkCount / click;
  return (1 - darkShare) * q0 + darkShare / 2;
}

export interface ChannelOutput {
  /** Bob's detector clicked (photon or dark count). */
  detected: Uint32Array;
  /** Bob's measurement result (meaningful where detected). */
  bits: Uint32Array;
}

export class QuantumChannel {
  readonly params: ChannelParams;
  private readonly rnd: RandomStream;
  private readonly eveChunks: { offset: number; count: number; intercepted: Uint32Array; knows: Uint32Array; guess: Uint32Array }[] = [];

  constructor(params: Partial<ChannelParams> = {}, rng: RandomSource) {
    this.params = { ...DEFAULT_CHANNEL, ...params };
    validateChannelParams(this.params);
    this.rnd = new RandomStream(rng, 16384);
  }

  /**
   * Transmit `count` qubits (Alice's bit and basis words) and measure them in Bob's bases.
   * `offset` is the index of the first qubit in the session (a multiple of 32), used for Eve's record.
   */
  transmit(offset: number, count: number, aliceBits: Uint32Array, aliceBases: Uint32Array, bobBases: Uint32Array): ChannelOutput {
    const nw = (count + 31) >>> 5;
    const { loss, noise, darkCount, eve } = this.params;
    const r = this.rnd;
    const eveMask = bernoulliWords(r, eve, count);
    const noiseMask = bernoulliWords(r, noise, count);
    const lostMask = bernoulliWords(r, loss, count);
    const darkMask = bernoulliWords(r, darkCount, count);
    const eveBasis = eve > 0 ? r.words(new Uint32Array(nw)) : null;
    const eveCoin = eve > 0 ? r.words(new Uint32Array(nw)) : null;
    const bobCoin = r.words(new Uint32Array(nw));
    const darkCoin = darkCount > 0 ? r.words(new Uint32Array(nw)) : null;

    const detected = new Uint32Array(nw);
    const bits = new Uint32Array(nw);
    const intercepted = new Uint32Array(nw),
      knows = new Uint32Array(nw),
      guess = new Uint32Array(nw);
    for (let w = 0; w < nw; w++) {
      const a = aliceBits[w],
        alpha = aliceBases[w];
      let stateBit = a,
        stateBasis = alpha;
      if (eveBasis !== null) {
        const em = eveMask[w];
        const wrong = em & (eveBasis[w] ^ alpha);
        const coin = eveCoin![w];
        stateBasis = alpha ^ wrong;
        stateBit = (a & ~wrong) | (coin & wrong);
        intercepted[w] = em;
        knows[w] = em & ~wrong;
        guess[w] = (a & em & ~wrong) | (coin & wrong);
      }
      const mismatch = stateBasis ^ bobBases[w];
      let b = ((stateBit & ~mismatch) | (bobCoin[w] & mismatch)) ^ noiseMask[w];
      const dark = darkMask[w];
      if (darkCoin !== null) b = (b & ~dark) | (darkCoin[w] & dark);
      detected[w] = ~lostMask[w] | dark;
      bits[w] = b;
    }
    const tail = count & 31;
    if (tail !== 0) {
      const m = ((1 << tail) >>> 0) - 1;
      detected[nw - 1] &= m;
      bits[nw - 1] &= m;
    }
    if (eve > 0) this.eveChunks.push({ offset, count, intercepted, knows, guess });
    return { detected, bits };
  }

  /** Eve's record over all qubits transmitted so far (all-zero when she was absent). */
  eveRecord(total: number): { intercepted: BitArray; knows: BitArray; guess: BitArray } {
    const nw = (total + 31) >>> 5;
    const intercepted = new Uint32Array(nw),
      knows = new Uint32Array(nw),
      guess = new Uint32Array(nw);
    for (const c of this.eveChunks) {
      const at = c.offset >>> 5;
      intercepted.set(c.intercepted.subarray(0, Math.min(c.intercepted.length, nw - at)), at);
      knows.set(c.knows.subarray(0, Math.min(c.knows.length, nw - at)), at);
      guess.set(c.guess.subarray(0, Math.min(c.guess.length, nw - at)), at);
    }
    return { intercepted: new BitArray(total, intercepted), knows: new BitArray(total, knows), guess: new BitArray(total, guess) };
  }
}

/**
 * `count` independent Bernoulli(p) bits, packed. Sparse p (< 1/16, or > 15/16 by complement) uses
 * geometric gaps between ones (one 53-bit uniform per one-bit); otherwise the binary expansion of p
 * to 32 bits: walking p's bits from the least significant set bit up, m ← bit ? m | r : m & r with a
 * fresh random word r each step gives P[bit = 1] = p truncated to 2^−32, for 32 qubits at once.
 */
export function bernoulliWords(r: RandomStream, p: number, count: number): Uint32Array {
  const nw = (count + 31) >>> 5;
  const out = new Uint32Array(nw);
  if (count === 0 || p <= 0) return out;
  if (p >= 1) {
    out.fill(0xffffffff);
  } else if (p < 1 / 16 || p > 15 / 16) {
    const q = p < 0.5 ? p : 1 - p;
    const lnq = log1p(-q);
    for (let pos = -1; ;) {
      // Geometric(q) gap: ⌊ln U / ln(1 − q)⌋ with U uniform in (0, 1].
      pos += 1 + floor(ln(1 - r.float()) / lnq);
      if (!(pos < count)) break;
      out[pos >>> 5] |= 1 << (pos & 31);
    }
    if (p > 0.5) for (let i = 0; i < nw; i++) out[i] = ~out[i];
  } else {
    const P = Math.round(p * 4294967296); // 0 < P < 2^32
    let lowBit = 0;
    while (floor(P / 2 ** lowBit) % 2 === 0) lowBit++;
    const tmp = new Uint32Array(nw);
    for (let b = lowBit; b < 32; b++) {
      r.words(tmp);
      if (floor(P / 2 ** b) % 2 === 1) for (let i = 0; i < nw; i++) out[i] |= tmp[i];
      else for (let i = 0; i < nw; i++) out[i] &= tmp[i];
    }
    // The expansion above is of P/2^32 read from bit lowBit (LSB) to bit 31 (MSB = ½ place).
  }
  const tail = count & 31;
  if (tail !== 0) out[nw - 1] &= ((1 << tail) >>> 0) - 1;
  return out;
}
