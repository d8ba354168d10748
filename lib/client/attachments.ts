/**
 * Sending and fetching end-to-end encrypted attachments, in the browser and in Node alike.
 *
 * Upload: attachment:create reserves the id and gives an upload capability; tus-js-client sends the
 * ciphertext in chunks, each chunk read from the plaintext source, hashed and sealed on demand
 * (ChunkSealer: the next chunk is sealed while one is sent, in reused buffers), so memory holds a
 * few chunks whatever the file's size and a resumed upload re-derives exactly the missing bytes.
 * The result is the AttachmentRef (id, name, type, size, SHA-256, file key and id) to send inside
 * an encrypted message; the server never sees it.
 * Download: attachment:grant gives a download capability; the body is read into a reused buffer a
 * batch of segments at a time and opened (openBatches), the content hash checked at the end, and a
 * dropped connection resumes with a Range request. Any integrity failure throws (a stream errors,
 * it never ends cleanly), so nothing partial is offered as the file.
 */
import { Upload } from "tus-js-client";
import { ATTACHMENT_HTTP_PATH, type AttachmentCapability } from "@/lib/protocol";
import {
  AttachmentIntegrityError,
  ContentHasher,
  HEADER_BYTES,
  SEGMENT_BYTES,
  TAG_BYTES,
  checkHeader,
  ciphertextSize,
  hashSource,
  openSegment,
  segmentCount,
  fromB64url,
  segmentsOf,
  sealRangeInto,
  importFileKey,
  newFileSecret,
  randomBytes,
  toB64url,
  type AttachmentRef,
  type PlainSource,
} from "@/lib/crypto";
import type { Requester } from "./chat/connection";
import { PartOpener, PartWorkerError, WorkerStager } from "./attachment-workers";
import { ClientError } from "./errors";

/**
 * tus chunk (one PATCH request) at most: 8 MiB staged in the origin-private file system (fewer
 * requests than 4 MiB, and a chunk is on disk, not in memory; the most deploy/nginx.conf.template
 * takes in one request body), else 4 MiB in memory. Ranges are computed, so it need not be a
 * multiple of a sealed segment.
 */
export const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;
export const UPLOAD_MEMORY_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * A request's body at most where a worker stages the upload (it sends what is staged, so requests
 * grow past the first ones); deploy/nginx.conf.template lets 16 MiB and its headers through.
 */
export const UPLOAD_REQUEST_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Uploads from this size on are sealed in Web Workers in a browser (attachment-workers.ts); smaller
 * ones on the page, where a worker's start would cost more than the crypto and its garbage.
 */
export const WORKER_MIN_BYTES = 2 * 1024 * 1024;
/** The first chunk of an upload (or of a resumed one); each next one twice the last, up to UPLOAD_CHUNK_BYTES. */
const UPLOAD_FIRST_CHUNK_BYTES = 1024 * 1024;
/** Chunks read and sealed ahead of the one being sent (tus sends one at a time, each after the previous one's answer). */
export const UPLOAD_CHUNKS_AHEAD = 1;

export interface AttachmentTransport {
  request: Requester;
  /** The server's origin ("" in the browser: same origin). */
  baseUrl: string;
}

export interface UploadProgress {
  sent: number;
  total: number;
}

export interface StartUpload extends AttachmentTransport {
  roomId: string;
  /** A direct message's recipient (the attachment is then readable by the two of you only). */
  to?: string;
  source: PlainSource;
  name: string;
  mime: string;
  thumb?: AttachmentRef["thumb"];
  onProgress?: (p: UploadProgress) => void;
  /** Resume a previous upload of the same file (its secret and id), e.g. after a reload. */
  resume?: { ref: AttachmentRef; url: string };
}

/** One upload: await `done` for the AttachmentRef; pause() drops the connection, resume() continues, cancel() deletes. */
export class AttachmentUpload {
  readonly done: Promise<AttachmentRef>;
  /** The tus upload URL once created (keep it with `ref` to resume after a reload). */
  url: string | null = null;
  ref!: AttachmentRef;
  private upload: Upload | null = null;
  private sealer: { close(): void } | null = null;
  private cap!: AttachmentCapability;
  private settle!: { resolve: (r: AttachmentRef) => void; reject: (e: unknown) => void };
  private cancelled = false;

  constructor(private readonly opts: StartUpload) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.begin().catch((e) => this.settle.reject(e));
  }

  private async begin(): Promise<void> {
    const o = this.opts;
    const total = ciphertextSize(o.source.size);
    let rawKey: Uint8Array;
    let fileId: Uint8Array;
    if (o.resume) {
      this.ref = o.resume.ref;
      this.url = o.resume.url;
      rawKey = fromB64url(o.resume.ref.key);
      fileId = fromB64url(o.resume.ref.fileId);
      this.cap = await o.request("attachment:grant", { roomId: o.roomId, id: o.resume.ref.id, op: "upload" });
    } else {
      const secret = newFileSecret();
      rawKey = secret.rawKey;
      fileId = secret.fileId;
      this.cap = await o.request("attachment:create", { roomId: o.roomId, size: total, ...(o.to && { to: o.to }) });
      this.ref = {
        id: this.cap.id,
        name: o.name,
        mime: o.mime,
        size: o.source.size,
        sha256: "", // filled in once every segment was read (below)
        key: toB64url(rawKey),
        fileId: toB64url(fileId),
        ...(o.thumb && { thumb: o.thumb }),
      };
    }
    const key = await importFileKey(rawKey);
    // The content hash is taken from the plaintext as it is read for sealing, so the file is read
    // once; a resumed upload hashes what it did not read itself at the end.
    const hasher = new ContentHasher();
    const finish = async () => {
      if (!this.ref.sha256) this.ref = { ...this.ref, sha256: toB64url(await hashSource(o.source, hasher.next === 0 ? undefined : hasher)) };
      this.settle.resolve(this.ref);
    };
    // Where sealed chunks wait for their request (see ChunkStore).
    const staging = inBrowser ? await stagingDir(UPLOAD_STAGING_DIR) : null;
    if (staging) void purgeStaleStaging(staging).catch(() => undefined);
    const chunkBytes = staging ? UPLOAD_CHUNK_BYTES : UPLOAD_MEMORY_CHUNK_BYTES;
    const id = this.ref.id;
    const makeStore = async () =>
      staging
        ? withFallback(await opfsStore(id, staging), () => memoryStore(Math.min(chunkBytes, total), inBrowser))
        : memoryStore(Math.min(chunkBytes, total), inBrowser);
    if (this.cancelled) return;
    this.upload = new Upload(new Uint8Array(0) as never, {
      endpoint: `${o.baseUrl}${ATTACHMENT_HTTP_PATH}`,
      ...(this.url && { uploadUrl: this.url }),
      uploadSize: total,
      // The most one request carries: staged by a worker, a request takes what is staged (up to
      // 16 MiB); sealed on this thread, a chunk is at most chunkBytes.
      chunkSize: staging ? UPLOAD_REQUEST_MAX_BYTES : chunkBytes,
      retryDelays: [0, 500, 1500, 3000],
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      fingerprint: async () => `qsec-attachment-${this.ref.id}`,
      // The plaintext source, sealed range by range on demand (ChunkSealer): while one chunk is on
      // the wire the next one is read and sealed.
      fileReader: {
        openFile: async () => {
          // In a browser: staged by a Web Worker (attachment-stager.ts) where it can; else sealed on this thread.
          const stager =
            staging && o.source.blob && o.source.size >= WORKER_MIN_BYTES
              ? await WorkerStager.open({ file: o.source.blob, rawKey, fileId, hasher, id, dirName: UPLOAD_STAGING_DIR, dir: staging })
              : null;
          if (stager) {
            this.sealer = stager;
            return {
              size: total,
              slice: async (start: number, end: number) => {
                const value = await stager.slice(start, end);
                return { value, done: start + value.size >= total };
              },
              close: () => stager.close(),
            };
          }
          const sealer = (this.sealer = new ChunkSealer(key, fileId, o.source, hasher, chunkBytes, UPLOAD_CHUNKS_AHEAD, makeStore));
          return {
            size: total,
            slice: async (start: number, end: number) => {
              const value = await sealer.slice(start, end);
              return { value, done: start + value.size >= total };
            },
            close: () => sealer.close(),
          };
        },
      },
      onBeforeRequest: async (req) => {
        // A long transfer outlives one capability: take a fresh one before it runs out.
        if (Date.parse(this.cap.expiresAt) - Date.now() < 60_000)
          this.cap = await o.request("attachment:grant", { roomId: o.roomId, id: this.ref.id, op: "upload" });
        req.setHeader("Authorization", `Bearer ${this.cap.token}`);
      },
      onUploadUrlAvailable: () => {
        this.url = this.upload?.url ?? null;
      },
      onProgress: (sent, t) => o.onProgress?.({ sent, total: t }),
      onSuccess: () => void finish().catch((e) => this.settle.reject(e)),
      onError: (e) => {
        // Nothing resumes a failed upload object (a new one resumes by its ref and url): its staging goes.
        this.sealer?.close();
        this.settle.reject(new ClientError("UPLOAD_FAILED", `upload failed: ${httpReason(e)}`));
      },
    });
    this.upload.start();
  }

  /** Drops the transfer (the server keeps what it has); resume() continues from the server's offset. */
  async pause(): Promise<void> {
    await this.upload?.abort(false);
  }

  resume(): void {
    this.upload?.start();
  }

  /** Stops and deletes what was uploaded. */
  async cancel(): Promise<void> {
    this.cancelled = true;
    try {
      await this.upload?.abort(!!this.url);
    } finally {
      this.sealer?.close();
      this.settle.reject(new ClientError("CANCELLED", "upload cancelled"));
    }
  }
}

/** A browser (tus-js-client's browser build, XMLHttpRequest), not Node. */
const inBrowser = typeof window !== "undefined" && typeof document !== "undefined";

/** A sealed chunk as tus-js-client's request body (it reads the length from `.size`). */
type ChunkBody = Blob | (Uint8Array<ArrayBuffer> & { size: number });

/**
 * Where sealed chunks wait for their request. In a browser with an origin-private file system, a
 * chunk is written to a staging file there and sent as that file (a disk-backed Blob): request
 * bodies from bytes are an order of magnitude slower than Blob bodies in Chromium (measured: 100
 * MiB in 4 MiB chunks took 21 s from Uint8Arrays, 1–2 s from Blobs), and a Blob made from bytes
 * keeps them in the browser process until the page's garbage collector drops the Blob object (+100
 * MB for a 100 MB upload, still held after a GC). Elsewhere the chunk is sealed into a buffer: sent
 * as is in Node (whose HTTP stack has written it by the time the server answers), as a Blob made
 * from it in a browser without OPFS.
 */
interface ChunkStore {
  /** Chunk `slot` (of `bytes` bytes) takes its sealed pieces in order, then `finish` gives the request body. */
  open(slot: number, bytes: number): Promise<ChunkWriter>;
  close(): void;
}

interface ChunkWriter {
  /** Where to seal the piece at [at, at + n) of the chunk (waits for a free buffer), and `put` for its sealing. */
  piece(at: number, n: number): Promise<{ target: Uint8Array<ArrayBuffer>; put(sealed: Promise<Uint8Array<ArrayBuffer>>): void }>;
  finish(): Promise<ChunkBody>;
}

/** Pieces sealed at once: 16 segments, 1 MiB of ciphertext. */
const SEAL_PIECE_SEGMENTS = 16;
const SEALED_SEGMENT_BYTES = SEGMENT_BYTES + TAG_BYTES;

function memoryStore(chunkBytes: number, asBlob: boolean): ChunkStore {
  const outs: Uint8Array<ArrayBuffer>[] = [];
  return {
    open: async (slot, bytes) => {
      const out = (outs[slot] ??= new Uint8Array(chunkBytes));
      const pending: Promise<unknown>[] = [];
      return {
        piece: async (at, n) => ({ target: out.subarray(at, at + n), put: (sealed) => void pending.push(sealed) }),
        finish: async () => {
          await Promise.all(pending);
          const view = out.subarray(0, bytes);
          return asBlob ? new Blob([view]) : Object.assign(view, { size: view.length });
        },
      };
    },
    close: () => void outs.splice(0),
  };
}

/** Staging files for upload chunks: `<attachment id>-<random>-<slot>` under qsec-uploads, rewritten for each chunk, removed by close(). */
async function opfsStore(id: string, dir: StagingDir): Promise<ChunkStore> {
  const prefix = `${id}-${toB64url(randomBytes(6))}`;
  // Pieces are sealed into a few buffers in turn; a buffer is sealed into again once its write finished.
  const pool = Array.from({ length: 3 }, () => ({ buf: new Uint8Array(HEADER_BYTES + SEAL_PIECE_SEGMENTS * SEALED_SEGMENT_BYTES), free: Promise.resolve() }));
  let turn = 0;
  const names = new Set<string>();
  return {
    open: async (slot) => {
      const name = `${prefix}-${slot}`;
      names.add(name);
      const handle = await dir.getFileHandle(name, { create: true });
      const writer = (await handle.createWritable({ keepExistingData: false })).getWriter();
      let writes: Promise<unknown> = Promise.resolve();
      return {
        piece: async (_at, n) => {
          const p = pool[turn]!;
          turn = (turn + 1) % pool.length;
          await p.free;
          return {
            target: p.buf.subarray(0, n),
            put: (sealed) => {
              // Written in order, each once sealed; the buffer is free again once its write finished.
              writes = writes.then(() => sealed).then((view) => writer.write(view));
              p.free = writes.then(
                () => undefined,
                () => undefined,
              );
            },
          };
        },
        finish: async () => {
          try {
            await writes;
          } catch (e) {
            await writer.abort(e).catch(() => undefined);
            throw e;
          }
          await writer.close();
          return handle.getFile();
        },
      };
    },
    close: () => {
      for (const name of names) void dir.removeEntry(name).catch(() => undefined);
      names.clear();
    },
  };
}

/** A store that turns to `fallback` for good once `primary` cannot open a chunk (an origin-private file system that refuses writes: full, or a private window's). */
function withFallback(primary: ChunkStore, fallback: () => ChunkStore): ChunkStore {
  let store = primary;
  return {
    open: async (slot, bytes) => {
      if (store === primary) {
        try {
          return await primary.open(slot, bytes);
        } catch {
          primary.close();
          store = fallback();
        }
      }
      return store.open(slot, bytes);
    },
    close: () => {
      primary.close();
      if (store !== primary) store.close();
    },
  };
}

/**
 * The ciphertext chunks tus asks for, read, hashed and sealed ahead of the one on the wire. tus
 * asks for chunk k + 1 only once the server answered chunk k, so with `depth` chunks sealed ahead
 * there are depth + 1 chunks alive, and their storage (depth + 1 buffers or staging files) is
 * reused from chunk to chunk. A chunk is sealed a piece (16 segments) at a time from a plaintext
 * buffer the source reads into (a BYOB read for a File): an upload allocates the same few MiB
 * whatever the file's size, instead of fresh buffers per chunk for the garbage collector. Reads
 * are sequential, in file order, so the content hash sees segments in order; a chunk asked for out
 * of turn (a retry, a resume) drops what was sealed ahead and starts over in fresh storage (a
 * request that failed may still hold the old one).
 */
class ChunkSealer {
  private readonly total: number;
  private ahead: { start: number; end: number; body: Promise<ChunkBody> }[] = [];
  private plain: Uint8Array<ArrayBuffer> | null = null;
  private turn = 0;
  private size = 0;
  private reading: Promise<unknown> = Promise.resolve();
  private store: Promise<ChunkStore>;

  constructor(
    private readonly key: CryptoKey,
    private readonly fileId: Uint8Array,
    private readonly source: PlainSource,
    private readonly hasher: ContentHasher,
    private readonly chunkBytes: number,
    private readonly depth: number,
    private readonly makeStore: () => Promise<ChunkStore>,
  ) {
    this.total = ciphertextSize(source.size);
    this.store = makeStore();
  }

  /** The chunk starting at `start`, at most `end − start` bytes (tus continues from the offset the server answers, so a shorter chunk is fine). */
  async slice(start: number, end: number): Promise<ChunkBody> {
    end = Math.min(end, this.total);
    const next = this.ahead[0];
    if (!next || next.start !== start || next.end > end) {
      if (next) {
        const old = this.store;
        this.store = this.reading.then(() => old.then((st) => st.close())).then(this.makeStore);
      }
      this.ahead = [];
      this.turn = 0;
      this.size = 0;
      this.prepare(start, Math.min(end, start + this.nextSize()));
    }
    const mine = this.ahead.shift()!;
    let from = this.ahead.at(-1)?.end ?? mine.end;
    while (this.ahead.length < this.depth && from < this.total) {
      const to = Math.min(this.total, from + this.nextSize());
      this.prepare(from, to);
      from = to;
    }
    return mine.body;
  }

  /** Chunk sizes ramp up from 1 MiB to chunkBytes: the first request goes out after 1 MiB is sealed, not a whole chunk. */
  private nextSize(): number {
    this.size = Math.min(this.chunkBytes, Math.max(UPLOAD_FIRST_CHUNK_BYTES, this.size * 2));
    return this.size;
  }

  close(): void {
    this.ahead = [];
    const store = this.store;
    void this.reading.then(() => store.then((st) => st.close())).catch(() => undefined);
    this.source.close?.();
  }

  private prepare(start: number, end: number): void {
    const slot = this.turn++ % (this.depth + 1);
    const step = this.reading.then(async () => {
      const chunk = await (await this.store).open(slot, end - start);
      // Pieces end on segment boundaries (16 segments each) or at the chunk's end. A piece's
      // encryptions copy their input when started, so the next piece is read while they run.
      for (let at = start; at < end;) {
        const seg = Math.max(0, Math.floor((at - HEADER_BYTES) / SEALED_SEGMENT_BYTES));
        const pieceEnd = Math.min(end, HEADER_BYTES + (seg + SEAL_PIECE_SEGMENTS) * SEALED_SEGMENT_BYTES);
        const range = segmentsOf(this.source.size, at, pieceEnd);
        const plain = range ? await this.readPlain(range.plainStart, range.plainEnd) : new Uint8Array(0);
        if (range && range.first <= this.hasher.next) this.hasher.add(range.first, plain);
        const { target, put } = await chunk.piece(at - start, pieceEnd - at);
        put(sealRangeInto(this.key, this.fileId, this.source.size, plain, at, pieceEnd, target));
        at = pieceEnd;
      }
      return { body: chunk.finish() };
    });
    // The next chunk is read once this one's pieces are all being sealed (its last writes and its
    // file's close overlap the next chunk's reading and sealing).
    this.reading = step.catch(() => undefined);
    const body = step.then((s) => s.body);
    body.catch(() => undefined); // a chunk sealed ahead and dropped is not an unhandled rejection
    this.ahead.push({ start, end, body });
  }

  private async readPlain(start: number, end: number): Promise<Uint8Array> {
    if (!this.source.readInto) return this.source.read(start, end);
    if (!this.plain || this.plain.length < end - start) this.plain = new Uint8Array(Math.max(end - start, (SEAL_PIECE_SEGMENTS + 1) * SEGMENT_BYTES));
    const got = await this.source.readInto(start, end, this.plain);
    this.plain = new Uint8Array(got.buffer);
    return got;
  }
}

export function uploadAttachment(opts: StartUpload): AttachmentUpload {
  return new AttachmentUpload(opts);
}

function httpReason(e: unknown): string {
  const err = e as { originalResponse?: { getStatus(): number; getBody(): string } | null; message?: string };
  const res = err?.originalResponse;
  if (res) return `${res.getStatus()} ${String(res.getBody() ?? "").trim()}`.trim();
  return err?.message ?? String(e);
}

export interface StartDownload extends AttachmentTransport {
  roomId: string;
  ref: AttachmentRef;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** Range-resumes after a dropped connection, at most this many times (default 3). */
  retries?: number;
}

/** Sealed segments opened at once (concurrently): 16, 1 MiB of ciphertext. */
const OPEN_BATCH = 16;
/** Batches being opened while the next one arrives (reading and opening overlap). */
const OPEN_AHEAD = 3;
const SEALED_SEGMENT = SEGMENT_BYTES + TAG_BYTES;

/** Reads a response body into the caller's buffer: a BYOB reader where the body is a byte stream (no new buffer per read), else copies from the default reader's chunks. */
interface BodyReader {
  /** Fills `into` in part (≥ 1 byte) or reports the end; the bytes are in `view`, over `into`'s memory (a BYOB read hands it back as a new ArrayBuffer object). */
  read(into: Uint8Array<ArrayBuffer>): Promise<{ view: Uint8Array<ArrayBuffer>; done: boolean }>;
  cancel(): Promise<void>;
}

function bodyReader(body: ReadableStream<Uint8Array>): BodyReader {
  try {
    const r = body.getReader({ mode: "byob" });
    return {
      read: async (into) => {
        const { value, done } = await r.read(into);
        return { view: (value ?? into.subarray(0, 0)) as Uint8Array<ArrayBuffer>, done };
      },
      cancel: () => r.cancel(),
    };
  } catch {
    const r = body.getReader();
    let left: Uint8Array | null = null;
    return {
      read: async (into) => {
        while (!left || left.length === 0) {
          const { value, done } = await r.read();
          if (done) return { view: into.subarray(0, 0), done: true };
          left = value;
        }
        const k = Math.min(left.length, into.length);
        into.set(left.subarray(0, k));
        left = left.subarray(k);
        return { view: into.subarray(0, k), done: false };
      },
      cancel: () => r.cancel(),
    };
  }
}

/** An attachment's stored ciphertext as it is read: the file's shape, and reads that resume a dropped connection. */
interface CiphertextReader {
  fileId: Uint8Array<ArrayBuffer>;
  total: number;
  segs: number;
  /** Bytes of the last sealed segment. */
  lastBytes: number;
  /** The next n bytes into buf[0, n) (the buffer back, maybe a new ArrayBuffer object: BYOB reads transfer it). */
  fill(buf: ArrayBuffer, n: number): Promise<ArrayBuffer>;
  /** Throws if the stored file runs past its end (reads one byte more). */
  checkEnd(): Promise<void>;
  cancel(): void;
}

/** Grants a download, checks the stored size against the announcement and opens the response (a refusal rejects here). */
async function ciphertextReader(o: StartDownload): Promise<CiphertextReader> {
  let cap = await o.request("attachment:grant", { roomId: o.roomId, id: o.ref.id, op: "download" });
  const fileId = fromB64url(o.ref.fileId);
  const total = ciphertextSize(o.ref.size);
  if (cap.size !== total) throw new AttachmentIntegrityError("wrong-file", `the server holds ${cap.size} bytes; the announced file needs ${total}`);
  const url = `${o.baseUrl}${ATTACHMENT_HTTP_PATH}${o.ref.id}`;
  const segs = segmentCount(o.ref.size);
  const lastBytes = total - HEADER_BYTES - (segs - 1) * SEALED_SEGMENT;
  let received = 0;
  let retries = o.retries ?? 3;
  let reader: BodyReader | null = null;
  const connect = async (from: number) => {
    void reader?.cancel().catch(() => undefined);
    reader = null;
    if (Date.parse(cap.expiresAt) - Date.now() < 30_000) cap = await o.request("attachment:grant", { roomId: o.roomId, id: o.ref.id, op: "download" });
    const headers: Record<string, string> = { authorization: `Bearer ${cap.token}` };
    if (from > 0) headers.range = `bytes=${from}-`;
    const res = await fetch(url, { headers, signal: o.signal ?? null, cache: "no-store" });
    if (!(res.status === 200 && from === 0) && !(res.status === 206 && from > 0))
      throw new ClientError("DOWNLOAD_FAILED", `download failed: ${res.status} ${(await res.text().catch(() => "")).trim()}`);
    reader = bodyReader(res.body!);
    received = from;
  };
  await connect(0);
  // The next n bytes of ciphertext into buf[0, n), resuming a dropped connection where this fill
  // began (a failed BYOB read keeps the buffer it was given, and the bytes already in it).
  const fill = async (buf: ArrayBuffer, n: number): Promise<ArrayBuffer> => {
    const from = received;
    const size = buf.byteLength;
    let filled = 0;
    while (filled < n) {
      let got: { view: Uint8Array<ArrayBuffer>; done: boolean };
      try {
        got = await reader!.read(new Uint8Array(buf, filled, n - filled));
      } catch (e) {
        if (o.signal?.aborted || e instanceof ClientError || retries-- <= 0) throw e;
        await connect(from);
        buf = new ArrayBuffer(size);
        filled = 0;
        continue;
      }
      // A response that ends cleanly before the file does: the server holds fewer bytes (a dropped
      // connection is an error above, and resumes).
      if (got.done) throw new AttachmentIntegrityError("truncated", `the stored file ends after ${received} of ${total} bytes`);
      buf = got.view.buffer;
      filled += got.view.length;
      received += got.view.length;
      o.onProgress?.({ sent: received, total });
    }
    return buf;
  };
  return {
    fileId,
    total,
    segs,
    lastBytes,
    fill,
    checkEnd: async () => {
      const extra = await reader!.read(new Uint8Array(1)).catch(() => ({ view: new Uint8Array(0), done: true }));
      if (!extra.done && extra.view.length > 0) throw new AttachmentIntegrityError("too-long", `the stored file runs past its ${total} bytes`);
    },
    cancel: () => void reader?.cancel().catch(() => undefined),
  };
}

/**
 * Fetches and opens an attachment: resolves once the first response is in (a refusal rejects
 * here), to the opened segments, batch by batch and in order. The ciphertext is read into one
 * reused 1 MiB buffer (segment-aligned: the file's size, so every segment's length and which one is
 * last, is known from the announcement); each batch's 16 segments are opened concurrently (the
 * decryptions copy their input when started, so the buffer is free for the next batch at once),
 * with up to 3 batches in flight. The iterator throws (AttachmentIntegrityError, ClientError) if
 * a segment fails authentication, the stream ends early or runs long, or the SHA-256 of the opened
 * segments differs from the announcement (checked after the last batch): consume it to the end
 * before offering the file. A dropped connection resumes with a Range request.
 */
async function openBatches(o: StartDownload): Promise<AsyncGenerator<Uint8Array<ArrayBuffer>[], void, undefined>> {
  const key = await importFileKey(fromB64url(o.ref.key));
  const { fileId, total, segs, lastBytes, fill, checkEnd, cancel } = await ciphertextReader(o);
  async function* batches(): AsyncGenerator<Uint8Array<ArrayBuffer>[], void, undefined> {
    const hasher = new ContentHasher();
    let emitted = 0;
    const inFlight: Promise<Uint8Array<ArrayBuffer>[]>[] = [];
    const emit = (opened: Uint8Array<ArrayBuffer>[]) => {
      for (const p of opened) hasher.add(emitted++, p, 1);
      return opened;
    };
    try {
      let buf = await fill(new ArrayBuffer(HEADER_BYTES), HEADER_BYTES);
      checkHeader(new Uint8Array(buf), fileId);
      buf = new ArrayBuffer(Math.min(OPEN_BATCH * SEALED_SEGMENT, total - HEADER_BYTES));
      for (let index = 0; index < segs;) {
        const count = Math.min(OPEN_BATCH, segs - index);
        const bytes = (count - 1) * SEALED_SEGMENT + (index + count === segs ? lastBytes : SEALED_SEGMENT);
        buf = await fill(buf, bytes);
        const view = new Uint8Array(buf, 0, bytes);
        const first = index;
        // allSettled, then the first failure in file order (whichever finished first).
        const batch = Promise.allSettled(
          Array.from({ length: count }, (_, k) =>
            openSegment(key, fileId, first + k, first + k === segs - 1, view.subarray(k * SEALED_SEGMENT, Math.min(bytes, (k + 1) * SEALED_SEGMENT))),
          ),
        ).then((opened) => {
          for (const r of opened) if (r.status === "rejected") throw r.reason;
          return opened.map((r) => (r as PromiseFulfilledResult<Uint8Array<ArrayBuffer>>).value);
        });
        batch.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
        inFlight.push(batch);
        index += count;
        while (inFlight.length >= OPEN_AHEAD) yield emit(await inFlight.shift()!);
      }
      // The stream must end where the file does: a byte more is a file run long.
      await checkEnd();
      while (inFlight.length > 0) yield emit(await inFlight.shift()!);
      if (toB64url(await hasher.digest()) !== o.ref.sha256)
        throw new AttachmentIntegrityError("segment-failed", "the opened file's SHA-256 differs from the one announced");
    } finally {
      cancel();
    }
  }
  return batches();
}

/**
 * The plaintext of an attachment as a stream. It errors (AttachmentIntegrityError, ClientError) if
 * the ciphertext fails authentication, ends early, runs long or hashes differently from the
 * announcement: consume it to the end before offering the file.
 */
export async function openAttachment(o: StartDownload): Promise<ReadableStream<Uint8Array>> {
  const it = await openBatches(o);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else for (const p of value) controller.enqueue(p);
    },
    cancel: async () => void (await it.return(undefined)),
  });
}

/** Where downloadAttachment puts the opened file: "auto" is a disk-backed file in the origin-private file system where the browser has one, else a Blob in memory. */
export type DownloadStaging = "auto" | "memory";

/** The staging directories of downloads and of upload chunks in the origin-private file system (OPFS). */
const STAGING_DIR = "qsec-downloads";
const UPLOAD_STAGING_DIR = "qsec-uploads";
/** Staged files older than this are someone's leftovers (a closed tab): the next download removes them. */
const STAGING_STALE_MS = 60 * 60 * 1000;
const staged = new WeakMap<Blob, string[]>();
const STAGING_WRITE_BYTES = 1024 * 1024;
/** Staging buffers: one being filled while the others' writes finish. */
const STAGING_BUFFERS = 3;

interface StagingDir {
  getFileHandle(name: string, o?: { create?: boolean }): Promise<FileSystemFileHandle>;
  removeEntry(name: string): Promise<void>;
  entries?(): AsyncIterableIterator<[string, FileSystemHandle]>;
}

async function stagingDir(name = STAGING_DIR): Promise<StagingDir | null> {
  const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
  const handleProto = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle?.prototype;
  if (typeof storage?.getDirectory !== "function" || !handleProto || !("createWritable" in handleProto)) return null;
  try {
    const root = await storage.getDirectory();
    return (await root.getDirectoryHandle(name, { create: true })) as unknown as StagingDir;
  } catch {
    return null; // e.g. a profile without storage: fall back to memory
  }
}

async function purgeStaleStaging(dir: StagingDir): Promise<void> {
  if (!dir.entries) return;
  for await (const [name, h] of dir.entries()) {
    if (h.kind !== "file") continue;
    const f = await (h as FileSystemFileHandle).getFile().catch(() => null);
    if (f && Date.now() - f.lastModified > STAGING_STALE_MS) await dir.removeEntry(name).catch(() => undefined);
  }
}

/**
 * Downloads, opens and checks a whole attachment; resolves only when every segment and the hash
 * checked out. Memory stays bounded where the browser has an origin-private file system: opened
 * segments are written to a staging file there (FileSystemWritableFileStream: the browser writes a
 * swap file on disk and moves it in place on close), and the result is that file, a disk-backed
 * Blob. A failed or cancelled download aborts the write: no partial file is ever staged under its
 * name. Elsewhere (Node, older browsers, staging "memory") the file is assembled as a Blob, which a
 * browser keeps in memory (see docs/security.md). Call discardDownload(blob) once it was saved.
 */
export async function downloadAttachment(o: StartDownload & { staging?: DownloadStaging }): Promise<Blob> {
  const dir = o.staging === "memory" ? null : await stagingDir();
  if (!dir) return downloadToMemory(o);
  void purgeStaleStaging(dir).catch(() => undefined);
  if (o.ref.size >= WORKER_MIN_BYTES) {
    const hasher = new ContentHasher();
    const opener = await PartOpener.open({
      rawKey: fromB64url(o.ref.key),
      fileId: fromB64url(o.ref.fileId),
      size: o.ref.size,
      hasher,
      dirName: STAGING_DIR,
      dir,
      prefix: `${o.ref.id}-${toB64url(randomBytes(6))}`,
    });
    if (opener) return downloadIntoParts(o, opener, hasher);
  }
  const name = `${o.ref.id}-${toB64url(randomBytes(6))}`;
  let handle: FileSystemFileHandle;
  let writer: WritableStreamDefaultWriter<BufferSource>;
  try {
    handle = await dir.getFileHandle(name, { create: true });
    writer = (await handle.createWritable()).getWriter();
  } catch {
    // A file system that refuses writes (full, or a private window's): the in-memory Blob instead.
    await dir.removeEntry(name).catch(() => undefined);
    return downloadToMemory(o);
  }
  try {
    const batches = await openBatches(o);
    // Opened segments are gathered into 1 MiB writes (each write is a round trip to the browser
    // process: 64 KiB writes made the staging twice as slow as an in-memory Blob), in a few
    // buffers reused in turn: a buffer is filled again once its write finished, which also bounds
    // the writes queued whatever the disk's speed.
    const pool = Array.from({ length: STAGING_BUFFERS }, () => ({ buf: new Uint8Array(STAGING_WRITE_BYTES), written: Promise.resolve() }));
    let turn = 0;
    let fill = 0;
    const flush = async () => {
      if (fill === 0) return;
      const slot = pool[turn]!;
      slot.written = writer.write(slot.buf.subarray(0, fill));
      slot.written.catch(() => undefined); // awaited before the buffer is reused, and by close()
      turn = (turn + 1) % pool.length;
      fill = 0;
      await pool[turn]!.written;
    };
    for await (const opened of batches) {
      for (const value of opened) {
        for (let at = 0; at < value.length;) {
          const buf = pool[turn]!.buf;
          const k = Math.min(value.length - at, buf.length - fill);
          buf.set(value.subarray(at, at + k), fill);
          fill += k;
          at += k;
          if (fill === buf.length) await flush();
        }
      }
    }
    await flush();
    await writer.close();
  } catch (e) {
    await writer.abort(e).catch(() => undefined);
    await dir.removeEntry(name).catch(() => undefined);
    throw e;
  }
  const file = await handle.getFile();
  const blob = o.ref.mime && file.type !== o.ref.mime ? file.slice(0, file.size, o.ref.mime) : file;
  staged.set(blob, [name]);
  return blob;
}

/**
 * The worker path of downloadAttachment (files from WORKER_MIN_BYTES on, in a browser that can):
 * the page reads the ciphertext into a few reused 1 MiB buffers, each handed to PartOpener's worker
 * (attachment-workers.ts) which opens, hashes and writes its segments into OPFS part files; the
 * result is the parts as one disk-backed Blob, offered only once every segment, the end of the
 * stored file and the content hash checked out. Any failure removes the parts.
 */
async function downloadIntoParts(o: StartDownload, opener: PartOpener, hasher: ContentHasher): Promise<Blob> {
  let r: CiphertextReader | null = null;
  try {
    r = await ciphertextReader(o);
    checkHeader(new Uint8Array(await r.fill(new ArrayBuffer(HEADER_BYTES), HEADER_BYTES)), r.fileId);
    const size = Math.min(OPEN_BATCH * SEALED_SEGMENT, r.total - HEADER_BYTES);
    // OPEN_AHEAD buffers in turn: one is filled while the others are opened in the worker.
    const pool = Array.from({ length: OPEN_AHEAD }, () => Promise.resolve(new ArrayBuffer(size)));
    let turn = 0;
    for (let index = 0; index < r.segs;) {
      const count = Math.min(OPEN_BATCH, r.segs - index);
      const bytes = (count - 1) * SEALED_SEGMENT + (index + count === r.segs ? r.lastBytes : SEALED_SEGMENT);
      const buf = await r.fill(await pool[turn]!, bytes);
      const back = opener.openBatch(buf, bytes, index, count);
      back.catch(() => undefined); // awaited when its buffer's turn comes, or by finish()
      pool[turn] = back;
      turn = (turn + 1) % pool.length;
      index += count;
    }
    // The stream must end where the file does: a byte more is a file run long.
    await r.checkEnd();
    const { blob, names } = await opener.finish(o.ref.mime || "application/octet-stream");
    if (toB64url(await hasher.digest()) !== o.ref.sha256) {
      for (const n of names) await opener.dirRemove(n);
      throw new AttachmentIntegrityError("segment-failed", "the opened file's SHA-256 differs from the one announced");
    }
    staged.set(blob, names);
    return blob;
  } catch (e) {
    opener.abort();
    if (e instanceof PartWorkerError) {
      if (e.kind === "integrity")
        throw new AttachmentIntegrityError(
          (e.reason ?? "segment-failed") as AttachmentIntegrityError["reason"],
          e.message.replace(/^attachment [a-z-]+: /, ""),
        );
      throw new ClientError("DOWNLOAD_FAILED", `download failed: ${e.message}`);
    }
    throw e;
  } finally {
    r?.cancel();
  }
}

/** Removes a downloaded file's staging copy (after it was saved or shown); a no-op for in-memory Blobs. */
export async function discardDownload(blob: Blob): Promise<void> {
  const names = staged.get(blob);
  if (!names) return;
  staged.delete(blob);
  const dir = await stagingDir();
  for (const name of names) await dir?.removeEntry(name).catch(() => undefined);
}

/** The whole file as an in-memory Blob (Node, browsers without OPFS writable streams). */
async function downloadToMemory(o: StartDownload): Promise<Blob> {
  // Opened segments move into a Blob every 8 MiB: browsers keep Blob bytes outside the JS heap
  // (on disk past a size), so a large file never sits whole in script memory.
  const type = o.ref.mime || "application/octet-stream";
  let blob = new Blob([], { type });
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const opened of await openBatches(o)) {
    for (const value of opened) {
      parts.push(value);
      held += value.length;
      if (held >= 8 * 1024 * 1024) {
        blob = new Blob([blob, ...(parts as BlobPart[])], { type });
        parts = [];
        held = 0;
      }
    }
  }
  return new Blob([blob, ...(parts as BlobPart[])], { type });
}
