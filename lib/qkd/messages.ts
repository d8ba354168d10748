/**
 * Binary messages between Alice and Bob. Every message:
 *
 *   magic 0x51 ('Q') · version 1 · type · flags 0 · session id (16 bytes) · seq (u32 LE) · payload
 *   · CRC-32 (IEEE 802.3, u32 LE) of everything before it
 *
 * Integers are u32 little-endian; bit strings are bit-packed little-endian (bit i = bit i&7 of byte
 * i>>3) with zero padding, preceded by their bit length (the codec shared with Cascade: wire.ts).
 * Decoding is strict: a wrong magic, version, type, length, checksum, non-zero padding or trailing
 * byte raises MessageError, which the state machines turn into an abort. Nothing here is secret
 * except what the protocol reveals by design (the "qubits" message stands for the quantum channel
 * and is consumed by the channel model).
 */
import { BitArray } from "./bits";
import { WireReader, WireWriter } from "./wire";

export const MAGIC = 0x51;
export const VERSION = 1;
export const HEADER_BYTES = 24;
export const TRAILER_BYTES = 4;
export const SESSION_ID_BYTES = 16;

export enum MsgType {
  Hello = 1,
  Qubits = 2,
  Detect = 3,
  Sift = 4,
  Estimate = 5,
  CascadeRequest = 6,
  CascadeResponse = 7,
  CascadeDone = 8,
  Verify = 9,
  Confirm = 10,
  Abort = 11,
}

export const ABORT_CODES = [
  "QBER_TOO_HIGH",
  "KEY_TOO_SHORT",
  "VERIFICATION_FAILED",
  "PROTOCOL_ERROR",
  "PARAMS_MISMATCH",
  "INTERNAL_ERROR",
  "CANCELLED",
] as const;
export type AbortCode = (typeof ABORT_CODES)[number];

export interface HelloPayload {
  qubits: number;
  chunkSize: number;
  epsSec: number;
  epsCor: number;
  qberThreshold: number;
  cascadeVariant: string;
}

export type Payload =
  | { type: MsgType.Hello; hello: HelloPayload }
  | { type: MsgType.Qubits; offset: number; bits: BitArray; bases: BitArray }
  | { type: MsgType.Detect; detected: BitArray; bases: BitArray }
  | { type: MsgType.Sift; match: BitArray; sample: BitArray; sampleBits: BitArray }
  | { type: MsgType.Estimate; sampleBits: BitArray; cascadeSeed: Uint8Array }
  | { type: MsgType.CascadeRequest; body: Uint8Array }
  | { type: MsgType.CascadeResponse; body: Uint8Array }
  | { type: MsgType.CascadeDone; disclosedBits: number }
  | { type: MsgType.Verify; hashSeed: BitArray; hash: BitArray; ell: number; paSeed: BitArray }
  | { type: MsgType.Confirm }
  | { type: MsgType.Abort; code: AbortCode; message: string };

export interface Message {
  sessionId: Uint8Array;
  seq: number;
  payload: Payload;
}

export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MessageError";
  }
}

/** Upper bound on any bit string in a message (2^27 bits = 16 MiB), so lengths can't exhaust memory. */
export const MAX_BITS = 1 << 27;
const MAX_TEXT = 1024;

export function encodeMessage(msg: Message): Uint8Array {
  if (msg.sessionId.length !== SESSION_ID_BYTES) throw new RangeError("session id must be 16 bytes");
  const w = new WireWriter();
  const p = msg.payload;
  w.u8(MAGIC);
  w.u8(VERSION);
  w.u8(p.type);
  w.u8(0);
  w.bytes(msg.sessionId);
  w.u32(msg.seq);
  switch (p.type) {
    case MsgType.Hello: {
      const h = p.hello;
      w.u32(h.qubits);
      w.u32(h.chunkSize);
      w.f64(h.epsSec);
      w.f64(h.epsCor);
      w.f64(h.qberThreshold);
      w.text(h.cascadeVariant, MAX_TEXT);
      break;
    }
    case MsgType.Qubits:
      if (p.bits.length !== p.bases.length) throw new RangeError("qubits: bits and bases differ in length");
      w.u32(p.offset);
      w.bits(p.bits);
      w.bits(p.bases);
      break;
    case MsgType.Detect:
      w.bits(p.detected);
      w.bits(p.bases);
      break;
    case MsgType.Sift:
      w.bits(p.match);
      w.bits(p.sample);
      w.bits(p.sampleBits);
      break;
    case MsgType.Estimate:
      if (p.cascadeSeed.length !== 32) throw new RangeError("cascade seed must be 32 bytes");
      w.bits(p.sampleBits);
      w.bytes(p.cascadeSeed);
      break;
    case MsgType.CascadeRequest:
    case MsgType.CascadeResponse:
      w.blob(p.body);
      break;
    case MsgType.CascadeDone:
      w.u32(p.disclosedBits);
      break;
    case MsgType.Verify:
      w.bits(p.hashSeed);
      w.bits(p.hash);
      w.u32(p.ell);
      w.bits(p.paSeed);
      break;
    case MsgType.Confirm:
      break;
    case MsgType.Abort:
      w.u8(ABORT_CODES.indexOf(p.code));
      w.text(p.message, MAX_TEXT);
      break;
  }
  w.u32(crc32(w.view()));
  return w.finish();
}

/** Parse a message; throws MessageError on anything malformed. */
export function decodeMessage(buf: Uint8Array): Message {
  if (!(buf instanceof Uint8Array)) throw new MessageError("message is not a Uint8Array");
  if (buf.length < HEADER_BYTES + TRAILER_BYTES) throw new MessageError(`message too short (${buf.length} bytes)`);
  const body = buf.subarray(0, buf.length - TRAILER_BYTES);
  const sum = new DataView(buf.buffer, buf.byteOffset + body.length, TRAILER_BYTES).getUint32(0, true);
  if (crc32(body) !== sum) throw new MessageError("checksum mismatch (corrupted message)");
  const r = new WireReader(body, (reason) => new MessageError(reason));
  if (r.u8("magic") !== MAGIC) throw new MessageError("bad magic");
  if (r.u8("version") !== VERSION) throw new MessageError("unsupported version");
  const type = r.u8("type");
  if (r.u8("flags") !== 0) throw new MessageError("non-zero flags");
  const sessionId = r.bytes(SESSION_ID_BYTES, "session id");
  const seq = r.u32("seq");
  let payload: Payload;
  switch (type) {
    case MsgType.Hello: {
      const qubits = r.u32("qubits"),
        chunkSize = r.u32("chunk size");
      const epsSec = r.f64("epsSec"),
        epsCor = r.f64("epsCor"),
        qberThreshold = r.f64("qber threshold");
      const cascadeVariant = r.text("cascade variant", MAX_TEXT);
      payload = { type, hello: { qubits, chunkSize, epsSec, epsCor, qberThreshold, cascadeVariant } };
      break;
    }
    case MsgType.Qubits: {
      const offset = r.u32("offset");
      const bits = r.bits("qubit values", MAX_BITS),
        bases = r.bits("qubit bases", MAX_BITS);
      if (bits.length !== bases.length) throw new MessageError("qubits: values and bases differ in length");
      payload = { type, offset, bits, bases };
      break;
    }
    case MsgType.Detect:
      payload = { type, detected: r.bits("detection mask", MAX_BITS), bases: r.bits("Bob's bases", MAX_BITS) };
      break;
    case MsgType.Sift:
      payload = { type, match: r.bits("basis match", MAX_BITS), sample: r.bits("test sample", MAX_BITS), sampleBits: r.bits("sample bits", MAX_BITS) };
      break;
    case MsgType.Estimate:
      payload = { type, sampleBits: r.bits("sample bits", MAX_BITS), cascadeSeed: r.bytes(32, "cascade seed") };
      break;
    case MsgType.CascadeRequest:
    case MsgType.CascadeResponse:
      payload = { type, body: r.blob("cascade body", MAX_BITS / 8) };
      break;
    case MsgType.CascadeDone:
      payload = { type, disclosedBits: r.u32("disclosed bits") };
      break;
    case MsgType.Verify:
      payload = { type, hashSeed: r.bits("hash seed", MAX_BITS), hash: r.bits("hash", MAX_BITS), ell: r.u32("ell"), paSeed: r.bits("PA seed", MAX_BITS) };
      break;
    case MsgType.Confirm:
      payload = { type };
      break;
    case MsgType.Abort: {
      const c = r.u8("abort code");
      if (c >= ABORT_CODES.length) throw new MessageError("unknown abort code");
      payload = { type, code: ABORT_CODES[c], message: r.text("abort message", MAX_TEXT) };
      break;
    }
    default:
      throw new MessageError(`unknown message type ${type}`);
  }
  r.end();
  return { sessionId, seq, payload };
}

/**
 * Number of parity bits carried by a Cascade response, read from its wire format
 * (0x01 0x02 varint(seq) varint(nBits) packed[⌈nBits/8⌉], see cascade/wire.ts). This is how both
 * parties count leak_EC from the bytes actually sent.
 */
export function cascadeResponseParityCount(body: Uint8Array): number {
  if (body.length < 2 || body[0] !== 1 || body[1] !== 2) throw new MessageError("cascade response: bad header");
  const r = new WireReader(body, (reason) => new MessageError(`cascade response: ${reason}`));
  r.pos = 2;
  // Lenient varints: this only counts; Bob's Cascade parser (cascade/wire.ts) validates the body strictly.
  r.varint(Infinity, false);
  const nBits = r.varint(Infinity, false);
  if (r.remaining !== (nBits + 7) >>> 3) throw new MessageError("cascade response: length does not match parity count");
  return nBits;
}

/*
 * CRC-32 guards against accidental corruption and implementation bugs only; integrity against an
 * adversary comes from the authenticated channel the messages travel over (BB84 assumes one; in
 * QSEC the relay path is end-to-end encrypted and signed under the pair's key).
 */
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  const t = CRC_TABLE;
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

export function messageTypeName(t: number): string {
  return MsgType[t] ?? `type ${t}`;
}
