/**
 * A HistoryOpener whose verify + decrypt runs in Web Workers (lib/client/history-opener.worker.ts,
 * openJobs: the same code Node runs in-thread): a page is split in contiguous slices, one per
 * worker, one postMessage per slice in and one out. The page's
 * main thread then only answers the socket, decides what needs no crypto, and merges, so the
 * reply to the next page's request is not kept waiting behind a page of WebCrypto completions.
 *
 * The workers start when warm() is first called (History does after the newest page is shown, so
 * starting them never delays that page); every page after that goes to them (one sent while a
 * script still loads waits in its queue). Before that, and for good if a worker fails (cannot
 * start, an error, a message that cannot be cloned), pages are opened in this thread instead,
 * slices the workers held included: a page is never lost nor shown differently.
 */
import { openJobs, type HistoryOpener, type OpenJob, type Opened } from "./chat/history-opener";
import type { HistoryWorkerRequest, HistoryWorkerResponse } from "./history-opener.worker";

/** The part of the Worker interface used here (tests pass a MessagePort-backed stand-in). */
export interface HistoryWorkerLike {
  postMessage(message: HistoryWorkerRequest): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<HistoryWorkerResponse>) => void): void;
  addEventListener(type: "error" | "messageerror", listener: (ev: Event) => void): void;
  terminate(): void;
}

function spawnHistoryWorker(): HistoryWorkerLike {
  // Written out in full so the bundler (Turbopack in `next dev` and `next build`) sees the worker entry.
  return new Worker(new URL("./history-opener.worker.ts", import.meta.url), { type: "module", name: "qsec-history" });
}

/**
 * Workers a page is split across. Verify + decrypt costs the calling thread about as much as the
 * crypto itself (WebCrypto's bindings, promises, clones), so one worker became the bottleneck once
 * the main thread was free; two share it on a 2-core machine.
 */
export function defaultWorkerCount(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  return Math.max(2, Math.min(4, Math.floor(cores / 2)));
}

/** A page smaller than this per worker is not split further. */
const MIN_SLICE = 50;

/**
 * Pages smaller than this are opened in this thread: the scroll path's pages of 200 are prepared
 * ahead of being shown, so their crypto never keeps a reply waiting long, and through the workers
 * (clones, thread hops) "Show older messages" clicked 50 times took longer (bench:history).
 */
export const MIN_WORKER_JOBS = 500;

export function workerHistoryOpener(
  spawn: () => HistoryWorkerLike = spawnHistoryWorker,
  count = defaultWorkerCount(),
  minJobs = MIN_WORKER_JOBS,
): HistoryOpener {
  let workers: HistoryWorkerLike[] = [];
  let broken = false;
  let closed = false;
  let nextId = 1;
  /** Requests the workers hold: each settles with its answer, or is opened here if a worker fails. */
  const pending = new Map<number, { answer: (results: Opened[]) => void; instead: () => void }>();

  /** A worker can't be used: what the workers held is opened here, and so is everything after. */
  function fail() {
    broken = true;
    for (const w of workers) w.terminate();
    workers = [];
    const held = [...pending.values()];
    pending.clear();
    for (const p of held) p.instead();
  }

  function warm() {
    if (workers.length || broken || closed) return;
    if (typeof Worker === "undefined" && spawn === spawnHistoryWorker) {
      broken = true;
      return;
    }
    try {
      for (let i = 0; i < count; i++) workers.push(spawn());
    } catch {
      fail();
      return;
    }
    for (const w of workers) {
      w.addEventListener("message", (ev) => {
        const r = ev.data;
        const p = pending.get(r.id);
        if (!p) return;
        pending.delete(r.id);
        if (r.ok) p.answer(r.results);
        else p.instead();
      });
      w.addEventListener("error", fail);
      w.addEventListener("messageerror", fail);
    }
  }

  /** One slice of a page to one worker (opened here instead if that fails). */
  function send(w: HistoryWorkerLike, jobs: OpenJob[], keys: CryptoKey[]): Promise<Opened[]> {
    return new Promise<Opened[]>((resolve) => {
      const id = nextId++;
      const instead = () => resolve(openJobs(jobs, keys));
      pending.set(id, { answer: (results) => (results.length === jobs.length ? resolve(results) : instead()), instead });
      try {
        w.postMessage({ id, op: "open", jobs, keys });
      } catch {
        // Could not be cloned (a key from another realm?): this slice here, and the workers are not trusted again.
        pending.delete(id);
        fail();
        instead();
      }
    });
  }

  return {
    warm,
    async open(jobs, keys) {
      const ws = workers;
      if (!ws.length || !jobs.length || jobs.length < minJobs) return openJobs(jobs, keys);
      const n = Math.max(1, Math.min(ws.length, Math.floor(jobs.length / MIN_SLICE)));
      const size = Math.ceil(jobs.length / n);
      const parts = await Promise.all(ws.slice(0, n).map((w, i) => send(w, jobs.slice(i * size, (i + 1) * size), keys)));
      return parts.flat();
    },
    close() {
      closed = true;
      fail();
    },
  };
}
