/**
 * BB84 engines for tests: a Web Worker stand-in (serveQkdEngine on the other side of a real
 * MessageChannel, in this thread, so messages go through Node's structured clone and transfer lists
 * as between a page and its worker), and local engines that record the final keys they produce.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { QkdEngine, QkdEngineFactory, QkdEngineInit } from "@/lib/client/bb84-types";
import { createLocalEngine } from "@/lib/client/qkd-engine";
import type { QkdWorkerRequest, WorkerLike } from "@/lib/client/qkd-worker-engine";
import { serveQkdEngine, type WorkerScopeLike } from "@/lib/client/qkd.worker";

export interface PortWorkerOptions {
  /** Every request the page sent, in order. */
  seen?: QkdWorkerRequest[];
  /** Delays the page's "link" request (a worker whose own connection opens late). */
  slowLinkMs?: number;
}

/** A Worker stand-in serving `factory`'s engines; its two ports are pushed to `ports` for the caller to close. */
export function portWorker(
  ports: MessagePort[],
  factory: (init: QkdEngineInit) => QkdEngine = createLocalEngine,
  { seen, slowLinkMs = 0 }: PortWorkerOptions = {},
): WorkerLike {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const scope: WorkerScopeLike = {
    postMessage: (m, t) => port2.postMessage(m, t as never),
    addEventListener: (_type, fn) =>
      port2.on("message", (data: QkdWorkerRequest) => {
        seen?.push(data);
        fn({ data } as MessageEvent<QkdWorkerRequest>);
      }),
  };
  serveQkdEngine(scope, factory);
  return {
    postMessage: (m, t) => {
      if (slowLinkMs > 0 && m.op === "link") setTimeout(() => port1.postMessage(m, t as never), slowLinkMs);
      else port1.postMessage(m, t as never);
    },
    addEventListener: ((type: string, fn: (ev: { data: unknown }) => void) => {
      if (type === "message") port1.on("message", (data) => fn({ data }));
    }) as WorkerLike["addEventListener"],
    terminate: () => {
      port1.close();
      port2.close();
    },
  };
}

/** Local engines that push the final key bytes each party produced to `keys` (a test-only view into the result). */
export function recordingEngine(keys: Uint8Array[]): QkdEngineFactory {
  return (init) => {
    const e = createLocalEngine(init);
    return {
      ...e,
      async key() {
        const k = await e.key();
        if (k) keys.push(k.slice());
        return k;
      },
    };
  };
}
