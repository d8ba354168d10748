/**
 * Attachment encryption: AES-256-GCM in the STREAM construction of Hoang, Reyhanitabar, Rogaway and
 * Vizár ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7),
 * so a file of any size is sealed and opened one 64 KiB segment at a time (bounded memory).
 *
 * Layout of the ciphertext the server stores (it never sees the key):
 *   header  = "QSA1" ‖ fileId (16 random bytes) ‖ u32 segment size           (24 bytes)
 *   segment = AES-256-GCM(fileKey, nonce_i, AAD, plaintext_i) ‖ tag            (≤ 64 KiB + 16)
 *   nonce_i = fileId[0..7) ‖ u32 i ‖ u8 last                                   (STREAM: prefix ‖ counter ‖ last flag)
 *   AAD     = "QSEC-ATT1" ‖ fileId ‖ u32 segment size
 * Every file has its own random 256-bit key, so no (key, nonce) pair ever repeats across files;
 * the counter in the nonce detects reordering and duplication, the last flag detects truncation at
 * a segment boundary (and appending after the end), and the file id in the AAD detects splicing of
 * segments from another file even under the same key. A file of 0 bytes is one empty last segment.
 * The file key and id travel only inside the end-to-end encrypted message that announces the file.
 */
import { subtle, randomBytes } from "./subtle";
import { concatBytes, utf8 } from "./encoding";

export const SEGMENT_BYTES = 65_536;
export const TAG_BYTES = 16;
export const HEADER_BYTES = 24;
export const FILE_KEY_BYTES = 32;
export const FILE_ID_BYTES = 16;
const SEALED_SEGMENT = SEGMENT_BYTES + TAG_BYTES;
const MAGIC = utf8("QSA1");
const AAD_LABEL = utf8("QSEC-ATT1");

/** Why an attachment could not be opened; the message says which segment and why, for the UI. */
export type AttachmentErrorReason = "bad-header" | "wrong-file" | "segment-failed" | "truncated" | "too-long" | "bad-key";

export class AttachmentIntegrityError extends Error {
  readonly reason: AttachmentErrorReason;
  constructor(reason: AttachmentErrorReason, message: string) {
    super(`attachment ${reason}: ${message}`);
    this.name = "AttachmentIntegrityError";
    this.reason = reason;
  }
}

/** Stored (ciphertext) size for a plaintext of n bytes: header + n + one tag per segment (at least one). */
export function ciphertextSize(plainBytes: number): number {
  if (!Number.isSafeInteger(plainBytes) || plainBytes < 0) throw new RangeError("plaintext size must be a non-negative integer");
  return HEADER_BYTES + plainBytes + TAG_BYTES * segmentCount(plainBytes);
}

export function segmentCount(plainBytes: number): number {
  return Math.max(1, Math.ceil(plainBytes / SEGMENT_BYTES));
}

/** The plaintext size a stored ciphertext of this size holds; throws when no plaintext size maps to it. */
export function plaintextSize(cipherBytes: number): number {
  const body = cipherBytes - HEADER_BYTES;
  if (!Number.isSafeInteger(cipherBytes) || body < TAG_BYTES)
    throw new AttachmentIntegrityError("truncated", `ciphertext of ${cipherBytes} bytes is shorter than one segment`);
  const full = Math.floor(body / SEALED_SEGMENT);
  const rest = body - full * SEALED_SEGMENT;
  if (rest === 0) return full * SEGMENT_BYTES;
  if (rest < TAG_BYTES) throw new AttachmentIntegrityError("truncated", `ciphertext of ${cipherBytes} bytes ends inside a segment tag`);
  return full * SEGMENT_BYTES + rest - TAG_BYTES;
}

export interface FileSecret {
  /** The raw 256-bit file key: carried only inside the end-to-end encrypted announcement. */
  rawKey: Uint8Array<ArrayBuffer>;
  fileId: Uint8Array<ArrayBuffer>;
}

/** A fresh file key and file id, from crypto.getRandomValues. */
export function newFileSecret(): FileSecret {
  return { rawKey: randomBytes(FILE_KEY_BYTES), fileId: randomBytes(FILE_ID_BYTES) };
}

/** The AES-GCM key of a file (non-extractable). */
export async function importFileKey(rawKey: Uint8Array): Promise<CryptoKey> {
  if (!(rawKey instanceof Uint8Array) || rawKey.length !== FILE_KEY_BYTES) throw new AttachmentIntegrityError("bad-key", "a file key is 32 bytes");
  return subtle().importKey("raw", new Uint8Array(rawKey), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

function u32(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

export function encodeHeader(fileId: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(MAGIC, fileId, u32(SEGMENT_BYTES));
}

/** Checks a stored header against the file id from the announcement. */
export function checkHeader(header: Uint8Array, fileId: Uint8Array): void {
  if (header.length < HEADER_BYTES) throw new AttachmentIntegrityError("truncated", "the stream ended inside its header");
  for (let i = 0; i < 4; i++) if (header[i] !== MAGIC[i]) throw new AttachmentIntegrityError("bad-header", "not a QSEC attachment (bad magic)");
  const size = new DataView(header.buffer, header.byteOffset + 20, 4).getUint32(0);
  if (size !== SEGMENT_BYTES) throw new AttachmentIntegrityError("bad-header", `unsupported segment size ${size}`);
  let diff = 0;
  for (let i = 0; i < FILE_ID_BYTES; i++) diff |= header[4 + i]! ^ fileId[i]!;
  if (diff !== 0) throw new AttachmentIntegrityError("wrong-file", "the stored file is not the one the message announced");
}

function nonce(fileId: Uint8Array, index: number, last: boolean): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** 32) throw new RangeError("segment index out of range");
  const n = new Uint8Array(12);
  n.set(fileId.subarray(0, 7), 0);
  new DataView(n.buffer).setUint32(7, index);
  n[11] = last ? 1 : 0;
  return n;
}

function aad(fileId: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(AAD_LABEL, fileId, u32(SEGMENT_BYTES));
}

export async function sealSegment(key: CryptoKey, fileId: Uint8Array, index: number, last: boolean, plain: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (plain.length > SEGMENT_BYTES || (!last && plain.length !== SEGMENT_BYTES)) throw new RangeError("only the last segment may be short");
  const ct = await subtle().encrypt({ name: "AES-GCM", iv: nonce(fileId, index, last), additionalData: aad(fileId) }, key, new Uint8Array(plain));
  return new Uint8Array(ct);
}

export async function openSegment(key: CryptoKey, fileId: Uint8Array, index: number, last: boolean, sealed: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const pt = await subtle().decrypt({ name: "AES-GCM", iv: nonce(fileId, index, last), additionalData: aad(fileId) }, key, new Uint8Array(sealed));
    return new Uint8Array(pt);
  } catch {
    const hint = last
      ? "the file was truncated, extended, or this segment was tampered with or moved"
      : "this segment was tampered with, reordered, duplicated or spliced from another file";
    throw new AttachmentIntegrityError("segment-failed", `segment ${index} failed authentication: ${hint}`);
  }
}

/** Random-access plaintext: a browser File/Blob or a Node file handle. */
export interface PlainSource {
  readonly size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

export function blobSource(blob: Blob): PlainSource {
  return { size: blob.size, read: async (s, e) => new Uint8Array(await blob.slice(s, e).arrayBuffer()) };
}

export function bytesSource(bytes: Uint8Array): PlainSource {
  return { size: bytes.length, read: async (s, e) => bytes.subarray(s, e) };
}

/**
 * Bytes [start, end) of the ciphertext of `source`, computed on demand: only the segments that
 * cover the range are read and sealed. Sealing is deterministic for a given (key, file id, plaintext),
 * so an upload resumed at any offset re-derives exactly the bytes the server is missing, and memory
 * holds one chunk at a time. (A source whose bytes change mid-upload would reuse nonces on different
 * plaintext; browsers refuse to read a File that changed on disk after it was picked.)
 */
export async function encryptRange(key: CryptoKey, fileId: Uint8Array, source: PlainSource, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  const total = ciphertextSize(source.size);
  end = Math.min(end, total);
  if (start < 0 || start > end) throw new RangeError("bad ciphertext range");
  const parts: Uint8Array[] = [];
  let pos = start;
  if (pos < HEADER_BYTES) {
    parts.push(encodeHeader(fileId).subarray(pos, Math.min(end, HEADER_BYTES)));
    pos = Math.min(end, HEADER_BYTES);
  }
  const segs = segmentCount(source.size);
  while (pos < end) {
    const i = Math.floor((pos - HEADER_BYTES) / SEALED_SEGMENT);
    const segStart = HEADER_BYTES + i * SEALED_SEGMENT;
    const plain = await source.read(i * SEGMENT_BYTES, Math.min(source.size, (i + 1) * SEGMENT_BYTES));
    const sealed = await sealSegment(key, fileId, i, i === segs - 1, plain);
    const from = pos - segStart;
    const to = Math.min(sealed.length, end - segStart);
    parts.push(sealed.subarray(from, to));
    pos = segStart + to;
  }
  return concatBytes(...parts);
}

/**
 * A TransformStream from stored ciphertext to plaintext, one segment at a time. It errors (and so
 * never completes) on a bad header, a segment that fails authentication, or a stream that ends
 * early: a reader that only offers the file once the stream closes never offers a partial file.
 * `startSegment` resumes a download whose bytes before segment k were already opened (the input
 * then starts at that segment's first byte, with no header).
 */
export function decryptStream(key: CryptoKey, fileId: Uint8Array, opts: { startSegment?: number } = {}): TransformStream<Uint8Array, Uint8Array> {
  let index = opts.startSegment ?? 0;
  let headerDone = index > 0;
  let buf = new Uint8Array(0);
  const append = (chunk: Uint8Array) => {
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf, 0);
    next.set(chunk, buf.length);
    buf = next;
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      append(chunk);
      if (!headerDone) {
        if (buf.length < HEADER_BYTES) return;
        checkHeader(buf.subarray(0, HEADER_BYTES), fileId);
        buf = buf.slice(HEADER_BYTES);
        headerDone = true;
      }
      // Keep one whole segment back: only the end of the stream says which segment is the last.
      let at = 0;
      while (buf.length - at > SEALED_SEGMENT) {
        controller.enqueue(await openSegment(key, fileId, index, false, buf.subarray(at, at + SEALED_SEGMENT)));
        at += SEALED_SEGMENT;
        index += 1;
      }
      if (at > 0) buf = buf.slice(at);
    },
    async flush(controller) {
      if (!headerDone) throw new AttachmentIntegrityError("truncated", "the stream ended inside its header");
      if (buf.length < TAG_BYTES) throw new AttachmentIntegrityError("truncated", `the stream ended inside segment ${index}`);
      controller.enqueue(await openSegment(key, fileId, index, true, buf));
    },
  });
}

/** Encrypts a whole in-memory file (small files, tests); large files go through encryptRange. */
export async function encryptBytes(key: CryptoKey, fileId: Uint8Array, plain: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return encryptRange(key, fileId, bytesSource(plain), 0, ciphertextSize(plain.length));
}

/** Decrypts a whole in-memory ciphertext through decryptStream (tests, small files). */
export async function decryptBytes(key: CryptoKey, fileId: Uint8Array, sealed: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const out: Uint8Array[] = [];
  const input = new ReadableStream<Uint8Array>({
    start(c) {
      for (let o = 0; o < sealed.length; o += 50_000) c.enqueue(sealed.subarray(o, o + 50_000));
      c.close();
    },
  });
  const reader = input.pipeThrough(decryptStream(key, fileId)).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value);
  }
  return concatBytes(...out);
}
