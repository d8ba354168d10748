/**
 * An upload's ciphertext, staged ahead of tus in the browser: a Web Worker
 * (attachment-seal.worker.ts) reads the picked file, hashes and seals it and writes it into 4 MiB
 * staging files in the origin-private file system; each tus request's body is the staged files
 * from the requested offset on, as one disk-backed Blob. So:
 *   - nothing of the file's reading, hashing or sealing runs on the page's main thread;
 *   - memory stays at a few MiB whatever the file's size: the worker is retired every 16 MiB it
 *     sealed, which drops the garbage WebCrypto leaves (a fresh ArrayBuffer per call) at once,
 *     instead of letting it grow to the ~64 MB after which V8 collects;
 *   - requests grow with what is staged (up to 16 MiB), rather than one request per fixed chunk:
 *     staging outruns the network, so after the first the requests are large and few.
 * Staging stays at most 32 MiB ahead of what the server acknowledged (disk, not memory), and a
 * staged file is removed once the server acknowledged its bytes (tus asks for the next range only
 * then). A resumed or retried range that is not staged is staged again: sealing is deterministic, so
 * the bytes are the same.
 *
 * Where the browser cannot (no module workers, no sync access handles: an older browser, a private
 * window without a file system), WorkerStager.open returns null and attachments.ts seals on the
 * page (ChunkSealer).
 */
import { HEADER_BYTES, SEGMENT_BYTES, TAG_BYTES, ciphertextSize, segmentCount, toB64url, randomBytes, type ContentHasher } from "@/lib/crypto";
import type { AttachmentWorkerFailure, AttachmentWorkerRequest, AttachmentWorkerResponse } from "./attachment.worker";

/** Staged unit: 4 MiB of ciphertext per staging file. */
export const STAGE_UNIT_BYTES = 8 * 1024 * 1024;
/** Staged ahead of the server's offset at most (on disk). */
const STAGE_AHEAD_BYTES = 32 * 1024 * 1024;
/** A staging worker is retired (terminated, taking its garbage with it) once it sealed this much. */
const WORKER_RETIRE_BYTES = 16 * 1024 * 1024;
const SEALED_SEGMENT = SEGMENT_BYTES + TAG_BYTES;
/** The first unit must be staged within this (else the page seals: a worker that never started). */
const OPEN_TIMEOUT_MS = 15_000;

type WorkerFactory = () => Worker;
let factory: WorkerFactory | null = null;

/** For bundles other than the app's (the attachments benchmark's esbuild page): how to start the staging worker. */
export function setAttachmentWorkerFactory(f: WorkerFactory | null): void {
  factory = f;
}

function startWorker(): Worker {
  return factory ? factory() : new Worker(new URL("./attachment.worker.ts", import.meta.url), { type: "module", name: "qsec-attachment" });
}

type Request = AttachmentWorkerRequest extends infer R ? (R extends { re: number } ? Omit<R, "re"> : never) : never;

type Answer = AttachmentWorkerResponse;

/** One attachment worker: requests answered in order; a worker that fails to start fails every call. */
class AttachmentWorker {
  private readonly worker: Worker;
  private next = 1;
  private readonly waiting = new Map<number, { done: (r: Answer) => void }>();
  private failed: string | null = null;
  /** Ciphertext bytes this worker was asked to stage. */
  sealed = 0;

  constructor() {
    this.worker = startWorker();
    this.worker.onmessage = (e: MessageEvent<AttachmentWorkerResponse>) => {
      const r = e.data;
      const w = this.waiting.get(r.re);
      this.waiting.delete(r.re);
      w?.done(r);
    };
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.fail(e.message || "the staging worker failed to start");
    };
  }

  call(msg: Request, transfer: Transferable[] = []): Promise<Answer> {
    const re = this.next++;
    if (this.failed) return Promise.resolve({ re, ok: false, kind: "setup", error: this.failed });
    return new Promise((done) => {
      this.waiting.set(re, { done });
      this.worker.postMessage({ ...msg, re } as AttachmentWorkerRequest, transfer);
    });
  }

  private fail(error: string, kind: AttachmentWorkerFailure = "setup"): void {
    this.failed = error;
    for (const [re, w] of this.waiting) w.done({ re, ok: false, kind, error });
    this.waiting.clear();
  }

  terminate(): void {
    this.worker.terminate();
    this.fail("the attachment worker was stopped", "network");
  }
}

interface Unit {
  name: string;
  start: number;
  end: number;
  ready: Promise<File>;
  file: File | null;
}

export interface StagerOptions {
  file: Blob;
  rawKey: Uint8Array;
  fileId: Uint8Array;
  hasher: ContentHasher;
  /** The attachment's id (staging files are named after it). */
  id: string;
  /** The OPFS directory of upload staging files (at the root). */
  dirName: string;
  dir: { getFileHandle(name: string, o?: { create?: boolean }): Promise<FileSystemFileHandle>; removeEntry(name: string): Promise<void> };
}

export class WorkerStager {
  private readonly total: number;
  private readonly size: number;
  private readonly prefix: string;
  private worker: AttachmentWorker | null = null;
  private spare: AttachmentWorker | null = null;
  private readonly units = new Map<number, Unit>();
  /** The next unit to stage, and the segment whose digest the next stage starts at. */
  private nextUnit = 0;
  private hashNext = 0;
  /** The server's offset as of the last slice (staging stays within STAGE_AHEAD_BYTES of it). */
  private acked = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Bumped by restart(): a unit staged again gets a new file name (the old one may still be removed late). */
  private generation = 0;

  private constructor(private readonly o: StagerOptions) {
    this.size = o.file.size;
    this.total = ciphertextSize(this.size);
    this.prefix = `${o.id}-${toB64url(randomBytes(6))}`;
  }

  /** A stager whose first unit staged (null where this browser cannot stage in a worker: seal on the page instead). */
  static async open(o: StagerOptions): Promise<WorkerStager | null> {
    if (typeof Worker === "undefined") return null;
    const s = new WorkerStager(o);
    try {
      s.pump();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        s.units.get(0)!.ready,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the staging worker did not answer")), OPEN_TIMEOUT_MS))),
      ]).finally(() => clearTimeout(timer));
      return s;
    } catch {
      s.close();
      return null;
    }
  }

  /** The staged ciphertext from `start`, at most `end − start` bytes (at least one staged unit's worth; tus continues from the offset the server answers). */
  async slice(start: number, end: number): Promise<Blob> {
    if (this.closed) throw new Error("the upload was closed");
    end = Math.min(end, this.total);
    this.acknowledge(start);
    const u = Math.floor(start / STAGE_UNIT_BYTES);
    if (!this.units.has(u)) this.restart(u);
    this.pump();
    let first: File;
    try {
      first = await this.units.get(u)!.ready;
    } catch (e) {
      // A retry asks for this range again: staged afresh then, in a new worker.
      this.restart(u);
      throw e;
    }
    const files: Blob[] = [first];
    let stagedEnd = this.units.get(u)!.end;
    for (let v = u + 1; stagedEnd < end; v++) {
      const next = this.units.get(v);
      if (!next?.file) break;
      files.push(next.file);
      stagedEnd = next.end;
    }
    const from = start - u * STAGE_UNIT_BYTES;
    return new Blob(files).slice(from, Math.min(end, stagedEnd) - u * STAGE_UNIT_BYTES);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker?.terminate();
    this.spare?.terminate();
    this.worker = this.spare = null;
    // Files are removed once the worker's last stage stopped writing them; a terminated worker's
    // file lock goes a moment later, so once more after a second.
    const names = [...this.units.values()].map((x) => x.name);
    this.units.clear();
    const remove = () => Promise.all(names.map((n) => this.o.dir.removeEntry(n).catch(() => undefined)));
    void this.chain.then(remove).then(() => setTimeout(() => void remove(), 1000));
  }

  /** The server holds everything before `offset`: units that end there or before are removed. */
  private acknowledge(offset: number): void {
    this.acked = offset;
    for (const [u, x] of this.units) {
      if (x.end <= offset) {
        this.units.delete(u);
        void x.ready.then(
          () => this.o.dir.removeEntry(x.name).catch(() => undefined),
          () => undefined,
        );
      }
    }
  }

  /** Drops what was staged from unit `u` on (a failed stage, an offset not staged) and stages from there again. */
  private restart(u: number): void {
    this.worker?.terminate();
    this.spare?.terminate();
    this.worker = this.spare = null;
    for (const [v, x] of this.units) {
      if (v < u) continue;
      this.units.delete(v);
      void x.ready.then(
        () => this.o.dir.removeEntry(x.name).catch(() => undefined),
        () => undefined,
      );
    }
    this.nextUnit = u;
    this.generation += 1;
    this.hashNext = this.o.hasher.next;
    this.chain = Promise.resolve();
  }

  private pump(): void {
    while (!this.closed && this.nextUnit * STAGE_UNIT_BYTES < this.total && this.nextUnit * STAGE_UNIT_BYTES < this.acked + STAGE_AHEAD_BYTES) {
      this.stage(this.nextUnit++);
    }
  }

  private stage(u: number): void {
    const start = u * STAGE_UNIT_BYTES;
    const end = Math.min(this.total, start + STAGE_UNIT_BYTES);
    const name = `${this.prefix}-${u}-${this.generation}`;
    const hashFrom = this.hashNext;
    // The digests of this unit's segments are asked for here, once: a later unit starts after them.
    if (end > HEADER_BYTES)
      this.hashNext = Math.max(this.hashNext, Math.min(segmentCount(this.size), Math.floor((end - 1 - HEADER_BYTES) / SEALED_SEGMENT) + 1));
    const unit: Unit = { name, start, end, file: null, ready: null as unknown as Promise<File> };
    const generation = this.generation;
    unit.ready = this.chain.then(async () => {
      // Closed, or restarted from an earlier unit while this one waited: not staged (no worker is started for it).
      if (this.closed || generation !== this.generation) throw new Error("staging was stopped");
      const w = this.takeWorker();
      w.sealed += end - start;
      const r = await w.call({ op: "stage", start, end, name, hashFrom });
      if (!r.ok) throw new Error(`staging failed: ${r.error}`);
      if (r.digests && r.hashFirst !== undefined) this.o.hasher.addDigests(r.hashFirst, r.digests);
      // Retired once it sealed enough: its garbage goes with it (the next unit starts a fresh one).
      if (w.sealed >= WORKER_RETIRE_BYTES && this.worker === w) {
        w.terminate();
        this.worker = null;
      }
      const file = await (await this.o.dir.getFileHandle(name)).getFile();
      unit.file = file;
      return file;
    });
    unit.ready.catch(() => undefined); // awaited by slice(); a unit staged ahead and dropped is not an unhandled rejection
    this.chain = unit.ready.catch(() => undefined);
    this.units.set(u, unit);
  }

  /** The worker for the next unit; its successor is started (and initialised) while it stages its last unit, so no unit waits for a worker to start. */
  private takeWorker(): AttachmentWorker {
    const w = (this.worker ??= this.spare ?? this.newWorker());
    if (this.spare === w) this.spare = null;
    if (!this.spare && w.sealed + STAGE_UNIT_BYTES >= WORKER_RETIRE_BYTES) this.spare = this.newWorker();
    return w;
  }

  private newWorker(): AttachmentWorker {
    const w = new AttachmentWorker();
    void w.call({ op: "init", file: this.o.file, rawKey: this.o.rawKey, fileId: this.o.fileId, size: this.size, dir: this.o.dirName });
    return w;
  }
}

/** A worker that opened this much plaintext into its part file is retired (its garbage goes with it). */
const PART_RETIRE_BYTES = 16 * 1024 * 1024;

/** A failure the download's worker reported: AttachmentIntegrityError's reason, or another kind. */
export class PartWorkerError extends Error {
  constructor(
    readonly kind: AttachmentWorkerFailure,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * Where a download's sealed segments are opened in the browser: the page reads the ciphertext
 * (attachments.ts) and hands each batch's buffer to a Web Worker (transferred, and back once done),
 * which opens the segments, hashes the plaintext and writes it into a part file in OPFS through a
 * sync access handle. A worker is retired after 16 MiB (its successor writes the next part file,
 * and is started while it works), so WebCrypto's garbage never builds up on the page or in a
 * worker. The result is the part files, in order, as one disk-backed Blob.
 */
export class PartOpener {
  private worker: AttachmentWorker | null = null;
  private spare: { worker: AttachmentWorker; ready: Promise<Answer> } | null = null;
  private opened = 0;
  private readonly names: string[] = [];
  /** Batches handed to the current worker, answered in order. */
  private pending: Promise<void> = Promise.resolve();
  private gate: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private closed = false;

  private constructor(
    private readonly o: {
      rawKey: Uint8Array;
      fileId: Uint8Array;
      size: number;
      hasher: ContentHasher;
      dirName: string;
      dir: StagerOptions["dir"];
      prefix: string;
    },
  ) {}

  /** An opener whose first part file is open; null where this browser cannot (no module workers, no sync access handles). */
  static async open(o: PartOpener["o"]): Promise<PartOpener | null> {
    if (typeof Worker === "undefined") return null;
    const p = new PartOpener(o);
    const w = p.newWorker();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      w.ready,
      new Promise<Answer>((resolve) => (timer = setTimeout(() => resolve({ re: 0, ok: false, kind: "setup", error: "no answer" }), OPEN_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    if (!r.ok) {
      w.worker.terminate();
      p.removeParts();
      return null;
    }
    p.worker = w.worker;
    return p;
  }

  /** Removes one part file (the caller's, after finish()). */
  dirRemove(name: string): Promise<void> {
    return this.o.dir.removeEntry(name).catch(() => undefined);
  }

  /**
   * Opens `count` segments from buf[0, len) (the first is segment `first`) in the worker. The
   * buffer is handed over: `ready` resolves to it (back from the worker) once it may be filled
   * again; `done` once these segments are written. Rejects (PartWorkerError) on a segment that fails
   * authentication or a write that fails.
   */
  openBatch(buf: ArrayBuffer, len: number, first: number, count: number): Promise<ArrayBuffer> {
    // Handed over one at a time, in order (a retirement in between waits for the batches before it).
    const dispatched = this.gate.then(() => this.dispatch(buf, len, first, count));
    this.gate = dispatched.then(
      () => undefined,
      () => undefined,
    );
    return dispatched.then((d) => d.settled);
  }

  private async dispatch(buf: ArrayBuffer, len: number, first: number, count: number): Promise<{ settled: Promise<ArrayBuffer> }> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error("the download was stopped");
    if (this.opened >= PART_RETIRE_BYTES) await this.retire();
    const w = this.worker!;
    this.opened += len;
    if (!this.spare && this.opened + len >= PART_RETIRE_BYTES) this.spare = this.newWorker();
    const answer = w.call({ op: "open", buf, len, first, count }, [buf]);
    const settled = answer.then((r) => {
      if (!r.ok) throw new PartWorkerError(r.kind, r.error, r.reason);
      if (r.digests && r.hashFirst !== undefined) this.o.hasher.addDigests(r.hashFirst, r.digests);
      return r.buf!;
    });
    this.pending = this.pending.then(() => settled.then(() => undefined));
    this.pending.catch((e: unknown) => (this.failed ??= e));
    settled.catch((e: unknown) => (this.failed ??= e));
    return { settled };
  }

  /** Waits for every batch, closes the last part file and gives the parts as one Blob. */
  async finish(type: string): Promise<{ blob: Blob; names: string[] }> {
    await this.gate;
    if (this.failed) throw this.failed;
    await this.pending;
    await this.closePart(this.worker!);
    this.worker!.terminate();
    this.worker = null;
    this.spare?.worker.terminate();
    this.spare = null;
    this.closed = true;
    const files = await Promise.all(this.names.map(async (n) => (await this.o.dir.getFileHandle(n)).getFile()));
    return { blob: new Blob(files, { type }), names: [...this.names] };
  }

  /** Stops the workers and removes the part files (a failed or cancelled download: nothing is offered). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker?.terminate();
    this.spare?.worker.terminate();
    this.worker = null;
    this.spare = null;
    this.removeParts();
  }

  private removeParts(): void {
    const names = [...this.names];
    // A terminated worker's handle is released a moment later: try again then.
    const remove = () => Promise.all(names.map((n) => this.o.dir.removeEntry(n).catch(() => undefined)));
    void remove().then(() => setTimeout(() => void remove(), 1000));
  }

  private async retire(): Promise<void> {
    const old = this.worker!;
    await this.pending;
    await this.closePart(old);
    old.terminate();
    const next = this.spare ?? this.newWorker();
    this.spare = null;
    const r = await next.ready;
    if (!r.ok) throw new PartWorkerError(r.kind, r.error);
    this.worker = next.worker;
    this.opened = 0;
  }

  private async closePart(w: AttachmentWorker): Promise<void> {
    const r = await w.call({ op: "close" });
    if (!r.ok) throw new PartWorkerError(r.kind, r.error);
  }

  /** A worker with its part file open (`ready`). */
  private newWorker(): { worker: AttachmentWorker; ready: Promise<Answer> } {
    const worker = new AttachmentWorker();
    const name = `${this.o.prefix}-${this.names.length}`;
    this.names.push(name);
    const ready = worker.call({ op: "part", rawKey: this.o.rawKey, fileId: this.o.fileId, size: this.o.size, dir: this.o.dirName, name });
    return { worker, ready };
  }
}
