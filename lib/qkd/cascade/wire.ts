/**
 * Cascade's messages (the body of messages.ts's CascadeRequest / CascadeResponse), in the shared
 * codec (../wire.ts). All integers are unsigned LEB128 varints:
 *
 *   request  = 0x01 0x01 seq nGroups { pass type count (type 0: firstBlock | type 1: count × (startDelta len)) }
 *   response = 0x01 0x02 seq nBits packedBits[ceil(nBits/8)]   (bit i = byte i>>3, bit i&7; padding 0)
 *
 * A query is a range [start, end) of a pass's permuted index space (type 1), or a run of top-level
 * blocks (type 0). Parities are answered in request order: group by group, item by item.
 */
import { WireReader, WireWriter } from "../wire";
import { CascadeProtocolError, CascadeSchedule } from "./schedule";

// Module-scope alias: global lookups are slow inside vm contexts (Jest).
const { min } = Math;

const VERSION = 1;
const KIND_REQUEST = 1;
const KIND_RESPONSE = 2;
const TYPE_BLOCKS = 0;
const TYPE_RANGES = 1;

/** One parity query: the range [s, e) of pass p's permuted key. */
export interface Query {
  p: number;
  s: number;
  e: number;
}

/** An encoded request and its queries in the order their parities will be answered. */
export interface EncodedRequest {
  body: Uint8Array;
  order: Query[];
}

function requestWriter(seq: number): WireWriter {
  const w = new WireWriter();
  w.u8(VERSION);
  w.u8(KIND_REQUEST);
  w.varint(seq);
  return w;
}

/**
 * Bob's first request: every top-level block of every pass (the same whatever he corrects later),
 * except, when the schedule infers it, the last block of each pass after the first.
 */
export function encodeTopRequest(seq: number, sched: CascadeSchedule, n: number): EncodedRequest {
  const w = requestWriter(seq);
  const order: Query[] = [];
  const { passes, numBlocks, blockSize, inferLastBlock } = sched;
  let groups = 0;
  for (let p = 0; p < passes; p++) if (numBlocks[p] - (inferLastBlock && p > 0 ? 1 : 0) > 0) groups++;
  w.varint(groups);
  for (let p = 0; p < passes; p++) {
    const cnt = numBlocks[p] - (inferLastBlock && p > 0 ? 1 : 0);
    if (cnt <= 0) continue;
    w.varint(p);
    w.u8(TYPE_BLOCKS);
    w.varint(cnt);
    w.varint(0);
    const k = blockSize[p];
    for (let b = 0; b < cnt; b++) order.push({ p, s: b * k, e: min(n, (b + 1) * k) });
  }
  return { body: w.finish(), order };
}

/** A request for arbitrary ranges; sorts `qs` in place (by pass, start, end) and answers in that order. */
export function encodeRangeRequest(seq: number, qs: Query[]): EncodedRequest {
  const w = requestWriter(seq);
  const order: Query[] = [];
  qs.sort((a, b) => a.p - b.p || a.s - b.s || a.e - b.e);
  let groups = 0;
  for (let i = 0; i < qs.length; i++) if (i === 0 || qs[i].p !== qs[i - 1].p) groups++;
  w.varint(groups);
  for (let i = 0; i < qs.length;) {
    const p = qs[i].p;
    let j = i;
    while (j < qs.length && qs[j].p === p) j++;
    w.varint(p);
    w.u8(TYPE_RANGES);
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
  return { body: w.finish(), order };
}

/**
 * Alice's parser: the whole request is validated before anything is computed (and disclosed).
 * Returns its sequence number and the queries as flat triples (pass, start, end).
 */
export function decodeRequest(req: Uint8Array, sched: CascadeSchedule, n: number, expectedSeq: number): { seq: number; qs: number[] } {
  if (!(req instanceof Uint8Array)) throw new CascadeProtocolError("cascade request: not bytes");
  const { passes, blockSize, numBlocks } = sched;
  const r = new WireReader(req, (reason) => new CascadeProtocolError(`cascade request: ${reason}`));
  if (r.u8() !== VERSION) throw new CascadeProtocolError("cascade request: bad version");
  if (r.u8() !== KIND_REQUEST) throw new CascadeProtocolError("cascade request: not a request");
  const seq = r.varint(0xffffffff);
  if (seq !== expectedSeq) throw new CascadeProtocolError(`cascade request: sequence ${seq}, expected ${expectedSeq}`);
  const maxTotal = passes * n + 1;
  const nGroups = r.varint(maxTotal);
  if (nGroups === 0) throw new CascadeProtocolError("cascade request: empty");
  const qs: number[] = [];
  let total = 0;
  for (let g = 0; g < nGroups; g++) {
    const p = r.varint(0xffffffff);
    if (p >= passes) throw new CascadeProtocolError(`cascade request: unknown pass ${p}`);
    const type = r.u8();
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
  r.end("trailing bytes");
  return { seq, qs };
}

/** Alice's answer: `nBits` parities packed in `parities`. */
export function encodeResponse(seq: number, parities: Uint8Array, nBits: number): Uint8Array {
  const w = new WireWriter();
  w.u8(VERSION);
  w.u8(KIND_RESPONSE);
  w.varint(seq);
  w.varint(nBits);
  w.bytes(parities);
  return w.finish();
}

/** Bob's parser: checks the sequence number and the parity count; returns the packed parities. */
export function decodeResponse(resp: Uint8Array, expectedSeq: number, expectedBits: number): Uint8Array {
  if (!(resp instanceof Uint8Array)) throw new CascadeProtocolError("cascade response: not bytes");
  const r = new WireReader(resp, (reason) => new CascadeProtocolError(`cascade response: ${reason}`));
  if (r.u8() !== VERSION) throw new CascadeProtocolError("cascade response: bad version");
  if (r.u8() !== KIND_RESPONSE) throw new CascadeProtocolError("cascade response: not a response");
  const seq = r.varint(0xffffffff);
  if (seq !== expectedSeq) throw new CascadeProtocolError(`cascade response: sequence ${seq}, expected ${expectedSeq}`);
  const nBits = r.varint(0xffffffff);
  if (nBits !== expectedBits) throw new CascadeProtocolError(`cascade response: ${nBits} parities, expected ${expectedBits}`);
  const body = r.rest();
  if (body.length !== (nBits + 7) >>> 3) throw new CascadeProtocolError("cascade response: wrong length");
  if (nBits & 7 && body[body.length - 1] >>> (nBits & 7)) throw new CascadeProtocolError("cascade response: nonzero padding");
  return body;
}
