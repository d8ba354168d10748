"use client";
import { Button } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import type { JobState } from "./use-job";

/** Run / Cancel, a progress bar and the outcome line of one lab job. */
export function JobControls({
  id,
  state,
  onRun,
  onCancel,
  invalid,
}: {
  id: string;
  state: JobState;
  onRun: () => void;
  onCancel: () => void;
  invalid?: string | null;
}) {
  const running = state.status === "running";
  const hydrated = useHydrated();
  const pct = state.total > 0 ? Math.round((100 * state.done) / state.total) : 0;
  return (
    <div
      className="flex flex-wrap items-center gap-3"
      data-testid={`job-${id}`}
      data-status={state.status}
      data-done={state.done}
      data-total={state.total}
      data-elapsed-ms={state.elapsedMs ?? ""}
    >
      <Button variant="primary" onClick={onRun} disabled={!hydrated || running || !!invalid} data-testid={`run-${id}`}>
        {state.status === "idle" ? "Run" : "Run again"}
      </Button>
      <Button variant="danger" onClick={onCancel} disabled={!running} data-testid={`cancel-${id}`}>
        Cancel
      </Button>
      <div className="flex min-w-40 flex-1 items-center gap-2">
        <div
          role="progressbar"
          aria-label={`${id} progress`}
          aria-valuemin={0}
          aria-valuemax={state.total || 1}
          aria-valuenow={state.done}
          aria-valuetext={state.total ? `${state.done} of ${state.total} points` : "not started"}
          data-testid={`progress-${id}`}
          className="h-2 flex-1 overflow-hidden rounded-full bg-panel-2"
        >
          <div className="h-full bg-accent transition-[width]" style={{ width: `${pct}%` }} />
        </div>
        <span className="w-36 text-xs text-muted" aria-live="polite" data-testid={`status-${id}`}>
          {running && `${state.done} / ${state.total || "…"} points`}
          {state.status === "done" && `done in ${((state.elapsedMs ?? 0) / 1000).toFixed(2)} s`}
          {state.status === "cancelled" && `cancelled at ${state.done} / ${state.total}`}
          {state.status === "error" && "failed"}
          {state.status === "idle" && (invalid ?? "not run yet")}
        </span>
      </div>
      {state.error && (
        <p role="alert" className="w-full text-xs text-danger">
          {state.error}
        </p>
      )}
    </div>
  );
}
