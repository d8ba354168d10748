/**
 * Bob's side of Cascade (Brassard & Salvail 1993): he holds the noisy key and drives. Each pass p
 * works in its own permuted index space (shuffle.ts); in each round Bob asks Alice for the parities
 * his searches need (wire.ts) and corrects one bit per binary search that ends.
 *
 * Efficiency measures (all leak-neutral or leak-reducing; every bit that crosses the wire counts):
 *  - every pending query of a round goes in one message (parallel binary searches, cascades);
 *  - the top-level block parities of every pass are fetched in the first round (they are the same
 *    whatever Bob corrects, and every pass discloses them anyway);
 *  - binary search asks for the left half only; the right half is inferred from the parent;
 *  - every known parity is cached; after a correction, each other pass restarts its search from
 *    the smallest block with a known parity that contains the corrected bit;
 *  - optimised variants infer the last top-level block of every pass after the first from the
 *    key's total parity (known from pass 0), so it is never asked.
 *
 * Round trips: passes start in order when nothing is pending, so a long chain of cascades between
 * passes 0 and 1 (each correction making a block odd in the other pass) sets the tail. A variant may
 * carry a Bob-only CascadeRoundPolicy (variants.ts): start later passes early (one or all odd blocks
 * searched at once, cascades into them deferred until the pass's regular turn) and ask several
 * levels of a search per round after a given round trip. Alice's side and the wire format are
 * unchanged.
 */
import { BitArray } from "../bits";
import { CascadeBounds, cascadeBounds } from "./bounds";
import { CascadeConfig, CascadeProtocolError, CascadeResult, CascadeSchedule, checkConfig } from "./schedule";
import { cascadePermutation, permuteBits } from "./shuffle";
import { decodeResponse, encodeRangeRequest, encodeTopRequest, Query } from "./wire";

// Module-scope aliases: global lookups are slow inside vm contexts (Jest), and these sit in hot loops.
const { floor, min, max } = Math;

/** Bob (holds the noisy key) drives reconciliation. */
export class CascadeBob {
  private readonly n: number;
  private readonly seed: Uint8Array;
  private readonly sched: CascadeSchedule;
  private readonly bounds: CascadeBounds;
  private readonly qber: number;
  private readonly key: BitArray;
  /** Bits already corrected (original order): an honest peer's parities never correct one twice. */
  private readonly fixed: BitArray;
  /** Bob's key in each started pass's permuted order (copies[0] === key). */
  private readonly copies: BitArray[] = [];
  private readonly perm: (Uint32Array | null)[] = [];
  private readonly inv: (Uint32Array | null)[] = [];
  /** Alice's known parities per pass, keyed by s·(n+1)+e. */
  private readonly known: Map<number, number>[] = [];
  private readonly stride: number;
  private aliceTotal = -1;
  private topFetched = false;
  private started = 0;
  private lastStart = 0;
  /** Passes [regular, started) were started early; cascades into them wait in `deferred`. */
  private regular = 0;
  private deferred: Query[] = [];
  private deferredKeys = new Set<number>();
  /** Search frontier: nodes with a known parity that may hold an odd number of errors. */
  private cand: Query[] = [];
  private candKeys = new Set<number>();
  private pending: Query[] | null = null;
  private seq = 0;
  private done = false;
  private disclosed = 0;
  private trips = 0;
  private corrected = 0;

  constructor(bits: BitArray, cfg: CascadeConfig) {
    this.sched = checkConfig(bits, cfg);
    this.n = bits.length;
    this.stride = this.n + 1;
    this.seed = cfg.seed.slice();
    this.key = bits.clone();
    this.fixed = new BitArray(this.n);
    this.qber = cfg.qber;
    this.bounds = cascadeBounds(this.sched, this.n, cfg.qber, cfg.sampleSize);
    for (let p = 0; p < this.sched.passes; p++) this.known.push(new Map());
    if (this.n === 0) this.done = true;
  }

  result(): CascadeResult {
    return {
      bits: this.key.clone(),
      disclosedBits: this.disclosed,
      roundTrips: this.trips,
      errorsCorrected: this.corrected,
    };
  }

  nextRequest(): Uint8Array | null {
    if (this.pending) throw new CascadeProtocolError("cascade: response to the previous request still pending");
    if (this.done) return null;
    if (!this.topFetched) return this.emit([], true);
    for (;;) {
      if (this.earlyStart()) {
        while (this.started < this.sched.passes && !this.startPass(this.started++));
      }
      const qs = this.advance();
      if (qs.length > 0) return this.emit(qs, false);
      if (this.regular < this.started) {
        this.promote();
        continue;
      }
      if (this.started < this.sched.passes) {
        this.regular++;
        this.startPass(this.started++);
        continue;
      }
      if (this.finalCheck()) continue;
      this.done = true;
      return null;
    }
  }

  handleResponse(resp: Uint8Array): void {
    const qs = this.pending;
    if (!qs) throw new CascadeProtocolError("cascade: unexpected response");
    const body = decodeResponse(resp, this.seq, qs.length);
    const nBits = qs.length;
    for (let i = 0; i < nBits; i++) {
      const q = qs[i];
      this.known[q.p].set(q.s * this.stride + q.e, (body[i >>> 3] >>> (i & 7)) & 1);
    }
    this.pending = null;
    this.disclosed += nBits;
    this.trips++;
    if (this.aliceTotal < 0 && this.n > 0) {
      // Total parity of Alice's key from pass 0's top-level blocks.
      const k = this.sched.blockSize[0];
      let t = 0;
      for (let s = 0; s < this.n; s += k) t ^= this.known[0].get(s * this.stride + min(this.n, s + k))!;
      this.aliceTotal = t;
    }
    if (this.sched.inferLastBlock) {
      for (let p = 1; p < this.sched.passes; p++) {
        const k = this.sched.blockSize[p];
        const lastS = (this.sched.numBlocks[p] - 1) * k;
        const km = this.known[p];
        if (km.has(lastS * this.stride + this.n)) continue;
        let t = this.aliceTotal;
        for (let s = 0; s < lastS; s += k) t ^= km.get(s * this.stride + s + k)!;
        km.set(lastS * this.stride + this.n, t);
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private emit(qs: Query[], top: boolean): Uint8Array {
    if (this.seq >= this.bounds.maxRoundTrips) {
      throw new CascadeProtocolError(
        `Cascade: still searching after ${this.seq} round trips, the most an honest run needs for ${this.n} bits: inconsistent parities from Alice`,
      );
    }
    const seq = ++this.seq;
    const { body, order } = top ? encodeTopRequest(seq, this.sched, this.n) : encodeRangeRequest(seq, qs);
    this.topFetched = true;
    this.pending = order;
    return body;
  }

  private earlyStart(): boolean {
    const { earlyStartAfter, startEvery, earlyStartMaxRegular } = this.sched.rounds;
    if (earlyStartAfter === undefined || this.started === 0 || this.started >= this.sched.passes) return false;
    if (earlyStartMaxRegular !== undefined && this.regular > earlyStartMaxRegular) return false;
    return this.trips >= earlyStartAfter && this.trips - this.lastStart >= (startEvery ?? 1);
  }

  /** Quiescent: the oldest early pass becomes regular and its deferred cascades are searched. */
  private promote() {
    const p = this.regular++;
    const keep: Query[] = [];
    const keepKeys = new Set<number>();
    for (const c of this.deferred) {
      const id = (c.p * this.stride + c.s) * this.stride + c.e;
      if (c.p === p) this.addCand(c.p, c.s, c.e);
      else {
        keep.push(c);
        keepKeys.add(id);
      }
    }
    this.deferred = keep;
    this.deferredKeys = keepKeys;
  }

  /** Returns whether the pass has a search under way. */
  private startPass(p: number): boolean {
    this.lastStart = this.trips;
    if (p > 0) {
      const perm = cascadePermutation(this.seed, p, this.n);
      const inv = new Uint32Array(this.n);
      for (let q = 0; q < this.n; q++) inv[perm[q]] = q;
      this.perm[p] = perm;
      this.inv[p] = inv;
      this.copies[p] = permuteBits(this.key, perm);
    } else {
      this.perm[0] = null;
      this.inv[0] = null;
      this.copies[0] = this.key;
    }
    const k = this.sched.blockSize[p];
    if (p < this.regular) {
      for (let s = 0; s < this.n; s += k) this.addCand(p, s, min(this.n, s + k));
      return true;
    }
    // Started early: search one odd block now (enough to split a chain of cascades); the others
    // wait with the deferred cascades until the pass becomes regular.
    let active = false;
    const km = this.known[p],
      copy = this.copies[p];
    for (let s = 0; s < this.n; s += k) {
      const e = min(this.n, s + k);
      if ((!active || this.sched.rounds.earlyAllBlocks) && (km.get(s * this.stride + e)! ^ copy.parityRange(s, e)) === 1) {
        this.addCand(p, s, e);
        active = true;
      } else this.defer(p, s, e);
    }
    return active;
  }

  private defer(p: number, s: number, e: number) {
    const id = (p * this.stride + s) * this.stride + e;
    if (this.deferredKeys.has(id)) return;
    this.deferredKeys.add(id);
    this.deferred.push({ p, s, e });
  }

  private addCand(p: number, s: number, e: number) {
    const id = (p * this.stride + s) * this.stride + e;
    if (this.candKeys.has(id)) return;
    this.candKeys.add(id);
    this.cand.push({ p, s, e });
  }

  /** Run every candidate search as far as known parities allow; return the queries needed. */
  private advance(): Query[] {
    const out: Query[] = [];
    const outKeys: Set<number>[] = [];
    const waiting: Query[] = [];
    const waitingKeys = new Set<number>();
    let depth = 1;
    const { lookahead, lookaheadMaxRegular } = this.sched.rounds;
    if (lookaheadMaxRegular === undefined || this.regular <= lookaheadMaxRegular) {
      for (const [from, lv] of lookahead ?? []) if (this.trips >= from) depth = max(1, lv);
    }
    // cand may grow while we iterate (cascades).
    for (let ci = 0; ci < this.cand.length; ci++) {
      const { p } = this.cand[ci];
      let { s, e } = this.cand[ci];
      const copy = this.copies[p];
      const km = this.known[p];
      let a = km.get(s * this.stride + e)!;
      if ((a ^ copy.parityRange(s, e)) === 0) continue;
      for (;;) {
        if (e - s === 1) {
          this.correct(p, s);
          break;
        }
        const mid = s + ((e - s) >>> 1);
        const la = km.get(s * this.stride + mid);
        if (la === undefined) {
          const id = (p * this.stride + s) * this.stride + e;
          if (!waitingKeys.has(id)) {
            waitingKeys.add(id);
            waiting.push({ p, s, e });
            this.askSubtree(p, s, e, depth, out, outKeys);
          }
          break;
        }
        const rk = mid * this.stride + e;
        const ra = a ^ la;
        if (!km.has(rk)) km.set(rk, ra);
        if ((la ^ copy.parityRange(s, mid)) === 1) {
          e = mid;
          a = la;
        } else {
          s = mid;
          a = ra;
        }
      }
    }
    this.cand = waiting;
    this.candKeys = waitingKeys;
    return out;
  }

  /** Queue the left-child parities of the top `depth` levels of node [s, e) that are not known. */
  private askSubtree(p: number, s: number, e: number, depth: number, out: Query[], outKeys: Set<number>[]) {
    if (depth <= 0 || e - s < 2) return;
    const mid = s + ((e - s) >>> 1);
    const key = s * this.stride + mid;
    if (!this.known[p].has(key)) {
      const asked = (outKeys[p] ??= new Set());
      if (!asked.has(key)) {
        asked.add(key);
        out.push({ p, s, e: mid });
      }
    }
    this.askSubtree(p, s, mid, depth - 1, out, outKeys);
    this.askSubtree(p, mid, e, depth - 1, out, outKeys);
  }

  /** Flip bit at permuted position q of pass p and queue the cascades into other started passes. */
  private correct(p: number, q: number) {
    const i = p === 0 ? q : this.perm[p]![q];
    // An honest Alice's parities are consistent, so each correction sets a wrong bit to her value:
    // no bit is corrected twice, and there are no more corrections than errors (bounds.ts).
    if (this.fixed.get(i)) {
      throw new CascadeProtocolError(`Cascade: bit ${i} corrected twice: Alice's parities contradict each other (an honest peer's never do)`);
    }
    this.fixed.set(i, 1);
    if (++this.corrected > this.bounds.maxCorrections) {
      throw new CascadeProtocolError(
        `Cascade: ${this.corrected} corrections, more than the ${this.bounds.maxCorrections} errors ${this.n} bits can hold at the estimated QBER ${(100 * this.qber).toFixed(2)}%: inconsistent parities from Alice`,
      );
    }
    for (let t = 0; t < this.started; t++) {
      const pos = t === 0 ? i : this.inv[t]![i];
      this.copies[t].flip(pos);
      if (t === p) continue;
      // Deepest node with a known parity on the path to pos.
      const k = this.sched.blockSize[t];
      const km = this.known[t];
      let s = pos - (pos % k);
      let e = min(this.n, s + k);
      for (;;) {
        if (e - s === 1) break;
        const mid = s + ((e - s) >>> 1);
        const cs = pos < mid ? s : mid;
        const ce = pos < mid ? mid : e;
        if (!km.has(cs * this.stride + ce)) {
          // Right child inferable from parent and left sibling?
          if (cs === mid) {
            const la = km.get(s * this.stride + mid);
            if (la !== undefined) {
              km.set(mid * this.stride + e, km.get(s * this.stride + e)! ^ la);
              s = cs;
              e = ce;
              continue;
            }
          }
          break;
        }
        s = cs;
        e = ce;
      }
      if (t < this.regular) this.addCand(t, s, e);
      else this.defer(t, s, e);
    }
  }

  /** Safety net: any known node with odd error parity becomes a candidate again. */
  private finalCheck(): boolean {
    let found = false;
    for (let p = 0; p < this.started; p++) {
      const copy = this.copies[p];
      for (const [id, a] of this.known[p]) {
        const s = floor(id / this.stride),
          e = id - s * this.stride;
        if ((a ^ copy.parityRange(s, e)) === 1) {
          this.addCand(p, s, e);
          found = true;
        }
      }
    }
    return found;
  }
}
