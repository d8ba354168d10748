/**
 * Runs a lab job in a fresh Web Worker. Cancelling terminates the worker: a point in progress
 * stops at once (a sweep point is one synchronous engine run, so a cancel flag would only be read
 * between points).
 */
import type { LabJob, LabPoint, LabWorkerMessage } from "./jobs";

export interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<LabWorkerMessage>) => void): void;
  addEventListener(type: "error", listener: (ev: ErrorEvent) => void): void;
  terminate(): void;
}

export type JobOutcome =
  | { status: "done"; points: LabPoint[]; elapsedMs: number }
  | { status: "cancelled"; points: LabPoint[] }
  | { status: "error"; message: string; points: LabPoint[] };

export interface RunningJob {
  result: Promise<JobOutcome>;
  cancel(): void;
}

function spawnLabWorker(): WorkerLike {
  // Written out in full so the bundler (Turbopack) sees the worker entry.
  return new Worker(new URL("./lab.worker.ts", import.meta.url), { type: "module", name: "qsec-lab" }) as unknown as WorkerLike;
}

export function startJob(
  job: LabJob,
  onProgress: (done: number, total: number, point: LabPoint, index: number) => void,
  spawn: () => WorkerLike = spawnLabWorker,
): RunningJob {
  const worker = spawn();
  const points: LabPoint[] = [];
  let settle!: (o: JobOutcome) => void;
  let settled = false;
  const result = new Promise<JobOutcome>((resolve) => (settle = resolve));
  const finish = (o: JobOutcome) => {
    if (settled) return;
    settled = true;
    worker.terminate();
    settle(o);
  };
  worker.addEventListener("message", (ev) => {
    const m = ev.data;
    if (m.type === "progress") {
      points[m.index] = m.point;
      onProgress(m.done, m.total, m.point, m.index);
    } else if (m.type === "done") finish({ status: "done", points, elapsedMs: m.elapsedMs });
    else finish({ status: "error", message: m.message, points });
  });
  worker.addEventListener("error", (ev) => finish({ status: "error", message: ev.message || "the lab worker failed", points }));
  worker.postMessage({ op: "run", job });
  return { result, cancel: () => finish({ status: "cancelled", points }) };
}
