/**
 * A QkdEngine whose lib/qkd party runs in a Web Worker (lib/client/qkd.worker.ts), so a session of
 * a million qubits never blocks the page. The worker wraps createLocalEngine, the same code Node
 * runs in-thread, and this side speaks to it over postMessage with request ids.
 *
 * Bytes cross the thread boundary once: a message for the worker is copied into an exact-size
 * buffer that is transferred (structured-cloning a view would clone its whole backing buffer), and
 * the worker transfers its outgoing messages and the key back, so neither side keeps a copy.
 */
import type { AbortCode } from "@/lib/qkd/messages";
import type { FramedParty, FramedStep, FrameSetup } from "./bb84-transport";
import type { QkdEngine, QkdEngineFactory, QkdEngineInit, QkdStep } from "./bb84-types";

/** Main thread → worker. */
export type QkdWorkerRequest =
  | { id: number; op: "init"; init: QkdEngineInit }
  | { id: number; op: "start" }
  | { id: number; op: "receive"; message: Uint8Array }
  | { id: number; op: "abort"; code: AbortCode; message: string }
  | { id: number; op: "key" }
  /** From here on the worker seals and opens the session's frames itself (FramedParty). */
  | { id: number; op: "framed"; setup: FrameSetup }
  | { id: number; op: "fstart" }
  | { id: number; op: "frame"; frame: Uint8Array }
  | { id: number; op: "fabort"; code: AbortCode; message: string }
  | { id: number; op: "fclear" };

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Worker → main thread: one answer per request, in request order. */
export type QkdWorkerResponse =
  | { id: number; ok: true; op: "init" }
  | { id: number; ok: true; op: "step"; step: QkdStep }
  | { id: number; ok: true; op: "key"; key: Uint8Array | null }
  | { id: number; ok: true; op: "framed" }
  | { id: number; ok: true; op: "fstep"; step: FramedStep }
  | { id: number; ok: false; error: string };

/** The part of the Worker interface used here (tests pass a MessagePort-backed stand-in). */
export interface WorkerLike {
  postMessage(message: QkdWorkerRequest, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<QkdWorkerResponse>) => void): void;
  addEventListener(type: "error" | "messageerror", listener: (ev: Event) => void): void;
  terminate(): void;
}

export interface WorkerEngineOptions {
  /** Creates the worker; default: a module worker running lib/client/qkd.worker.ts. */
  spawn?: () => WorkerLike;
}

function spawnQkdWorker(): WorkerLike {
  // Written out in full so the bundler (Turbopack in `next dev` and `next build`) sees the worker entry.
  return new Worker(new URL("./qkd.worker.ts", import.meta.url), { type: "module", name: "qsec-qkd" });
}

export function createWorkerEngine(init: QkdEngineInit, opts: WorkerEngineOptions = {}): QkdEngine {
  const worker = (opts.spawn ?? spawnQkdWorker)();
  const pending = new Map<number, { resolve: (r: QkdWorkerResponse & { ok: true }) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | null = null;

  function failAll(err: Error) {
    failure ??= err;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  }

  worker.addEventListener("message", (ev: MessageEvent<QkdWorkerResponse>) => {
    const res = ev.data;
    const p = pending.get(res.id);
    if (!p) return;
    pending.delete(res.id);
    if (res.ok) p.resolve(res);
    else p.reject(new Error(res.error));
  });
  // A worker that fails to load or throws outside a request (bundling problem, out of memory)
  // fails every request; the client then aborts the session with the reason.
  worker.addEventListener("error", (ev: Event) => {
    const msg = (ev as ErrorEvent).message;
    ev.preventDefault?.();
    failAll(new Error(`QKD worker failed${msg ? `: ${msg}` : ""}`));
  });
  worker.addEventListener("messageerror", () => failAll(new Error("QKD worker sent a message that could not be read")));

  function call(req: WithoutId<QkdWorkerRequest>, transfer: Transferable[] = []): Promise<QkdWorkerResponse & { ok: true }> {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ ...req, id } as QkdWorkerRequest, transfer);
      } catch (e) {
        pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  async function step(req: WithoutId<QkdWorkerRequest>, transfer?: Transferable[]): Promise<QkdStep> {
    const res = await call(req, transfer);
    if (res.op !== "step") throw new Error(`QKD worker answered ${res.op} to a step request`);
    return res.step;
  }

  // The worker handles requests strictly in order, so init needs no await before the first call;
  // its failure (bad params) surfaces on that call.
  const ready = call({ op: "init", init });
  ready.catch(() => undefined);

  return {
    async start() {
      await ready;
      return step({ op: "start" });
    },
    async receive(message: Uint8Array) {
      await ready;
      const copy = message.slice(); // exact size, then moved: one copy in all
      return step({ op: "receive", message: copy }, [copy.buffer]);
    },
    async abort(code: AbortCode, message: string) {
      await ready;
      return step({ op: "abort", code, message });
    },
    async key() {
      await ready;
      const res = await call({ op: "key" });
      if (res.op !== "key") throw new Error(`QKD worker answered ${res.op} to a key request`);
      return res.key;
    },
    dispose() {
      failAll(new Error("QKD engine disposed"));
      worker.terminate();
    },
    /**
     * The frame codec moves into the worker: a frame from the relay goes straight to it (its
     * buffer transferred, not copied) and the sealed answer comes back, one page task per step.
     */
    framed(setup: FrameSetup): FramedParty {
      const configured = call({ op: "framed", setup });
      configured.catch(() => undefined);
      const fstep = async (req: WithoutId<QkdWorkerRequest>, transfer?: Transferable[]): Promise<FramedStep> => {
        await configured;
        const res = await call(req, transfer);
        if (res.op !== "fstep") throw new Error(`QKD worker answered ${res.op} to a frame request`);
        return res.step;
      };
      return {
        start: () => fstep({ op: "fstart" }),
        abort: (code, message) => fstep({ op: "fabort", code, message }),
        receiveFrame(frame: Uint8Array) {
          // A socket's binary attachment is its own buffer: move it; otherwise move an exact copy.
          const own = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer;
          const bytes = own ? frame : frame.slice();
          return fstep({ op: "frame", frame: bytes }, [bytes.buffer as ArrayBuffer]);
        },
        clear() {
          if (!failure) call({ op: "fclear" }).catch(() => undefined);
        },
      };
    },
  };
}

/** For ChatClientOptions.qkdEngine in the browser: every BB84 party gets its own worker. */
export const workerEngineFactory: QkdEngineFactory = (init) => createWorkerEngine(init);
