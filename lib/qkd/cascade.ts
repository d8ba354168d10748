/**
 * Cascade error reconciliation (Brassard & Salvail 1993) with the optimised block-size schedules
 * studied by Yan et al. (2008) and Martinez-Mateo, Pacher, Peev, Ciurana & Martin (2015,
 * "Demystifying the information reconciliation protocol Cascade"), named as in Bruno Rijsman's
 * cascade-cpp.
 *
 * Bob (noisy key) drives; Alice (reference key) only answers parity queries. Each pass p works in
 * its own permuted index space, derived by both sides from the public 32-byte seed (pass 0 is the
 * identity, as in the original protocol). A query is a range [start, end) of that space, or a run of
 * top-level blocks; every parity bit Alice returns is counted in `disclosedBits`.
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
 * carry a Bob-only CascadeRoundPolicy: start later passes early (one or all odd blocks searched at
 * once, cascades into them deferred until the pass's regular turn) and ask several levels of a
 * search per round after a given round trip. Alice's side and the wire format are unchanged.
 *
 * Wire format (all integers unsigned LEB128 varints):
 *   request  = 0x01 0x01 seq nGroups { pass type count (type 0: firstBlock | type 1: count × (startDelta len)) }
 *   response = 0x01 0x02 seq nBits packedBits[ceil(nBits/8)]   (bit i = byte i>>3, bit i&7; padding 0)
 * Parities are answered in request order: group by group, item by item.
 */
import { BitArray } from "./bits";

// Module-scope aliases: global lookups are slow inside vm contexts (Jest), and these sit in hot loops.
const { imul, floor, min, max, ceil, log2 } = Math;

export const CASCADE_VARIANTS = ["original", "yanetal", "option3", "option7", "option8", "yanetal-tuned", "yanetal-rt"] as const;
export type CascadeVariant = (typeof CASCADE_VARIANTS)[number];
/** Best measured by bench/cascade-tune.ts: f_EC ≤ 1.09 for QBER 1–10 % at n = 10^4, FER < 10^-3. */
export const DEFAULT_CASCADE_VARIANT: CascadeVariant = "yanetal-tuned";

export interface CascadeConfig {
  variant: CascadeVariant;
  /** QBER estimate used to size the blocks (clamped to [1e-5, 0.5]). */
  qber: number;
  /** 32 public random bytes chosen by Bob and sent to Alice; both derive the same shuffles. */
  seed: Uint8Array;
}

export interface CascadeResult {
  bits: BitArray;
  disclosedBits: number;
  roundTrips: number;
  errorsCorrected: number;
}

export class CascadeProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CascadeProtocolError";
  }
}

const VERSION = 1;
const KIND_REQUEST = 1;
const KIND_RESPONSE = 2;
const TYPE_BLOCKS = 0;
const TYPE_RANGES = 1;
const MIN_QBER = 1e-5;

// ---------------------------------------------------------------------------------------------
// Schedules

export interface CascadeVariantSpec {
  passes: number;
  /** Block size of pass p (0-based) for QBER q and key length n (before clamping to [1, n]). */
  blockSize: (p: number, q: number, n: number) => number;
  /** Infer the last top-level block of passes ≥ 1 from the total parity disclosed by pass 0. */
  inferLastBlock: boolean;
  /** Round-trip policy (Bob only; Alice answers whatever ranges she is asked). */
  rounds?: CascadeRoundPolicy;
}

/** Bob-side round-trip policy. Absent fields keep the plain behaviour. */
export interface CascadeRoundPolicy {
  /** Levels of its subtree a search asks per round, by round trip: [[fromTrip, levels], ...] ascending. */
  lookahead?: readonly (readonly [number, number])[];
  /** Lookahead only while at most this many passes were started in the regular order. */
  lookaheadMaxRegular?: number;
  /** Early-started passes search every odd top-level block at once (default: only the first). */
  earlyAllBlocks?: boolean;
  /** From this round trip on, start the next pass every `startEvery` rounds even if searches are pending. */
  earlyStartAfter?: number;
  startEvery?: number;
  /** Early starts only while at most this many passes were started in the regular order. */
  earlyStartMaxRegular?: number;
}

const half = (n: number) => ceil(n / 2);

/** Variant parameters (exported for the tuning script, which may add experimental entries). */
export const CASCADE_VARIANT_SPECS: Record<string, CascadeVariantSpec> = {
  // Brassard & Salvail: k1 = 0.73/Q, doubling, 4 passes. Kept faithful (no total-parity inference).
  original: {
    passes: 4,
    blockSize: (p, q) => ceil(0.73 / q) * 2 ** p,
    inferLastBlock: false,
  },
  // Yan et al. 2008: k1 = 0.8/Q, k2 = 5·k1, then n/2; 10 passes.
  yanetal: {
    passes: 10,
    blockSize: (p, q, n) => (p === 0 ? ceil(0.8 / q) : p === 1 ? 5 * ceil(0.8 / q) : half(n)),
    inferLastBlock: true,
  },
  // Demystifying, Cascade opt. (3): k1 = 1/Q, k2 = 2·k1, then n/2; 16 passes.
  option3: {
    passes: 16,
    blockSize: (p, q, n) => (p === 0 ? ceil(1 / q) : p === 1 ? 2 * ceil(1 / q) : half(n)),
    inferLastBlock: true,
  },
  // Demystifying, Cascade opt. (7): k1 = 2^⌈log2(1/Q)⌉, k2 = 4·k1, then n/2; 14 passes.
  option7: {
    passes: 14,
    blockSize: (p, q, n) => {
      const k1 = 2 ** ceil(log2(1 / q));
      return p === 0 ? k1 : p === 1 ? 4 * k1 : half(n);
    },
    inferLastBlock: true,
  },
  // Demystifying, Cascade opt. (8): α = log2(1/Q) − 1/2, k1 = 2^⌈α⌉, k2 = 2^⌈(α+12)/2⌉, k3 = 4096,
  // then n/2; 14 passes.
  option8: {
    passes: 14,
    blockSize: (p, q, n) => {
      const a = log2(1 / q) - 0.5;
      return p === 0 ? 2 ** ceil(a) : p === 1 ? 2 ** ceil((a + 12) / 2) : p === 2 ? 4096 : half(n);
    },
    inferLastBlock: true,
  },
  // Tuned here (bench/cascade-tune.ts sweep over k1 = a/Q, k2 = b·k1, pass count): Yan et al.'s
  // k1 = 0.8/Q with k2 = 4·k1, then 12 passes of n/2 (each costing one parity thanks to the
  // total-parity inference), enough to push the frame error rate below 10^-3.
  "yanetal-tuned": {
    passes: 14,
    blockSize: (p, q, n) => (p === 0 ? ceil(0.8 / q) : p === 1 ? 4 * ceil(0.8 / q) : half(n)),
    inferLastBlock: true,
  },
  // yanetal-tuned's schedule with a round-trip policy that cuts the tail of long cascade chains
  // (measured by bench/cascade-tune.ts at n = 10^4, 1,000 runs per QBER: runs over 120 round trips
  // 2–7 % → ≤ 0.4 %, max 191–246 → 119–126, for f_EC +0.0006 … +0.006 and no FER increase).
  // If passes 0–1 are still busy at round trip 60, a half-key pass is started early every 15 round
  // trips (its odd blocks split the chain); from round trip 100 (110) searches ask 2 (3) levels per
  // round. The thresholds are absolute round counts tuned at n = 10^4.
  "yanetal-rt": {
    passes: 14,
    blockSize: (p, q, n) => (p === 0 ? ceil(0.8 / q) : p === 1 ? 4 * ceil(0.8 / q) : half(n)),
    inferLastBlock: true,
    rounds: {
      earlyStartAfter: 60,
      startEvery: 15,
      earlyStartMaxRegular: 2,
      earlyAllBlocks: true,
      lookahead: [[100, 2], [110, 3]],
    },
  },
};

export interface CascadeSchedule {
  passes: number;
  blockSize: number[];
  numBlocks: number[];
  inferLastBlock: boolean;
  rounds: CascadeRoundPolicy;
}

/** Block sizes both parties derive from (variant, qber, n). */
export function cascadeSchedule(variant: CascadeVariant, qber: number, n: number): CascadeSchedule {
  const spec = Object.hasOwn(CASCADE_VARIANT_SPECS, variant) ? CASCADE_VARIANT_SPECS[variant] : undefined;
  if (!spec) throw new CascadeProtocolError(`unknown Cascade variant ${String(variant)}`);
  if (typeof qber !== "number" || !Number.isFinite(qber) || qber < 0) {
    throw new CascadeProtocolError("Cascade: qber must be a finite number ≥ 0");
  }
  const q = min(0.5, max(MIN_QBER, qber));
  const blockSize: number[] = [];
  const numBlocks: number[] = [];
  for (let p = 0; p < spec.passes; p++) {
    const k = max(1, min(max(n, 1), floor(spec.blockSize(p, q, n))));
    blockSize.push(k);
    numBlocks.push(n === 0 ? 0 : ceil(n / k));
  }
  return { passes: spec.passes, blockSize, numBlocks, inferLastBlock: spec.inferLastBlock, rounds: { ...spec.rounds } };
}

function checkConfig(bits: BitArray, cfg: CascadeConfig): CascadeSchedule {
  if (!(bits instanceof BitArray)) throw new CascadeProtocolError("Cascade: bits must be a BitArray");
  if (!cfg || !(cfg.seed instanceof Uint8Array) || cfg.seed.length !== 32) {
    throw new CascadeProtocolError("Cascade: seed must be 32 bytes");
  }
  if (bits.length >= 2 ** 26) throw new CascadeProtocolError("Cascade: key too long");
  return cascadeSchedule(cfg.variant, cfg.qber, bits.length);
}

// ---------------------------------------------------------------------------------------------
// Public deterministic shuffles (xoshiro128** keyed by seed and pass). Not secret.

function fmix(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Permutation of pass p: perm[q] = original index at permuted position q. */
export function cascadePermutation(seed: Uint8Array, pass: number, n: number): Uint32Array {
  const w = new Uint32Array(8);
  for (let i = 0; i < 32; i++) w[i >>> 2] |= seed[i] << ((i & 3) * 8);
  const st = new Uint32Array(4);
  for (let j = 0; j < 4; j++) {
    let h = fmix((0x9e3779b9 * (j + 1)) ^ imul(pass + 1, 0x632be5ab));
    for (let i = 0; i < 8; i++) h = fmix((h ^ w[(i + 2 * j) & 7]) + 0x7f4a7c15 * (i + 1));
    st[j] = h;
  }
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  let a = st[0], b = st[1], c = st[2], d = st[3];
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    // xoshiro128**
    const r = imul(rotl(imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
    const m = i + 1;
    let j: number;
    if (m <= 0x200000) {
      j = floor((r * m) / 4294967296); // exact: r·m < 2^53
    } else {
      const r2 = imul(rotl(imul(b, 5), 7), 9) >>> 0;
      const t2 = b << 9;
      c ^= a; d ^= b; b ^= c; a ^= d; c ^= t2; d = rotl(d, 11);
      j = floor(((r * 2097152 + (r2 >>> 11)) / 9007199254740992) * m);
    }
    const x = perm[i]; perm[i] = perm[j]; perm[j] = x;
  }
  return perm;
}
function rotl(v: number, k: number) {
  return (v << k) | (v >>> (32 - k));
}

function permuteBits(src: BitArray, perm: Uint32Array): BitArray {
  const out = new BitArray(src.length);
  const sw = src.words, ow = out.words;
  for (let q = 0; q < perm.length; q++) {
    const i = perm[q];
    if ((sw[i >>> 5] >>> (i & 31)) & 1) ow[q >>> 5] |= 1 << (q & 31);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Varint codec

class Writer {
  buf = new Uint8Array(64);
  len = 0;
  private grow(extra: number) {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  byte(b: number) {
    this.grow(1);
    this.buf[this.len++] = b;
  }
  varint(v: number) {
    this.grow(5);
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  bytes(b: Uint8Array) {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly what: string) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw new CascadeProtocolError(`${this.what}: truncated`);
    return this.buf[this.pos++];
  }
  varint(max: number): number {
    let v = 0, mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) {
        if (i > 0 && b === 0) throw new CascadeProtocolError(`${this.what}: non-minimal varint`);
        if (v > max) throw new CascadeProtocolError(`${this.what}: value ${v} out of range`);
        return v;
      }
      mul *= 128;
    }
    throw new CascadeProtocolError(`${this.what}: varint too long`);
  }
  rest(): Uint8Array {
    const r = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return r;
  }
  end() {
    if (this.pos !== this.buf.length) throw new CascadeProtocolError(`${this.what}: trailing bytes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Alice

/** Alice answers parity queries over her (reference) key. */
export class CascadeAlice {
  private readonly bits: BitArray;
  private readonly seed: Uint8Array;
  private readonly sched: CascadeSchedule;
  private readonly copies: (BitArray | undefined)[] = [];
  private seq = 0;
  private disclosed = 0;

  constructor(bits: BitArray, cfg: CascadeConfig) {
    this.sched = checkConfig(bits, cfg);
    this.bits = bits.clone();
    this.seed = cfg.seed.slice();
  }

  /** Parity bits revealed so far (exactly the number of parity bits in all responses). */
  get disclosedBits(): number {
    return this.disclosed;
  }

  private copy(p: number): BitArray {
    let c = this.copies[p];
    if (!c) {
      c = p === 0 ? this.bits : permuteBits(this.bits, cascadePermutation(this.seed, p, this.bits.length));
      this.copies[p] = c;
    }
    return c;
  }

  respond(req: Uint8Array): Uint8Array {
    if (!(req instanceof Uint8Array)) throw new CascadeProtocolError("cascade request: not bytes");
    const n = this.bits.length;
    const { passes, blockSize, numBlocks } = this.sched;
    const r = new Reader(req, "cascade request");
    if (r.byte() !== VERSION) throw new CascadeProtocolError("cascade request: bad version");
    if (r.byte() !== KIND_REQUEST) throw new CascadeProtocolError("cascade request: not a request");
    const seq = r.varint(0xffffffff);
    if (seq !== this.seq + 1) throw new CascadeProtocolError(`cascade request: sequence ${seq}, expected ${this.seq + 1}`);
    const maxTotal = passes * n + 1;
    const nGroups = r.varint(maxTotal);
    if (nGroups === 0) throw new CascadeProtocolError("cascade request: empty");
    // Parse and validate everything before computing (and disclosing) anything.
    const qs: number[] = []; // triples (pass, start, end)
    let total = 0;
    for (let g = 0; g < nGroups; g++) {
      const p = r.varint(0xffffffff);
      if (p >= passes) throw new CascadeProtocolError(`cascade request: unknown pass ${p}`);
      const type = r.byte();
      const count = r.varint(n);
      if (count === 0) throw new CascadeProtocolError("cascade request: empty group");
      total += count;
      if (total > maxTotal) throw new CascadeProtocolError("cascade request: too many queries");
      if (type === TYPE_BLOCKS) {
        const first = r.varint(numBlocks[p]);
        if (first + count > numBlocks[p]) throw new CascadeProtocolError("cascade request: block index out of range");
        const k = blockSize[p];
        for (let b = first; b < first + count; b++) qs.push(p, b * k, min(n, (b + 1) * k));
      } else if (type === TYPE_RANGES) {
        let start = 0;
        for (let i = 0; i < count; i++) {
          start += r.varint(n);
          const len = r.varint(n);
          if (len === 0 || start + len > n) throw new CascadeProtocolError("cascade request: range out of bounds");
          qs.push(p, start, start + len);
        }
      } else {
        throw new CascadeProtocolError(`cascade request: unknown query type ${type}`);
      }
    }
    r.end();
    const nBits = qs.length / 3;
    const out = new Uint8Array((nBits + 7) >>> 3);
    for (let i = 0; i < nBits; i++) {
      if (this.copy(qs[3 * i]).parityRange(qs[3 * i + 1], qs[3 * i + 2])) out[i >>> 3] |= 1 << (i & 7);
    }
    this.seq = seq;
    this.disclosed += nBits;
    const w = new Writer();
    w.byte(VERSION);
    w.byte(KIND_RESPONSE);
    w.varint(seq);
    w.varint(nBits);
    w.bytes(out);
    return w.finish();
  }
}

// ---------------------------------------------------------------------------------------------
// Bob

interface Query {
  p: number;
  s: number;
  e: number;
}

/** Bob (holds the noisy key) drives reconciliation. */
export class CascadeBob {
  private readonly n: number;
  private readonly seed: Uint8Array;
  private readonly sched: CascadeSchedule;
  private readonly key: BitArray;
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
    if (!(resp instanceof Uint8Array)) throw new CascadeProtocolError("cascade response: not bytes");
    const r = new Reader(resp, "cascade response");
    if (r.byte() !== VERSION) throw new CascadeProtocolError("cascade response: bad version");
    if (r.byte() !== KIND_RESPONSE) throw new CascadeProtocolError("cascade response: not a response");
    const seq = r.varint(0xffffffff);
    if (seq !== this.seq) throw new CascadeProtocolError(`cascade response: sequence ${seq}, expected ${this.seq}`);
    const nBits = r.varint(0xffffffff);
    if (nBits !== qs.length) throw new CascadeProtocolError(`cascade response: ${nBits} parities, expected ${qs.length}`);
    const body = r.rest();
    if (body.length !== (nBits + 7) >>> 3) throw new CascadeProtocolError("cascade response: wrong length");
    if (nBits & 7 && body[body.length - 1] >>> (nBits & 7)) throw new CascadeProtocolError("cascade response: nonzero padding");
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
    const w = new Writer();
    w.byte(VERSION);
    w.byte(KIND_REQUEST);
    w.varint(++this.seq);
    const order: Query[] = [];
    if (top) {
      const { passes, numBlocks, blockSize, inferLastBlock } = this.sched;
      let groups = 0;
      for (let p = 0; p < passes; p++) if (numBlocks[p] - (inferLastBlock && p > 0 ? 1 : 0) > 0) groups++;
      w.varint(groups);
      for (let p = 0; p < passes; p++) {
        const cnt = numBlocks[p] - (inferLastBlock && p > 0 ? 1 : 0);
        if (cnt <= 0) continue;
        w.varint(p);
        w.byte(TYPE_BLOCKS);
        w.varint(cnt);
        w.varint(0);
        const k = blockSize[p];
        for (let b = 0; b < cnt; b++) order.push({ p, s: b * k, e: min(this.n, (b + 1) * k) });
      }
    } else {
      qs.sort((a, b) => a.p - b.p || a.s - b.s || a.e - b.e);
      let groups = 0;
      for (let i = 0; i < qs.length; i++) if (i === 0 || qs[i].p !== qs[i - 1].p) groups++;
      w.varint(groups);
      for (let i = 0; i < qs.length; ) {
        const p = qs[i].p;
        let j = i;
        while (j < qs.length && qs[j].p === p) j++;
        w.varint(p);
        w.byte(TYPE_RANGES);
        w.varint(j - i);
        let prev = 0;
        for (let t = i; t < j; t++) {
          w.varint(qs[t].s - prev);
          w.varint(qs[t].e - qs[t].s);
          prev = qs[t].s;
          order.push(qs[t]);
        }
        i = j;
      }
    }
    this.topFetched = true;
    this.pending = order;
    return w.finish();
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
    const km = this.known[p], copy = this.copies[p];
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
      let { p, s, e } = this.cand[ci];
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
    // An honest Alice's parities are consistent, so each correction removes an error; more
    // corrections than bits means the answered parities contradict each other.
    if (++this.corrected > this.n) throw new CascadeProtocolError("cascade: inconsistent parities from Alice");
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
              s = cs; e = ce;
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
        const s = floor(id / this.stride), e = id - s * this.stride;
        if ((a ^ copy.parityRange(s, e)) === 1) {
          this.addCand(p, s, e);
          found = true;
        }
      }
    }
    return found;
  }
}

/** Run both parties in one process. */
export function runCascadeLocal(alice: BitArray, bob: BitArray, cfg: CascadeConfig): CascadeResult {
  if (alice.length !== bob.length) throw new CascadeProtocolError("Cascade: key lengths differ");
  const A = new CascadeAlice(alice, cfg);
  const B = new CascadeBob(bob, cfg);
  for (let req = B.nextRequest(); req; req = B.nextRequest()) B.handleResponse(A.respond(req));
  const res = B.result();
  if (res.disclosedBits !== A.disclosedBits) throw new Error("Cascade: disclosed-bit accounting mismatch");
  return res;
}
