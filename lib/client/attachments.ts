/**
 * Sending and fetching end-to-end encrypted attachments, in the browser and in Node alike.
 *
 * Upload: attachment:create reserves the id and gives an upload capability; tus-js-client sends the
 * ciphertext in chunks, each chunk sealed on demand from the plaintext source (encryptRange), so
 * memory holds one chunk and a resumed upload re-derives exactly the missing bytes. The result is
 * the AttachmentRef (id, name, type, size, SHA-256, file key and id) to send inside an encrypted
 * message; the server never sees it.
 * Download: attachment:grant gives a download capability; the body streams through decryptStream
 * and a SHA-256 check, and a dropped connection resumes with a Range request. The stream errors
 * (it never ends cleanly) on any integrity failure, so nothing partial is offered as the file.
 */
import { Upload } from "tus-js-client";
import { ATTACHMENT_HTTP_PATH, type AttachmentCapability } from "@/lib/protocol";
import {
  AttachmentIntegrityError,
  ContentHasher,
  SEGMENT_BYTES,
  ciphertextSize,
  hashSource,
  decryptStream,
  encryptRange,
  fromB64url,
  importFileKey,
  newFileSecret,
  randomBytes,
  toB64url,
  type AttachmentRef,
  type PlainSource,
} from "@/lib/crypto";
import type { Requester } from "./chat/connection";
import { ClientError } from "./errors";

/** tus chunk: 64 sealed segments (≈ 4 MiB), a multiple of nothing in particular; ranges are computed. */
export const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;

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
    // once: reads are hashed in the order they were asked for (the chunk read ahead may finish
    // first; chunks overlap by a segment, which the hasher skips). A resumed upload hashes what it
    // did not read itself at the end.
    const hasher = new ContentHasher();
    let hashed = Promise.resolve();
    const source: PlainSource = {
      size: o.source.size,
      read: (s, e) => {
        const reading = o.source.read(s, e);
        hashed = hashed.then(async () => {
          const plain = await reading.catch(() => null);
          const first = s / SEGMENT_BYTES;
          if (!plain || !Number.isInteger(first) || first > hasher.next || (plain.length === 0 && o.source.size !== 0)) return;
          hasher.add(first, plain);
        });
        return reading;
      },
    };
    const finish = async () => {
      await hashed;
      if (!this.ref.sha256) this.ref = { ...this.ref, sha256: toB64url(await hashSource(o.source, hasher.next === 0 ? undefined : hasher)) };
      this.settle.resolve(this.ref);
    };
    if (this.cancelled) return;
    this.upload = new Upload(new Uint8Array(0) as never, {
      endpoint: `${o.baseUrl}${ATTACHMENT_HTTP_PATH}`,
      ...(this.url && { uploadUrl: this.url }),
      uploadSize: total,
      chunkSize: UPLOAD_CHUNK_BYTES,
      retryDelays: [0, 500, 1500, 3000],
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      fingerprint: async () => `qsec-attachment-${this.ref.id}`,
      // The plaintext source, sealed range by range on demand (see encryptRange). While one chunk
      // is on the wire the next one is read and sealed (one chunk ahead), so sealing and sending overlap.
      fileReader: {
        openFile: async () => {
          let ahead: { start: number; end: number; sealed: Promise<Uint8Array<ArrayBuffer>> } | null = null;
          const seal = (start: number, end: number) => {
            const sealed = encryptRange(key, fileId, source, start, end);
            sealed.catch(() => undefined); // a failed look-ahead is retried (and reported) when its chunk is asked for
            return { start, end, sealed };
          };
          return {
            size: total,
            slice: async (start: number, end: number) => {
              end = Math.min(end, total);
              const mine = ahead && ahead.start === start && ahead.end === end ? ahead : seal(start, end);
              ahead = end < total ? seal(end, Math.min(total, end + (end - start))) : null;
              const sealed = await mine.sealed;
              // tus-js-client reads a chunk's length from `.size`: a Blob in browsers (what XHR sends
              // best: a 4 MiB Uint8Array body took minutes in Chromium 156 where a Blob takes under a
              // second), a Uint8Array given one in Node (its HTTP stack takes Uint8Array bodies).
              const value = typeof Blob === "function" && typeof document !== "undefined" ? new Blob([sealed]) : Object.assign(sealed, { size: sealed.length });
              return { value, done: end >= total };
            },
            close: () => {
              ahead = null;
            },
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
      onError: (e) => this.settle.reject(new ClientError("UPLOAD_FAILED", `upload failed: ${httpReason(e)}`)),
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
      this.settle.reject(new ClientError("CANCELLED", "upload cancelled"));
    }
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

/**
 * The plaintext of an attachment as a stream. It errors (AttachmentIntegrityError, ClientError) if
 * the ciphertext fails authentication, ends early or hashes differently from the announcement:
 * consume it to the end before offering the file.
 */
export async function openAttachment(o: StartDownload): Promise<ReadableStream<Uint8Array>> {
  let cap = await o.request("attachment:grant", { roomId: o.roomId, id: o.ref.id, op: "download" });
  const key = await importFileKey(fromB64url(o.ref.key));
  const total = ciphertextSize(o.ref.size);
  if (cap.size !== total) throw new AttachmentIntegrityError("wrong-file", `the server holds ${cap.size} bytes; the announced file needs ${total}`);
  const url = `${o.baseUrl}${ATTACHMENT_HTTP_PATH}${o.ref.id}`;
  let received = 0;
  let retries = o.retries ?? 3;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const connect = async () => {
    if (Date.parse(cap.expiresAt) - Date.now() < 30_000) cap = await o.request("attachment:grant", { roomId: o.roomId, id: o.ref.id, op: "download" });
    const headers: Record<string, string> = { authorization: `Bearer ${cap.token}` };
    if (received > 0) headers.range = `bytes=${received}-`;
    const res = await fetch(url, { headers, signal: o.signal ?? null, cache: "no-store" });
    if (!(res.status === 200 && received === 0) && !(res.status === 206 && received > 0))
      throw new ClientError("DOWNLOAD_FAILED", `download failed: ${res.status} ${(await res.text().catch(() => "")).trim()}`);
    reader = res.body!.getReader();
  };
  await connect();
  const ciphertext = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        try {
          const { value, done } = await reader!.read();
          if (done) {
            if (received < total) throw new Error("connection closed early");
            controller.close();
            return;
          }
          received += value.length;
          o.onProgress?.({ sent: received, total });
          controller.enqueue(value);
          return;
        } catch (e) {
          if (o.signal?.aborted || e instanceof ClientError || retries-- <= 0) throw e;
          await connect(); // resume where the bytes stopped
        }
      }
    },
    cancel: () => reader?.cancel(),
  });
  // The content hash is taken segment by segment as decryptStream opens them, and checked at the end.
  const h = new ContentHasher();
  const hashCheck = new TransformStream<Uint8Array, Uint8Array>(
    {
      async flush() {
        if (toB64url(await h.digest()) !== o.ref.sha256)
          throw new AttachmentIntegrityError("segment-failed", "the opened file's SHA-256 differs from the one announced");
      },
    },
    { highWaterMark: 16 },
    { highWaterMark: 16 },
  );
  return ciphertext.pipeThrough(decryptStream(key, fromB64url(o.ref.fileId), h)).pipeThrough(hashCheck);
}

/** Where downloadAttachment puts the opened file: "auto" is a disk-backed file in the origin-private file system where the browser has one, else a Blob in memory. */
export type DownloadStaging = "auto" | "memory";

/** The staging directory of downloads in the origin-private file system (OPFS). */
const STAGING_DIR = "qsec-downloads";
/** Staged files older than this are someone's leftovers (a closed tab): the next download removes them. */
const STAGING_STALE_MS = 60 * 60 * 1000;
const staged = new WeakMap<Blob, string>();
const STAGING_WRITE_BYTES = 1024 * 1024;

interface StagingDir {
  getFileHandle(name: string, o?: { create?: boolean }): Promise<FileSystemFileHandle>;
  removeEntry(name: string): Promise<void>;
  entries?(): AsyncIterableIterator<[string, FileSystemHandle]>;
}

async function stagingDir(): Promise<StagingDir | null> {
  const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
  const handleProto = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle?.prototype;
  if (typeof storage?.getDirectory !== "function" || !handleProto || !("createWritable" in handleProto)) return null;
  try {
    const root = await storage.getDirectory();
    return (await root.getDirectoryHandle(STAGING_DIR, { create: true })) as unknown as StagingDir;
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
  const name = `${o.ref.id}-${toB64url(randomBytes(6))}`;
  const handle = await dir.getFileHandle(name, { create: true });
  const writer = (await handle.createWritable()).getWriter();
  try {
    const reader = (await openAttachment(o)).getReader();
    // Opened segments are gathered into 1 MiB writes: each write is a round trip to the browser
    // process, and 64 KiB writes made the staging twice as slow as an in-memory Blob.
    let buf = new Uint8Array(STAGING_WRITE_BYTES);
    let fill = 0;
    const flush = async () => {
      if (fill === 0) return;
      // `ready` applies the stream's backpressure, so memory stays bounded whatever the disk's
      // speed; writes are queued without waiting for each (a failed one also fails close()).
      await writer.ready;
      writer.write(buf.subarray(0, fill)).catch(() => undefined);
      buf = new Uint8Array(STAGING_WRITE_BYTES);
      fill = 0;
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (let at = 0; at < value.length;) {
        const k = Math.min(value.length - at, buf.length - fill);
        buf.set(value.subarray(at, at + k), fill);
        fill += k;
        at += k;
        if (fill === buf.length) await flush();
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
  staged.set(blob, name);
  return blob;
}

/** Removes a downloaded file's staging copy (after it was saved or shown); a no-op for in-memory Blobs. */
export async function discardDownload(blob: Blob): Promise<void> {
  const name = staged.get(blob);
  if (!name) return;
  staged.delete(blob);
  const dir = await stagingDir();
  await dir?.removeEntry(name).catch(() => undefined);
}

/** The whole file as an in-memory Blob (Node, browsers without OPFS writable streams). */
async function downloadToMemory(o: StartDownload): Promise<Blob> {
  // Opened segments move into a Blob every 8 MiB: browsers keep Blob bytes outside the JS heap
  // (on disk past a size), so a large file never sits whole in script memory.
  const type = o.ref.mime || "application/octet-stream";
  let blob = new Blob([], { type });
  let parts: Uint8Array[] = [];
  let held = 0;
  const reader = (await openAttachment(o)).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    held += value.length;
    if (held >= 8 * 1024 * 1024) {
      blob = new Blob([blob, ...(parts as BlobPart[])], { type });
      parts = [];
      held = 0;
    }
  }
  return new Blob([blob, ...(parts as BlobPart[])], { type });
}
