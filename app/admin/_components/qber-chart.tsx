"use client";
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Bb84SessionSummary } from "@/lib/protocol/events";

/** QBER estimate per session (oldest left) against each session's abort threshold. */
export function QberChart({ sessions }: { sessions: Bb84SessionSummary[] }) {
  const data = [...sessions]
    .reverse()
    .map((s, i) => ({
      name: `#${i + 1}`,
      session: s.id.slice(0, 8),
      qber: s.qberEstimate === null ? null : +(s.qberEstimate * 100).toFixed(3),
      threshold: +(s.qberThreshold * 100).toFixed(3),
      outcome: s.outcome,
    }));
  // One threshold for every session (the usual case): a labelled line across the chart.
  const single = data.length > 0 && data.every((d) => d.threshold === data[0].threshold) ? data[0].threshold : null;
  if (data.length === 0) return <p className="px-4 py-6 text-center text-sm text-muted">No BB84 sessions in this room yet.</p>;
  return (
    <div className="h-64 w-full px-2 py-3" data-testid="qber-chart">
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--qs-line)" />
          <XAxis dataKey="name" stroke="var(--qs-muted)" fontSize={11} />
          <YAxis unit="%" stroke="var(--qs-muted)" fontSize={11} domain={[0, (max: number) => Math.max(12, Math.ceil(max))]} />
          <Tooltip formatter={(v) => `${v} %`} labelFormatter={(l, p) => `${l} · ${String(p?.[0]?.payload?.session ?? "")} · ${String(p?.[0]?.payload?.outcome ?? "")}`} />
          <Legend />
          <Bar dataKey="qber" name="QBER estimate" fill="var(--qs-accent)" isAnimationActive={false} />
          {single !== null ? (
            <ReferenceLine y={single} stroke="var(--qs-danger)" strokeDasharray="6 3" label={{ value: `abort threshold ${single} %`, position: "insideTopRight", fill: "var(--qs-danger)", fontSize: 11 }} />
          ) : (
            <Line dataKey="threshold" name="abort threshold" stroke="var(--qs-danger)" strokeDasharray="6 3" dot={{ r: 3 }} type="stepAfter" isAnimationActive={false} />
          )}
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
