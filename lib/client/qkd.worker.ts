/**
 * The Web Worker side of createWorkerEngine: one BB84 party at a time per worker (a "reset" ends it
 * and the worker may serve the next session), run by createLocalEngine
 * (the very code Node runs in-thread), so the browser and the tests exercise the same engine.
 *
 * Requests are handled strictly one after another in arrival order (the engine's methods are
 * async), and every outgoing engine message and the final key are transferred, not copied: after
 * `key` the worker holds no copy of the key bytes.
 */
import { createLocalEngine } from "./qkd-engine";
import { framedParty, type FramedParty } from "./bb84-transport";
import type { QkdEngine, QkdEngineInit } from "./bb84-types";
import type { QkdWorkerRequest, QkdWorkerResponse } from "./qkd-worker-engine";

/** What the worker needs of its global scope (a DedicatedWorkerGlobalScope, or a MessagePort in tests). */
export interface WorkerScopeLike {
  postMessage(message: QkdWorkerResponse, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<QkdWorkerRequest>) => void): void;
}

/** Each distinct buffer once (transferring a buffer twice throws). */
function buffersOf(arrays: Uint8Array[]): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer) set.add(a.buffer);
  return [...set];
}

export function serveQkdEngine(scope: WorkerScopeLike, factory: (init: QkdEngineInit) => QkdEngine = createLocalEngine): void {
  let engine: QkdEngine | null = null;
  let party: FramedParty | null = null;
  let queue: Promise<void> = Promise.resolve();

  function need(): QkdEngine {
    if (!engine) throw new Error("QKD worker: init first");
    return engine;
  }

  async function handle(req: QkdWorkerRequest): Promise<void> {
    try {
      switch (req.op) {
        case "init": {
          if (engine) throw new Error("QKD worker: already initialised");
          engine = factory(req.init);
          scope.postMessage({ id: req.id, ok: true, op: "init" }, []);
          return;
        }
        case "start":
        case "receive":
        case "abort": {
          const e = need();
          const step = req.op === "start" ? await e.start() : req.op === "receive" ? await e.receive(req.message) : await e.abort(req.code, req.message);
          scope.postMessage({ id: req.id, ok: true, op: "step", step }, buffersOf(step.out));
          return;
        }
        case "framed": {
          if (party) throw new Error("QKD worker: frames already set up");
          party = framedParty(need(), req.setup);
          scope.postMessage({ id: req.id, ok: true, op: "framed" }, []);
          return;
        }
        case "fstart":
        case "frame":
        case "fabort": {
          if (!party) throw new Error("QKD worker: set up frames first");
          const step =
            req.op === "fstart" ? await party.start() : req.op === "frame" ? await party.receiveFrame(req.frame) : await party.abort(req.code, req.message);
          scope.postMessage({ id: req.id, ok: true, op: "fstep", step }, buffersOf(step.frames));
          return;
        }
        case "reset": {
          // The session is over: drop the engine, the codec and with it the frame key; the next init starts afresh.
          party?.clear();
          engine?.dispose();
          engine = null;
          party = null;
          scope.postMessage({ id: req.id, ok: true, op: "reset" }, []);
          return;
        }
        case "fclear": {
          party?.clear();
          scope.postMessage({ id: req.id, ok: true, op: "framed" }, []);
          return;
        }
        case "key": {
          const key = await need().key();
          scope.postMessage({ id: req.id, ok: true, op: "key", key }, key ? buffersOf([key]) : []);
          return;
        }
        default:
          throw new Error(`QKD worker: unknown op ${(req as { op?: unknown }).op}`);
      }
    } catch (e) {
      scope.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }, []);
    }
  }

  scope.addEventListener("message", (ev) => {
    const req = ev.data;
    queue = queue.then(() => handle(req));
  });
}

// Started only inside a real worker; importing this module elsewhere (tests) does nothing.
const workerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
if (typeof workerScope === "function" && globalThis instanceof workerScope) {
  serveQkdEngine(globalThis as unknown as WorkerScopeLike);
}
