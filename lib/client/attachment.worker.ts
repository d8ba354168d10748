/**
 * The Web Worker of an upload's staging in the browser (attachment-workers.ts drives it), so that
 * neither the crypto of an upload nor its garbage is on the page's main thread: `init` (the picked
 * file, its key and id, the staging directory), then `stage`: read the file, hash and seal
 * ciphertext bytes [start, end) (lib/crypto/attachment-stream.ts, the code Node runs) into a
 * staging file in the origin-private file system (OPFS), written through a sync access handle; the
 * SHA-256 of each plaintext segment from `hashFrom` on comes back with the answer, for the content
 * hash. Downloads (a page reads the ciphertext): `part` (the file's key and id, a part file to
 * write), then `open` for each batch of sealed segments, whose buffer is handed over and back
 * (transferred): each segment is opened (its index and last flag in the nonce), its plaintext's
 * SHA-256 taken and written to the part file; `close` flushes it. Requests are handled one at a
 * time, in order.
 * Why workers that are retired (terminated) after about 16 MiB: every WebCrypto call returns a fresh
 * ArrayBuffer, and V8 lets such garbage grow to about 64 MB before it collects. A terminated worker
 * takes its garbage with it (measured in Chromium: sealing 100 MiB in one worker peaked at +113 MB
 * of renderer memory; in workers retired every 16 MiB, +20 MB).
 */
import {
  AttachmentIntegrityError,
  HEADER_BYTES,
  SEGMENT_BYTES,
  TAG_BYTES,
  blobSource,
  importFileKey,
  openSegment,
  sealRangeInto,
  segmentCount,
  segmentsOf,
  type PlainSource,
} from "@/lib/crypto/attachment-stream";
import { subtle } from "@/lib/crypto/subtle";

export type AttachmentWorkerRequest =
  | { op: "init"; re: number; file: Blob; rawKey: Uint8Array; fileId: Uint8Array; size: number; dir: string }
  | { op: "stage"; re: number; start: number; end: number; name: string; hashFrom: number }
  | { op: "part"; re: number; rawKey: Uint8Array; fileId: Uint8Array; size: number; dir: string; name: string }
  | { op: "open"; re: number; buf: ArrayBuffer; len: number; first: number; count: number }
  | { op: "close"; re: number };

/**
 * What went wrong: "integrity" (AttachmentIntegrityError: its reason in `reason`), "network" (a
 * read that failed, or the worker was stopped), "setup" (this browser cannot do it in a worker: no
 * OPFS sync access handles, a full file system).
 */
export type AttachmentWorkerFailure = "integrity" | "network" | "setup";

export type AttachmentWorkerResponse =
  | { re: number; ok: true; hashFirst?: number; digests?: ArrayBuffer[]; buf?: ArrayBuffer }
  | { re: number; ok: false; error: string; kind: AttachmentWorkerFailure; reason?: string };

/** Pieces sealed at once: 16 segments, 1 MiB of ciphertext. */
const PIECE_SEGMENTS = 16;
const SEALED_SEGMENT = SEGMENT_BYTES + TAG_BYTES;

interface SyncAccessHandle {
  write(buffer: BufferSource, options?: { at?: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

let state: { key: CryptoKey; fileId: Uint8Array; size: number; source: PlainSource; dir: FileSystemDirectoryHandle } | null = null;
let plain = new Uint8Array(0) as Uint8Array<ArrayBuffer>;
const out = [new Uint8Array(HEADER_BYTES + PIECE_SEGMENTS * SEALED_SEGMENT), new Uint8Array(HEADER_BYTES + PIECE_SEGMENTS * SEALED_SEGMENT)];

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<AttachmentWorkerRequest>) => void) | null;
  postMessage(m: AttachmentWorkerResponse, t?: Transferable[]): void;
};

let queue: Promise<unknown> = Promise.resolve();
scope.onmessage = (e) => {
  const m = e.data;
  queue = queue.then(() =>
    handle(m).then(
      ([r, t]) => scope.postMessage(r, t),
      (err: unknown) => scope.postMessage(failure(m.re, err)),
    ),
  );
};

class Failure extends Error {
  constructor(
    readonly kind: AttachmentWorkerFailure,
    message: string,
  ) {
    super(message);
  }
}

function failure(re: number, err: unknown): AttachmentWorkerResponse {
  if (err instanceof AttachmentIntegrityError) return { re, ok: false, kind: "integrity", reason: err.reason, error: err.message };
  if (err instanceof Failure) return { re, ok: false, kind: err.kind, error: err.message };
  const e = err as { name?: string; message?: string };
  // A file read fails with NotReadableError (the file changed or went away); anything else is this
  // browser's file system or worker refusing (no sync access handles, no OPFS).
  const kind = e?.name === "NotReadableError" || e?.name === "NotFoundError" ? "network" : "setup";
  return { re, ok: false, kind, error: e?.message ? `${e.name ?? "Error"}: ${e.message}` : String(err) };
}

async function syncHandle(dir: FileSystemDirectoryHandle, name: string): Promise<SyncAccessHandle> {
  const fh = await dir.getFileHandle(name, { create: true });
  const h = await (fh as unknown as { createSyncAccessHandle(): Promise<SyncAccessHandle> }).createSyncAccessHandle();
  h.truncate(0);
  return h;
}

function writeAll(h: SyncAccessHandle, view: Uint8Array<ArrayBuffer>, at: number): void {
  for (let done = 0; done < view.length;) {
    const n = h.write(view.subarray(done), { at: at + done });
    if (n <= 0) throw new Failure("setup", "a staging write made no progress (file system full?)");
    done += n;
  }
}

let part: { key: CryptoKey; fileId: Uint8Array; segs: number; h: SyncAccessHandle; at: number } | null = null;

async function handle(m: AttachmentWorkerRequest): Promise<[AttachmentWorkerResponse, Transferable[]]> {
  if (m.op === "part") {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(m.dir, { create: true });
    part = { key: await importFileKey(m.rawKey), fileId: m.fileId, segs: segmentCount(m.size), h: await syncHandle(dir, m.name), at: 0 };
    return [{ re: m.re, ok: true }, []];
  }
  if (m.op === "open") {
    if (!part) throw new Error("no part file is open");
    const p = part;
    const view = new Uint8Array(m.buf, 0, m.len);
    // allSettled, then the first failure in file order.
    const opened = await Promise.allSettled(
      Array.from({ length: m.count }, (_, k) =>
        openSegment(p.key, p.fileId, m.first + k, m.first + k === p.segs - 1, view.subarray(k * SEALED_SEGMENT, Math.min(m.len, (k + 1) * SEALED_SEGMENT))),
      ),
    );
    for (const r of opened) if (r.status === "rejected") throw r.reason;
    const plains = opened.map((r) => (r as PromiseFulfilledResult<Uint8Array<ArrayBuffer>>).value);
    const digests = await Promise.all(plains.map((x) => subtle().digest("SHA-256", x)));
    for (const x of plains) {
      writeAll(p.h, x, p.at);
      p.at += x.length;
    }
    return [{ re: m.re, ok: true, hashFirst: m.first, digests, buf: m.buf }, [m.buf, ...digests]];
  }
  if (m.op === "close") {
    if (part) {
      part.h.flush();
      part.h.close();
      part = null;
    }
    return [{ re: m.re, ok: true }, []];
  }
  if (m.op === "init") {
    const root = await navigator.storage.getDirectory();
    state = {
      key: await importFileKey(m.rawKey),
      fileId: m.fileId,
      size: m.size,
      source: blobSource(m.file),
      dir: await root.getDirectoryHandle(m.dir, { create: true }),
    };
    return [{ re: m.re, ok: true }, []];
  }
  if (!state) throw new Error("the staging worker was not initialised");
  const s = state;
  const h = await syncHandle(s.dir, m.name);
  const digests: Promise<ArrayBuffer>[] = [];
  let hashFirst = -1;
  try {
    let turn = 0;
    let sealing: Promise<Uint8Array<ArrayBuffer>> | null = null;
    let sealingAt = 0;
    const writeOut = (view: Uint8Array<ArrayBuffer>, at: number) => writeAll(h, view, at);
    for (let at = m.start; at < m.end;) {
      // Pieces end on segment boundaries (16 segments each) or at the range's end.
      const seg = Math.max(0, Math.floor((at - HEADER_BYTES) / SEALED_SEGMENT));
      const pieceEnd = Math.min(m.end, HEADER_BYTES + (seg + PIECE_SEGMENTS) * SEALED_SEGMENT);
      const range = segmentsOf(s.size, at, pieceEnd);
      let bytes = new Uint8Array(0) as Uint8Array<ArrayBuffer>;
      if (range) {
        const n = range.plainEnd - range.plainStart;
        if (plain.byteLength < n) plain = new Uint8Array(Math.max(n, PIECE_SEGMENTS * SEGMENT_BYTES));
        bytes = await s.source.readInto!(range.plainStart, range.plainEnd, plain);
        plain = new Uint8Array(bytes.buffer);
        for (let i = Math.max(range.first, m.hashFrom); i <= range.last; i++) {
          if (hashFirst < 0) hashFirst = i;
          const from = (i - range.first) * SEGMENT_BYTES;
          digests.push(subtle().digest("SHA-256", bytes.subarray(from, Math.min(bytes.length, from + SEGMENT_BYTES))));
        }
      }
      // The previous piece's sealing ran while this one was read: written now, in order. (WebCrypto
      // copies its input when called, so `plain` is free for the next read at once.)
      if (sealing) writeOut(await sealing, sealingAt - m.start);
      sealing = sealRangeInto(s.key, s.fileId, s.size, bytes, at, pieceEnd, out[turn]!);
      sealingAt = at;
      turn ^= 1;
      at = pieceEnd;
    }
    if (sealing) writeOut(await sealing, sealingAt - m.start);
    h.flush();
  } finally {
    h.close();
  }
  const done = await Promise.all(digests);
  return [{ re: m.re, ok: true, ...(hashFirst >= 0 && { hashFirst, digests: done }) }, done];
}
