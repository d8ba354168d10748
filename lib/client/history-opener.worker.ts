/**
 * The Web Worker side of workerHistoryOpener (history-worker-opener.ts): opens a page of stored
 * envelopes (verify + decrypt + decode, openJobs: the very code Node runs in-thread) and answers
 * with one result per envelope. Each page is opened WORKER_LANES envelopes at a time as soon as it
 * arrives (a page arriving while another is opened overlaps its tail): this thread answers no
 * socket, so it can keep more of WebCrypto's work in flight than the page's main thread does.
 */
import { openJobs, type OpenJob, type Opened } from "./chat/history-opener";

/** Main thread → worker: a page to open. */
export type HistoryWorkerRequest = { id: number; op: "open"; jobs: OpenJob[]; keys: CryptoKey[] };
/** Worker → main thread: one answer per request. */
export type HistoryWorkerResponse = { id: number; ok: true; results: Opened[] } | { id: number; ok: false; error: string };

/** What the worker needs of its global scope (a DedicatedWorkerGlobalScope, or a MessagePort in tests). */
export interface HistoryWorkerScopeLike {
  postMessage(message: HistoryWorkerResponse): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<HistoryWorkerRequest>) => void): void;
}

export const WORKER_LANES = 64;

export function serveHistoryOpener(scope: HistoryWorkerScopeLike): void {
  async function handle(req: HistoryWorkerRequest): Promise<void> {
    try {
      if (req.op !== "open") throw new Error(`history worker: unknown op ${(req as { op?: unknown }).op}`);
      scope.postMessage({ id: req.id, ok: true, results: await openJobs(req.jobs, req.keys, WORKER_LANES) });
    } catch (e) {
      scope.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  scope.addEventListener("message", (ev) => void handle(ev.data));
}

// Started only inside a real worker; importing this module elsewhere (tests) does nothing.
const workerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
if (typeof workerScope === "function" && globalThis instanceof workerScope) {
  serveHistoryOpener(globalThis as unknown as HistoryWorkerScopeLike);
}
