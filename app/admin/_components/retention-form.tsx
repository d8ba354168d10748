"use client";
import { useState } from "react";
import { Button, Panel } from "@/app/_components/ui";

/** Deletes every room's log rows older than N days, now (the env setting does the same daily). */
export function RetentionForm() {
  const [days, setDays] = useState("30");
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(e: React.FormEvent) {
    e.preventDefault();
    const n = Number(days);
    if (!window.confirm(`Delete every log row older than ${n} day(s)? This cannot be undone.`)) return;
    setBusy(true);
    try {
      const res = await fetch("/admin/api/retention", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ days: n }) });
      const body = (await res.json()) as { deleted?: number; cutoff?: string; error?: { message: string } };
      setResult(res.ok ? `Deleted ${body.deleted} row(s) older than ${body.cutoff}.` : `Failed: ${body.error?.message ?? res.status}`);
    } catch {
      setResult("Failed: the server could not be reached");
    } finally {
      setBusy(false);
    }
  }

  return (
    <Panel title="Log retention" data-testid="retention">
      <form onSubmit={run} className="flex flex-wrap items-center gap-3 px-4 py-3 text-sm">
        <label htmlFor="retention-days">Delete logs older than</label>
        <input
          id="retention-days"
          type="number"
          min={0}
          max={36500}
          step="any"
          required
          value={days}
          onChange={(e) => setDays(e.target.value)}
          className="w-24 rounded-md border border-line bg-panel-2 px-2 py-1"
          data-testid="retention-days"
        />
        <span>days</span>
        <Button type="submit" variant="danger" disabled={busy} data-testid="retention-run">
          Delete now
        </Button>
        {result && (
          <span role="status" className="text-muted" data-testid="retention-result">
            {result}
          </span>
        )}
      </form>
    </Panel>
  );
}
