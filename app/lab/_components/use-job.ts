"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import type { LabJob, LabPoint } from "@/lib/lab/jobs";
import { startJob, type RunningJob } from "@/lib/lab/runner";

export type JobStatus = "idle" | "running" | "done" | "cancelled" | "error";

export interface JobState {
  status: JobStatus;
  done: number;
  total: number;
  points: LabPoint[];
  elapsedMs: number | null;
  error: string | null;
  /** The job the points belong to (the spec may have changed since). */
  job: LabJob | null;
}

const IDLE: JobState = { status: "idle", done: 0, total: 0, points: [], elapsedMs: null, error: null, job: null };

/** One lab job at a time per panel, in its own Web Worker; cancel (or unmount) terminates it. */
export function useJob() {
  const [state, setState] = useState<JobState>(IDLE);
  const running = useRef<RunningJob | null>(null);

  const cancel = useCallback(() => running.current?.cancel(), []);
  useEffect(() => () => running.current?.cancel(), []);

  const run = useCallback((job: LabJob) => {
    running.current?.cancel();
    setState({ ...IDLE, status: "running", job });
    const t0 = performance.now();
    const r = startJob(job, (done, total, point, index) =>
      setState((s) => {
        const points = s.points.slice();
        points[index] = point;
        return { ...s, done, total, points };
      }),
    );
    running.current = r;
    void r.result.then((o) => {
      if (running.current !== r) return;
      running.current = null;
      setState((s) => ({
        ...s,
        status: o.status,
        error: o.status === "error" ? o.message : null,
        // Wall time in the page (worker start-up included), the figure a user waits.
        elapsedMs: o.status === "done" ? performance.now() - t0 : null,
      }));
    });
  }, []);

  return { state, run, cancel };
}
