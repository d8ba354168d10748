/**
 * A QkdEngine whose lib/qkd party runs in a Web Worker (lib/client/qkd.worker.ts), so a session of
 * a million qubits never blocks the page. The worker wraps createLocalEngine, the same code Node
 * runs in-thread, and this side speaks to it over postMessage with request ids.
 *
 * Workers are kept warm in a small pool between sessions (reset in between: engine, codec and
 * frame key dropped), so a session does not start with a cold JIT.
 *
 * Bytes cross the thread boundary once: a message for the worker is copied into an exact-size
 * buffer that is transferred (structured-cloning a view would clone its whole backing buffer), and
 * the worker transfers its outgoing messages and the key back, so neither side keeps a copy.
 */
import type { AbortCode } from "@/lib/qkd/messages";
import type { FramedParty, FramedStep, FrameSetup } from "./bb84-transport";
import type { LinkEvent, QkdEngine, QkdEngineFactory, QkdEngineInit, QkdStep } from "./bb84-types";

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
  | { id: number; op: "fclear" }
  /** The link (PartyLink): its connection, attached with `ticket` when it has none (url: the server). */
  | { id: number; op: "link"; url: string; ticket: string | null }
  | { id: number; op: "direct" }
  | { id: number; op: "undirect" }
  | { id: number; op: "mainDone" }
  | { id: number; op: "fidle" }
  /** Forget the session (engine, codec, key): the worker goes back to the pool for the next one. */
  | { id: number; op: "reset" };

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Worker → main thread: one answer per request, in request order. */
export type QkdWorkerResponse =
  | { id: number; ok: true; op: "init" }
  | { id: number; ok: true; op: "step"; step: QkdStep }
  | { id: number; ok: true; op: "key"; key: Uint8Array | null }
  | { id: number; ok: true; op: "framed" }
  | { id: number; ok: true; op: "reset" }
  | { id: number; ok: true; op: "fstep"; step: FramedStep }
  | { id: number; ok: true; op: "link"; handle: string | null }
  | { id: number; ok: true; op: "done" }
  /** Unasked (id 0): what the link did (direct mode). */
  | { id: 0; ok: true; op: "event"; event: LinkEvent }
  | { id: number; ok: false; error: string };

/** The part of the Worker interface used here (tests pass a MessagePort-backed stand-in). */
export interface WorkerLike {
  postMessage(message: QkdWorkerRequest, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<QkdWorkerResponse>) => void): void;
  addEventListener(type: "error" | "messageerror", listener: (ev: Event) => void): void;
  /** Optional (a pooled worker must drop its last engine's listeners). */
  removeEventListener?(type: "message", listener: (ev: MessageEvent<QkdWorkerResponse>) => void): void;
  removeEventListener?(type: "error" | "messageerror", listener: (ev: Event) => void): void;
  terminate(): void;
}

export interface WorkerEngineOptions {
  /** Creates the worker; default: a warm worker from the page's pool (or a new module worker running lib/client/qkd.worker.ts). */
  spawn?: () => WorkerLike;
  /** A disposed engine's worker, reset, goes back here instead of being terminated (default: the page's pool when spawn is default). */
  release?: (worker: WorkerLike) => void;
}

/**
 * Request ids are unique across every engine of the page, so a pooled worker's late answer to its
 * previous engine can never be taken for an answer to the next one.
 */
let lastRequestId = 0;

/**
 * Idle workers kept warm between sessions: a new worker starts with a cold JIT (the first
 * sessions' engine steps ran several times slower than in a warm one) and has to load its module.
 * A worker comes back only after its engine was reset (engine, codec and frame key dropped).
 */
const POOL_MAX = 2;
const pool: WorkerLike[] = [];
function pooledWorker(): WorkerLike {
  return pool.pop() ?? spawnQkdWorker();
}
function releaseWorker(w: WorkerLike): void {
  if (pool.length < POOL_MAX) pool.push(w);
  else w.terminate();
}

function spawnQkdWorker(): WorkerLike {
  // Written out in full so the bundler (Turbopack in `next dev` and `next build`) sees the worker entry.
  return new Worker(new URL("./qkd.worker.ts", import.meta.url), { type: "module", name: "qsec-qkd" });
}

export function createWorkerEngine(init: QkdEngineInit, opts: WorkerEngineOptions = {}): QkdEngine {
  const worker = (opts.spawn ?? pooledWorker)();
  const release = opts.release ?? (opts.spawn ? null : releaseWorker);
  const pending = new Map<number, { resolve: (r: QkdWorkerResponse & { ok: true }) => void; reject: (e: Error) => void }>();
  let failure: Error | null = null;
  /** The worker itself failed (not just a request): it is never reused. */
  let broken = false;
  let disposed = false;

  function failAll(err: Error) {
    failure ??= err;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  }

  /** Where the link's events go (set by PartyLink.direct). */
  let onLinkEvent: ((e: LinkEvent) => void) | null = null;
  const onMessage = (ev: MessageEvent<QkdWorkerResponse>) => {
    const res = ev.data;
    if (res.ok && res.op === "event") {
      onLinkEvent?.(res.event);
      return;
    }
    const p = pending.get(res.id);
    if (!p) return;
    pending.delete(res.id);
    if (res.ok) p.resolve(res);
    else p.reject(new Error(res.error));
  };
  // A worker that fails to load or throws outside a request (bundling problem, out of memory)
  // fails every request; the client then aborts the session with the reason.
  const onError = (ev: Event) => {
    const msg = (ev as ErrorEvent).message;
    ev.preventDefault?.();
    broken = true;
    failAll(new Error(`QKD worker failed${msg ? `: ${msg}` : ""}`));
  };
  const onMessageError = () => {
    broken = true;
    failAll(new Error("QKD worker sent a message that could not be read"));
  };
  worker.addEventListener("message", onMessage);
  worker.addEventListener("error", onError);
  worker.addEventListener("messageerror", onMessageError);

  function call(req: WithoutId<QkdWorkerRequest>, transfer: Transferable[] = []): Promise<QkdWorkerResponse & { ok: true }> {
    if (failure) return Promise.reject(failure);
    const id = ++lastRequestId;
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
      const copy = new Uint8Array(message); // exact size, then moved: one copy in all (not slice(): a Buffer's is a view)
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
      if (disposed) return;
      disposed = true;
      onLinkEvent = null;
      failAll(new Error("QKD engine disposed"));
      if (!release || broken || !worker.removeEventListener) {
        worker.terminate();
        return;
      }
      // Back to the pool once the worker has dropped this session (its answers come in order, so
      // "reset" answers after everything this engine asked).
      const id = ++lastRequestId;
      const done = (ev: MessageEvent<QkdWorkerResponse>) => {
        if (ev.data?.id !== id) return;
        worker.removeEventListener!("message", done);
        if (ev.data.ok) release(worker);
        else worker.terminate();
      };
      worker.removeEventListener("message", onMessage);
      worker.removeEventListener("error", onError);
      worker.removeEventListener("messageerror", onMessageError);
      worker.addEventListener("message", done);
      try {
        worker.postMessage({ id, op: "reset" }, []);
      } catch {
        worker.terminate();
      }
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
      const done = async (req: WithoutId<QkdWorkerRequest>): Promise<void> => {
        await configured;
        const res = await call(req);
        if (res.op !== "done") throw new Error(`QKD worker answered ${res.op} to ${req.op}`);
      };
      return {
        link: {
          async connect(url: string, ticket: string | null) {
            await configured;
            const res = await call({ op: "link", url, ticket });
            if (res.op !== "link") throw new Error(`QKD worker answered ${res.op} to a link request`);
            return res.handle;
          },
          async direct(onEvent: (e: LinkEvent) => void) {
            onLinkEvent = onEvent;
            await done({ op: "direct" });
          },
          async undirect() {
            await done({ op: "undirect" });
            onLinkEvent = null;
          },
          endMainPath: () => done({ op: "mainDone" }),
          idle: () => done({ op: "fidle" }),
        },
        start: () => fstep({ op: "fstart" }),
        abort: (code, message) => fstep({ op: "fabort", code, message }),
        receiveFrame(frame: Uint8Array) {
          // A socket's binary attachment is its own buffer: move it; otherwise move an exact copy
          // (new Uint8Array, not slice(): in Node a frame is a Buffer, whose slice() is a view of
          // the same memory, often a read chunk that holds the next frames too, which moving it
          // would empty).
          const own = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer;
          const bytes = own ? frame : new Uint8Array(frame);
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
