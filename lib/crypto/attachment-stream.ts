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

// WebCrypto takes a copy of its input before it returns (WebCrypto spec: "get a copy of the bytes
// held by the data parameter"), so segments are passed as views, without a copy of our own.
export async function sealSegment(key: CryptoKey, fileId: Uint8Array, index: number, last: boolean, plain: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (plain.length > SEGMENT_BYTES || (!last && plain.length !== SEGMENT_BYTES)) throw new RangeError("only the last segment may be short");
  const ct = await subtle().encrypt({ name: "AES-GCM", iv: nonce(fileId, index, last), additionalData: aad(fileId) }, key, plain as Uint8Array<ArrayBuffer>);
  return new Uint8Array(ct);
}

export async function openSegment(key: CryptoKey, fileId: Uint8Array, index: number, last: boolean, sealed: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const pt = await subtle().decrypt({ name: "AES-GCM", iv: nonce(fileId, index, last), additionalData: aad(fileId) }, key, sealed as Uint8Array<ArrayBuffer>);
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
  /**
   * Optional: bytes [start, end) read into `into` (at least end − start long), for callers that
   * reuse their buffers. Returns the filled view, which may be over a new ArrayBuffer object (a BYOB
   * stream read transfers the one it was given): use its buffer next time, not `into`'s.
   */
  readInto?(start: number, end: number, into: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
  /** Releases what the source holds open (a file stream): called when an upload ends. */
  close?(): void;
  /** The Blob or File behind a browser source (a Web Worker can read it: the upload's staging worker). */
  readonly blob?: Blob;
}

/** Whether this environment's Blob streams take BYOB readers (reads into a caller's buffer). */
function blobStreamsTakeByob(): boolean {
  try {
    const r = new Blob([]).stream().getReader({ mode: "byob" });
    void r.cancel().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/**
 * A File or Blob as a source. Sequential readInto calls (an upload's chunks in order) read one
 * stream of the file with a BYOB reader into the caller's buffer: no new buffer per chunk, so no
 * garbage for the JS heap to collect (a slice's arrayBuffer() allocates a fresh one every time). A
 * read elsewhere than where the last one ended (a retry, a resume) opens the stream there; reads
 * run one at a time, in the order they were asked for.
 */
export function blobSource(blob: Blob): PlainSource {
  let byob: boolean | null = null;
  let reader: ReadableStreamBYOBReader | null = null;
  let at = -1;
  let queue: Promise<unknown> = Promise.resolve();
  const close = () => {
    void reader?.cancel().catch(() => undefined);
    reader = null;
    at = -1;
  };
  const readInto = async (s: number, e: number, into: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> => {
    byob ??= blobStreamsTakeByob();
    const n = e - s;
    if (!byob || n === 0) {
      into.set(new Uint8Array(await blob.slice(s, e).arrayBuffer()));
      return into.subarray(0, n);
    }
    if (!reader || at !== s) {
      close();
      reader = blob.slice(s).stream().getReader({ mode: "byob" });
    }
    let buffer = into.buffer;
    const offset = into.byteOffset;
    let filled = 0;
    try {
      while (filled < n) {
        const { value, done } = await reader.read(new Uint8Array(buffer, offset + filled, n - filled));
        if (done || !value) throw new Error(`the file ended after ${s + filled} of ${blob.size} bytes`);
        buffer = value.buffer as ArrayBuffer;
        filled += value.length;
      }
    } catch (err) {
      close();
      throw err;
    }
    at = e;
    return new Uint8Array(buffer, offset, n);
  };
  return {
    size: blob.size,
    blob,
    read: async (s, e) => new Uint8Array(await blob.slice(s, e).arrayBuffer()),
    readInto: (s, e, into) => {
      const run = queue.then(() => readInto(s, e, into));
      queue = run.catch(() => undefined);
      return run;
    },
    close,
  };
}

export function bytesSource(bytes: Uint8Array): PlainSource {
  return {
    size: bytes.length,
    read: async (s, e) => bytes.subarray(s, e),
    readInto: async (s, e, into) => {
      into.set(bytes.subarray(s, e));
      return into.subarray(0, e - s);
    },
  };
}

/** The segments, and the plaintext bytes, that ciphertext bytes [start, end) of a `size`-byte file need (null: the header only). */
export function segmentsOf(size: number, start: number, end: number): { first: number; last: number; plainStart: number; plainEnd: number } | null {
  const total = ciphertextSize(size);
  end = Math.min(end, total);
  if (start < 0 || start > end) throw new RangeError("bad ciphertext range");
  const pos = Math.max(start, HEADER_BYTES);
  if (pos >= end) return null;
  const first = Math.floor((pos - HEADER_BYTES) / SEALED_SEGMENT);
  const last = Math.min(segmentCount(size) - 1, Math.floor((end - 1 - HEADER_BYTES) / SEALED_SEGMENT));
  return { first, last, plainStart: first * SEGMENT_BYTES, plainEnd: Math.min(size, (last + 1) * SEGMENT_BYTES) };
}

/**
 * Bytes [start, end) of the ciphertext of a `size`-byte file, written into `out` from `plain`, the
 * plaintext of the segments segmentsOf(size, start, end) names (empty for a header-only range).
 * The segments are sealed concurrently (WebCrypto works off the main thread), and every
 * encryption is started before this returns its promise: WebCrypto copies its input when called
 * (WebCrypto spec: "get a copy of the bytes held by the data parameter"), so the caller may reuse
 * `plain` as soon as this returns. Returns out.subarray(0, end − start).
 */
export function sealRangeInto(
  key: CryptoKey,
  fileId: Uint8Array,
  size: number,
  plain: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  end = Math.min(end, ciphertextSize(size));
  const range = segmentsOf(size, start, end);
  if (out.length < end - start) throw new RangeError("output buffer too small");
  const view = out.subarray(0, end - start);
  if (start < HEADER_BYTES) view.set(encodeHeader(fileId).subarray(start, Math.min(end, HEADER_BYTES)), 0);
  if (!range) return Promise.resolve(view);
  const { first, last, plainStart } = range;
  if (plain.length !== range.plainEnd - plainStart) throw new RangeError("plaintext does not cover the range's segments");
  const segs = segmentCount(size);
  const pos = Math.max(start, HEADER_BYTES);
  const sealing = Array.from({ length: last - first + 1 }, (_, k) => {
    const i = first + k;
    const from = i * SEGMENT_BYTES - plainStart;
    return sealSegment(key, fileId, i, i === segs - 1, plain.subarray(from, Math.min(plain.length, from + SEGMENT_BYTES)));
  });
  return Promise.all(sealing).then((sealed) => {
    for (let k = 0; k < sealed.length; k++) {
      const segStart = HEADER_BYTES + (first + k) * SEALED_SEGMENT;
      const from = Math.max(0, pos - segStart);
      const to = Math.min(sealed[k]!.length, end - segStart);
      view.set(sealed[k]!.subarray(from, to), segStart + from - start);
    }
    return view;
  });
}

/**
 * Bytes [start, end) of the ciphertext of `source`, computed on demand: only the segments that
 * cover the range are read (in one read) and sealed (concurrently: WebCrypto works off the main
 * thread). Sealing is deterministic for a given (key, file id, plaintext), so an upload resumed at
 * any offset re-derives exactly the bytes the server is missing. (A source whose bytes change
 * mid-upload would reuse nonces on different plaintext; browsers refuse to read a File that
 * changed on disk after it was picked.)
 */
export async function encryptRange(key: CryptoKey, fileId: Uint8Array, source: PlainSource, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  end = Math.min(end, ciphertextSize(source.size));
  const range = segmentsOf(source.size, start, end);
  const plain = range ? await source.read(range.plainStart, range.plainEnd) : new Uint8Array(0);
  return sealRangeInto(key, fileId, source.size, plain, start, end, new Uint8Array(end - start));
}

/** Segments opened at once (concurrently) by decryptStream: 1 MiB of ciphertext per batch. */
const OPEN_BATCH = 16;
/** Batches in flight while more ciphertext arrives (so reading and opening overlap): ≤ 3 MiB held. */
const OPEN_AHEAD = 3;

/**
 * A TransformStream from stored ciphertext to plaintext, one segment at a time (opened in batches of
 * 16, concurrently, with up to 3 batches in flight while the next ciphertext arrives; output stays
 * in order). It errors (and so never completes) on a bad header, a segment that fails
 * authentication, or a stream that ends early: a reader that only offers the file once the stream
 * closes never offers a partial file. With `hasher`, each opened segment is added to it as it is
 * emitted (the content hash of the announcement, checked by the caller at the end).
 */
export function decryptStream(key: CryptoKey, fileId: Uint8Array, hasher?: ContentHasher): TransformStream<Uint8Array, Uint8Array> {
  let index = 0;
  let headerDone = false;
  let chunks: Uint8Array[] = [];
  let held = 0;
  const inFlight: Promise<Uint8Array<ArrayBuffer>[]>[] = [];
  const take = (n: number): Uint8Array => {
    // One chunk that covers n bytes is used as is (no copy): the common case for 64 KiB reads.
    const head = chunks[0]!;
    if (head.length >= n) {
      if (head.length === n) chunks.shift();
      else chunks[0] = head.subarray(n);
      held -= n;
      return head.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.length) chunks.shift();
      else chunks[0] = c.subarray(k);
    }
    held -= n;
    return out;
  };
  const startBatch = (count: number) => {
    const segs = Array.from({ length: count }, () => take(SEALED_SEGMENT));
    const first = index;
    index += count;
    // allSettled, then the first failure in stream order (whichever finished first).
    const batch = Promise.allSettled(segs.map((seg, k) => openSegment(key, fileId, first + k, false, seg))).then((opened) => {
      for (const r of opened) if (r.status === "rejected") throw r.reason;
      return opened.map((r) => (r as PromiseFulfilledResult<Uint8Array<ArrayBuffer>>).value);
    });
    batch.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
    inFlight.push(batch);
  };
  let emitted = 0;
  const emit = (controller: TransformStreamDefaultController<Uint8Array>, plain: Uint8Array) => {
    hasher?.add(emitted++, plain, 1);
    controller.enqueue(plain);
  };
  const drain = async (controller: TransformStreamDefaultController<Uint8Array>, keep: number) => {
    while (inFlight.length > keep) for (const p of await inFlight.shift()!) emit(controller, p);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      chunks.push(chunk);
      held += chunk.length;
      if (!headerDone) {
        if (held < HEADER_BYTES) return;
        checkHeader(take(HEADER_BYTES), fileId);
        headerDone = true;
      }
      // Keep one whole segment back: only the end of the stream says which segment is the last.
      while (held > OPEN_BATCH * SEALED_SEGMENT) {
        startBatch(OPEN_BATCH);
        await drain(controller, OPEN_AHEAD - 1);
      }
    },
    async flush(controller) {
      if (!headerDone) throw new AttachmentIntegrityError("truncated", "the stream ended inside its header");
      while (held > SEALED_SEGMENT) startBatch(Math.min(OPEN_BATCH, Math.floor((held - 1) / SEALED_SEGMENT)));
      await drain(controller, 0);
      if (held < TAG_BYTES) throw new AttachmentIntegrityError("truncated", `the stream ended inside segment ${index}`);
      emit(controller, await openSegment(key, fileId, index, true, take(held)));
      chunks = [];
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

/**
 * The content hash an announcement carries: SHA-256 over the SHA-256 digests of each segment's
 * plaintext, in order (a hash list, as in BitTorrent's piece hashes). WebCrypto has no streaming
 * SHA-256; this form runs on its native digest, one segment at a time and concurrently, so hashing
 * costs little next to the transfer and needs no whole-file buffer. Segments must be added in
 * order; one already added is skipped (a retried upload chunk re-reads its plaintext).
 */
export class ContentHasher {
  private readonly digests: Promise<ArrayBuffer>[] = [];

  /** The next segment index the hash expects. */
  get next(): number {
    return this.digests.length;
  }

  /** Adds the plaintext of `count` consecutive segments starting at `first` (count 1 with no bytes: a 0-byte file). */
  add(first: number, plain: Uint8Array, count = Math.max(1, Math.ceil(plain.length / SEGMENT_BYTES))): void {
    for (let k = 0; k < count; k++) {
      const i = first + k;
      if (i < this.digests.length) continue;
      if (i > this.digests.length) throw new RangeError("segments must be hashed in order");
      this.digests.push(subtle().digest("SHA-256", plain.subarray(k * SEGMENT_BYTES, (k + 1) * SEGMENT_BYTES) as Uint8Array<ArrayBuffer>));
    }
  }

  /**
   * Adds segments' SHA-256 digests computed elsewhere (the upload's staging worker), the first for
   * segment `first`: those already added are skipped, and the rest is dropped at a gap (a segment
   * still missing), so the hash only ever sees segments in order.
   */
  addDigests(first: number, digests: ArrayBuffer[]): void {
    for (let k = 0; k < digests.length; k++) {
      const i = first + k;
      if (i < this.digests.length) continue;
      if (i > this.digests.length) return;
      this.digests.push(Promise.resolve(digests[k]!));
    }
  }

  async digest(): Promise<Uint8Array<ArrayBuffer>> {
    const parts = (await Promise.all(this.digests)).map((d) => new Uint8Array(d));
    return new Uint8Array(await subtle().digest("SHA-256", concatBytes(...parts)));
  }
}

/** The content hash of a whole source, read 4 MiB at a time (segments from `from` on, into `h`). */
export async function hashSource(source: PlainSource, h = new ContentHasher()): Promise<Uint8Array<ArrayBuffer>> {
  const segs = segmentCount(source.size);
  const step = 64 * SEGMENT_BYTES;
  for (let s = h.next * SEGMENT_BYTES; h.next < segs; s += step) {
    const plain = await source.read(s, Math.min(source.size, s + step));
    h.add(s / SEGMENT_BYTES, plain);
  }
  return h.digest();
}
