/**
 * The lab's heavy jobs, framework-free: what a Web Worker (lab.worker.ts) runs and what Node runs
 * in-thread for the benchmark. A job is a list of independent points; `runJob` reports each one
 * as it is done, so the page can draw a progress bar and partial charts.
 */
import { planSweep, type SweepPoint, type SweepSpec } from "@/lib/qkd/sweeps";
import { planLink, type LinkPoint, type LinkSpec } from "./link-job";

export type LabJob = { kind: "sweep"; spec: SweepSpec } | { kind: "link"; spec: LinkSpec };
export type LabPoint = SweepPoint | LinkPoint;

export type LabWorkerRequest = { op: "run"; job: LabJob };
export type LabWorkerMessage =
  | { type: "progress"; index: number; done: number; total: number; point: LabPoint }
  | { type: "done"; total: number; elapsedMs: number }
  | { type: "error"; message: string };

export interface JobPlan {
  total: number;
  runPoint(i: number): LabPoint;
}

export function planJob(job: LabJob): JobPlan {
  switch (job.kind) {
    case "sweep":
      return planSweep(job.spec);
    case "link":
      return planLink(job.spec);
    default:
      throw new RangeError(`lab: unknown job ${(job as { kind?: unknown }).kind}`);
  }
}

/** Run every point in order, reporting each (errors become one "error" message, never a throw). */
export function runJob(job: LabJob, post: (m: LabWorkerMessage) => void): void {
  const t0 = performance.now();
  let plan: JobPlan;
  try {
    plan = planJob(job);
    for (let i = 0; i < plan.total; i++) post({ type: "progress", index: i, done: i + 1, total: plan.total, point: plan.runPoint(i) });
  } catch (e) {
    post({ type: "error", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  post({ type: "done", total: plan.total, elapsedMs: performance.now() - t0 });
}
