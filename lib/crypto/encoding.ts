/**
 * Byte helpers shared by every module: base64url (no padding, canonical only), UTF-8, concatenation,
 * constant-time comparison and the length-prefixed transcript that every signature and AAD is built
 * from. Pure JS: runs in browsers and Node alike.
 */
import { CryptoError } from "./errors";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LOOKUP = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** base64url without padding. */
export function toB64url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/**
 * Strict base64url decoder: no padding, no whitespace, no other alphabet, and canonical only (the
 * unused low bits of the last character must be zero), so each byte string has exactly one encoding.
 * Throws CryptoError("bad-encoding") otherwise.
 */
export function fromB64url(s: string): Uint8Array<ArrayBuffer> {
  if (typeof s !== "string") throw new CryptoError("bad-encoding", "base64url: not a string");
  const len = s.length;
  if (len % 4 === 1) throw new CryptoError("bad-encoding", "base64url: impossible length");
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  const val = (i: number): number => {
    const c = s.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) throw new CryptoError("bad-encoding", "base64url: invalid character");
    return v;
  };
  let o = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const n = (val(i) << 18) | (val(i + 1) << 12) | (val(i + 2) << 6) | val(i + 3);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = len - i;
  if (rest === 2) {
    const n = (val(i) << 18) | (val(i + 1) << 12);
    if (n & 0xffff) throw new CryptoError("bad-encoding", "base64url: non-canonical");
    out[o++] = n >> 16;
  } else if (rest === 3) {
    const n = (val(i) << 18) | (val(i + 1) << 12) | (val(i + 2) << 6);
    if (n & 0xff) throw new CryptoError("bad-encoding", "base64url: non-canonical");
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/** Strict UTF-8 decoding: throws CryptoError("bad-encoding") on malformed input. */
export function fromUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new CryptoError("bad-encoding", "invalid UTF-8");
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new CryptoError("bad-encoding", "hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A transcript field: text (UTF-8), raw bytes, or a non-negative safe integer (u64 big-endian). */
export type TranscriptField = string | number | Uint8Array;

const TAG_STRING = 1;
const TAG_BYTES = 2;
const TAG_UINT = 3;

/**
 * Unambiguous encoding of a domain label and a list of fields:
 *   "QSECT1" ‖ u32(fieldCount + 1) ‖ for the label and each field: tag(1 byte) ‖ u32 BE length ‖ bytes
 * Tags separate text, bytes and integers; length prefixes mean no field can shift into its
 * neighbour; the label comes first, so transcripts for different purposes never collide.
 */
export function transcript(label: string, ...fields: TranscriptField[]): Uint8Array<ArrayBuffer> {
  const items: { tag: number; bytes: Uint8Array }[] = [{ tag: TAG_STRING, bytes: utf8(label) }];
  for (const f of fields) {
    if (typeof f === "string") items.push({ tag: TAG_STRING, bytes: utf8(f) });
    else if (typeof f === "number") items.push({ tag: TAG_UINT, bytes: u64be(f) });
    else if (f instanceof Uint8Array) items.push({ tag: TAG_BYTES, bytes: f });
    else throw new CryptoError("bad-encoding", "transcript: unsupported field type");
  }
  const magic = utf8("QSECT1");
  let total = magic.length + 4;
  for (const it of items) total += 5 + it.bytes.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(magic, 0);
  let o = magic.length;
  view.setUint32(o, items.length);
  o += 4;
  for (const it of items) {
    out[o] = it.tag;
    view.setUint32(o + 1, it.bytes.length);
    out.set(it.bytes, o + 5);
    o += 5 + it.bytes.length;
  }
  return out;
}

export function u64be(n: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(n) || n < 0) throw new CryptoError("bad-encoding", "integer out of range");
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 2 ** 32));
  view.setUint32(4, n >>> 0);
  return out;
}

/** WebCrypto wants a BufferSource backed by an ArrayBuffer; this copies when it is not. */
export function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b);
}
