/**
 * A HistoryOpener whose verify + decrypt runs in a Web Worker (lib/client/history-opener.worker.ts,
 * openJobs: the same code Node runs in-thread): one postMessage per page in, one out. The page's
 * main thread then only answers the socket, decides what needs no crypto, and merges, so the
 * reply to the next page's request is not kept waiting behind a page of WebCrypto completions.
 *
 * The worker starts when warm() is first called (History does after the newest page is shown, so
 * starting it never delays that page); every page after that goes to it (one sent while its script
 * still loads waits in its queue). Before that, and for good if the worker fails (cannot start, an
 * error, a message that cannot be cloned), pages are opened in this thread instead, pages it held
 * included: a page is never lost nor shown differently.
 */
import { openJobs, type HistoryOpener, type Opened } from "./chat/history-opener";
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

export function workerHistoryOpener(spawn: () => HistoryWorkerLike = spawnHistoryWorker): HistoryOpener {
  let worker: HistoryWorkerLike | null = null;
  let broken = false;
  let closed = false;
  let nextId = 1;
  /** Requests the worker holds: each settles with its answer, or is opened here if the worker fails. */
  const pending = new Map<number, { answer: (results: Opened[]) => void; instead: () => void }>();

  /** The worker can't be used: what it held is opened here, and so is everything after. */
  function fail() {
    broken = true;
    worker?.terminate();
    worker = null;
    const held = [...pending.values()];
    pending.clear();
    for (const p of held) p.instead();
  }

  function warm() {
    if (worker || broken || closed) return;
    if (typeof Worker === "undefined" && spawn === spawnHistoryWorker) {
      broken = true;
      return;
    }
    try {
      worker = spawn();
    } catch {
      broken = true;
      return;
    }
    worker.addEventListener("message", (ev) => {
      const r = ev.data;
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (r.ok) p.answer(r.results);
      else p.instead();
    });
    worker.addEventListener("error", fail);
    worker.addEventListener("messageerror", fail);
  }

  return {
    warm,
    open(jobs, keys) {
      const w = worker;
      if (!w || !jobs.length) return openJobs(jobs, keys);
      return new Promise<Opened[]>((resolve) => {
        const id = nextId++;
        const instead = () => resolve(openJobs(jobs, keys));
        pending.set(id, { answer: (results) => (results.length === jobs.length ? resolve(results) : instead()), instead });
        try {
          w.postMessage({ id, op: "open", jobs, keys });
        } catch {
          // Could not be cloned (a key from another realm?): this page here, and the worker is not trusted again.
          pending.delete(id);
          fail();
          instead();
        }
      });
    },
    close() {
      closed = true;
      fail();
    },
  };
}
