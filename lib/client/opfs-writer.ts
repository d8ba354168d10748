/**
 * Writing staging files in the browser's origin-private file system (OPFS) fast: through a
 * FileSystemSyncAccessHandle in a small dedicated worker where the browser has one, else through
 * the page's FileSystemWritableFileStream.
 *
 * Why: a writable stream sends every write to the browser process, which writes a swap file and
 * moves it in place on close: 100 MiB in 1 MiB writes took 690 ms in Chromium 14x here, the
 * slowest stage of an encrypted upload (sealing the same 100 MiB took 100–200 ms). A sync access
 * handle (workers only) writes the file from the worker itself: 130 ms for the same bytes.
 *
 * A write hands its buffer to the worker (transferred, not copied) and gets it back once written,
 * so the caller's buffers are reused and nothing is left for the garbage collector. The worker is
 * created from a Blob URL (its code is the WORKER_SOURCE string below: no bundler entry point, the
 * same in Next.js and in the esbuild bundle of the benchmarks) and is shared by every staging file
 * of the page.
 */

/** One staging file being written from its start; `getFile()` of its handle once closed gives its bytes. */
export interface StagingFileWriter {
  /**
   * Appends `view`. Its buffer is transferred to the writer (detached here) and comes back when
   * written: the promise resolves to that buffer, with the same length.
   */
  write(view: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>;
  /** Flushes and closes the file (its handle's getFile() then reads what was written). */
  close(): Promise<void>;
  /** Stops writing; what was written is left for the caller to remove. */
  abort(reason?: unknown): Promise<void>;
  /** "sync-handle" (worker) or "writable" (the page's writable stream). */
  readonly kind: "sync-handle" | "writable";
}

/** The worker: open / write / close / abort on sync access handles, answering each message by its `re`. */
const WORKER_SOURCE = `"use strict";
const files = new Map();
let root = null;
self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.op === "open") {
      root = root || (await navigator.storage.getDirectory());
      const dir = await root.getDirectoryHandle(m.dir, { create: true });
      const fh = await dir.getFileHandle(m.name, { create: true });
      const h = await fh.createSyncAccessHandle();
      h.truncate(0);
      files.set(m.id, { h, at: 0 });
      self.postMessage({ re: m.re });
    } else if (m.op === "write") {
      const f = files.get(m.id);
      if (!f) throw new Error("staging file is not open");
      const view = new Uint8Array(m.buf, 0, m.len);
      let done = 0;
      while (done < m.len) {
        const n = f.h.write(view.subarray(done), { at: f.at + done });
        if (n <= 0) throw new Error("staging write made no progress");
        done += n;
      }
      f.at += m.len;
      self.postMessage({ re: m.re, buf: m.buf }, [m.buf]);
    } else if (m.op === "close" || m.op === "abort") {
      const f = files.get(m.id);
      files.delete(m.id);
      if (f) {
        if (m.op === "close") f.h.flush();
        f.h.close();
      }
      self.postMessage({ re: m.re });
    }
  } catch (err) {
    const message = (err && (err.name ? err.name + ": " : "") + err.message) || String(err);
    if (m.buf) self.postMessage({ re: m.re, error: message, buf: m.buf }, [m.buf]);
    else self.postMessage({ re: m.re, error: message });
  }
};`;

interface Reply {
  re: number;
  error?: string;
  buf?: ArrayBuffer;
}

class SyncHandleWorker {
  private readonly worker: Worker;
  private next = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  constructor() {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    try {
      this.worker = new Worker(url, { name: "qsec-staging" });
    } finally {
      URL.revokeObjectURL(url);
    }
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const done = this.waiting.get(e.data.re);
      this.waiting.delete(e.data.re);
      done?.(e.data);
    };
    // A worker that cannot start (a script policy, no memory): every call waiting fails, and so
    // does every later one (the caller falls back to a writable stream).
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.broken = e.message || "the staging worker failed";
      for (const [re, done] of this.waiting) done({ re, error: this.broken });
      this.waiting.clear();
    };
  }

  broken: string | null = null;

  call(msg: Record<string, unknown>, transfer: Transferable[] = []): Promise<Reply> {
    if (this.broken) return Promise.resolve({ re: 0, error: this.broken });
    const re = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(re, resolve);
      this.worker.postMessage({ ...msg, re }, transfer);
    });
  }
}

let shared: SyncHandleWorker | null = null;
/** Set once the sync-handle path failed to open a file: later files go to writable streams. */
let syncHandlesRefused = false;

function syncHandleWorker(): SyncHandleWorker | null {
  if (syncHandlesRefused || typeof Worker === "undefined" || typeof Blob === "undefined") return null;
  try {
    shared ??= new SyncHandleWorker();
    return shared.broken ? null : shared;
  } catch {
    syncHandlesRefused = true;
    return null;
  }
}

let ids = 0;

/**
 * Opens `name` in the OPFS directory `dirName` for writing from its start (truncated), through a
 * sync access handle in the staging worker when the browser allows it, else through
 * `handle.createWritable()`. Throws when neither can write there (no OPFS, a full or refused file
 * system): callers fall back to memory.
 */
export async function openStagingWriter(dirName: string, name: string, handle: FileSystemFileHandle): Promise<StagingFileWriter> {
  const w = syncHandleWorker();
  if (w) {
    const id = ids++;
    const opened = await w.call({ op: "open", id, dir: dirName, name });
    if (!opened.error) return syncWriter(w, id);
    // No sync access handles here (an older browser, a private window's file system): the page's
    // writable stream for this and every later file.
    syncHandlesRefused = true;
  }
  return writableWriter(handle);
}

function syncWriter(w: SyncHandleWorker, id: number): StagingFileWriter {
  let closed = false;
  return {
    kind: "sync-handle",
    write: async (view) => {
      if (closed) throw new Error("staging file is closed");
      // A view from its buffer's start hands the whole buffer over (no copy) and gets it back;
      // any other view is copied.
      const own = view.byteOffset === 0;
      const buf = own ? view.buffer : view.slice().buffer;
      const r = await w.call({ op: "write", id, buf, len: view.byteLength }, own ? [buf] : []);
      if (r.error) throw new Error(`staging write failed: ${r.error}`);
      return own ? r.buf! : view.buffer;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      const r = await w.call({ op: "close", id });
      if (r.error) throw new Error(`staging close failed: ${r.error}`);
    },
    abort: async () => {
      if (closed) return;
      closed = true;
      await w.call({ op: "abort", id });
    },
  };
}

async function writableWriter(handle: FileSystemFileHandle): Promise<StagingFileWriter> {
  const writer = (await handle.createWritable({ keepExistingData: false })).getWriter();
  return {
    kind: "writable",
    // Resolves once the stream wrote the bytes: the buffer is the caller's again.
    write: async (view) => {
      await writer.write(view);
      return view.buffer;
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  };
}
