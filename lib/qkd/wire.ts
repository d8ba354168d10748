/**
 * The one byte codec of every QKD message: the envelope and payloads of messages.ts and the Cascade
 * discussion inside them (cascade/wire.ts). Integers are u32 little-endian or unsigned LEB128
 * varints; bit strings are bit-packed little-endian (bit i = bit i&7 of byte i>>3) with zero padding.
 *
 * Decoding is strict and never throws anything but the error its format chose: each reader is given
 * a `fail` factory, so messages.ts raises MessageError and Cascade raises CascadeProtocolError, with
 * the same wording as before they shared this file (those texts travel in Abort messages).
 */
import { BitArray } from "./bits";

// Module-scope alias: global lookups are slow inside vm contexts (Jest), and varints sit in hot loops.
const { floor } = Math;

/** Growable output buffer. */
export class WireWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  private grow(extra: number) {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  u8(v: number) {
    this.grow(1);
    this.buf[this.len++] = v;
  }

  u32(v: number) {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new RangeError("u32 out of range");
    this.grow(4);
    const b = this.buf;
    b[this.len++] = v & 0xff;
    b[this.len++] = (v >>> 8) & 0xff;
    b[this.len++] = (v >>> 16) & 0xff;
    b[this.len++] = v >>> 24;
  }

  f64(v: number) {
    this.grow(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.len, v, true);
    this.len += 8;
  }

  /** Unsigned LEB128, minimal (values up to 2^35 − 1 fit the 5 bytes readers accept). */
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

  /** u32 byte length, then the bytes. */
  blob(b: Uint8Array) {
    this.u32(b.length);
    this.bytes(b);
  }

  /** u32 bit length, then the packed bits. */
  bits(b: BitArray) {
    this.u32(b.length);
    this.bytes(b.toBytes());
  }

  /** UTF-8, cut to at most `maxBytes` bytes, preceded by its u32 byte length. */
  text(s: string, maxBytes: number) {
    this.blob(new TextEncoder().encode(s).subarray(0, maxBytes));
  }

  /** The bytes written so far (a view: valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Strict reader: every malformed input throws `fail(reason)`. */
export class WireReader {
  pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly fail: (reason: string) => Error,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what?: string) {
    if (this.pos + n > this.buf.length) throw this.fail(what ? `truncated ${what}` : "truncated");
  }

  u8(what?: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u32(what: string): number {
    this.need(4, what);
    const b = this.buf,
      p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /**
   * Unsigned LEB128 of at most 5 bytes. `minimal` rejects a redundant final 0x00 byte (so each value
   * has exactly one encoding); `max` bounds the value.
   */
  varint(max = Number.MAX_SAFE_INTEGER, minimal = true): number {
    let v = 0,
      mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) {
        if (minimal && i > 0 && b === 0) throw this.fail("non-minimal varint");
        if (v > max) throw this.fail(`value ${v} out of range`);
        return v;
      }
      mul *= 128;
    }
    throw this.fail("varint too long");
  }

  /** A copy of the next n bytes. */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Everything left (a view). */
  rest(): Uint8Array {
    const r = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return r;
  }

  /** u32 byte length (≤ maxBytes), then the bytes. */
  blob(what: string, maxBytes: number): Uint8Array {
    const len = this.u32(`${what} length`);
    if (len > maxBytes) throw this.fail(`${what}: too long`);
    return this.bytes(len, what);
  }

  /** u32 bit length (≤ maxBits), then the packed bits with zero padding. */
  bits(what: string, maxBits: number): BitArray {
    const len = this.u32(`${what} length`);
    if (len > maxBits) throw this.fail(`${what}: ${len} bits exceeds limit ${maxBits}`);
    const nb = (len + 7) >>> 3;
    this.need(nb, what);
    const bytes = this.buf.subarray(this.pos, this.pos + nb);
    if ((len & 7) !== 0 && bytes[nb - 1] >>> (len & 7) !== 0) throw this.fail(`${what}: non-zero padding`);
    this.pos += nb;
    return BitArray.fromBytes(bytes, len);
  }

  /** A blob (≤ maxBytes) that must be valid UTF-8. */
  text(what: string, maxBytes: number): string {
    const bytes = this.blob(what, maxBytes);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw this.fail(`${what}: invalid UTF-8`);
    }
  }

  /** Nothing may follow the last field. */
  end(reason = `${this.remaining} trailing bytes`) {
    if (this.pos !== this.buf.length) throw this.fail(reason);
  }
}
