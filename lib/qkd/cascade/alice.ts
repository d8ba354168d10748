/**
 * Alice's side of Cascade: she holds the reference key and only answers parity queries. Every
 * parity bit she returns is counted in `disclosedBits` (Bob counts the same bits on his side).
 */
import { BitArray } from "../bits";
import { CascadeBounds, cascadeBounds } from "./bounds";
import { CascadeConfig, CascadeProtocolError, CascadeSchedule, checkConfig } from "./schedule";
import { cascadePermutation, permuteBits } from "./shuffle";
import { decodeRequest, encodeResponse } from "./wire";

/** Alice answers parity queries over her (reference) key. */
export class CascadeAlice {
  private readonly bits: BitArray;
  private readonly seed: Uint8Array;
  private readonly sched: CascadeSchedule;
  private readonly bounds: CascadeBounds;
  private readonly copies: (BitArray | undefined)[] = [];
  private seq = 0;
  private disclosed = 0;

  constructor(bits: BitArray, cfg: CascadeConfig) {
    this.sched = checkConfig(bits, cfg);
    this.bounds = cascadeBounds(this.sched, bits.length, cfg.qber, cfg.sampleSize);
    this.bits = bits.clone();
    this.seed = cfg.seed.slice();
  }

  /** Parity bits revealed so far (exactly the number of parity bits in all responses). */
  get disclosedBits(): number {
    return this.disclosed;
  }

  /** Her key in pass p's permuted order, computed when a query first needs it. */
  private copy(p: number): BitArray {
    let c = this.copies[p];
    if (!c) {
      c = p === 0 ? this.bits : permuteBits(this.bits, cascadePermutation(this.seed, p, this.bits.length));
      this.copies[p] = c;
    }
    return c;
  }

  respond(req: Uint8Array): Uint8Array {
    // Parsed and validated in full before computing (and disclosing) anything.
    const { seq, qs } = decodeRequest(req, this.sched, this.bits.length, this.seq + 1);
    // A peer still asking past the cap is not reconciling the channel we estimated (bounds.ts).
    if (seq > this.bounds.maxRoundTrips) {
      throw new CascadeProtocolError(
        `Cascade: Bob asked for round trip ${seq}, more than the ${this.bounds.maxRoundTrips} an honest run needs for ${this.bits.length} bits`,
      );
    }
    const nBits = qs.length / 3;
    if (this.disclosed + nBits > this.bounds.maxDisclosed) {
      throw new CascadeProtocolError(
        `Cascade: Bob asked for ${this.disclosed + nBits} parities in all, more than the ${this.bounds.maxDisclosed} an honest run can need for ${this.bits.length} bits`,
      );
    }
    const out = new Uint8Array((nBits + 7) >>> 3);
    for (let i = 0; i < nBits; i++) {
      if (this.copy(qs[3 * i]).parityRange(qs[3 * i + 1], qs[3 * i + 2])) out[i >>> 3] |= 1 << (i & 7);
    }
    this.seq = seq;
    this.disclosed += nBits;
    return encodeResponse(seq, out, nBits);
  }
}
