"use client";
import { memo } from "react";
import { Bar, BarChart, CartesianGrid, Cell, ReferenceLine, Tooltip, XAxis, YAxis } from "recharts";
import type { Bb84SessionSummary } from "@/lib/protocol";
import { chartThreshold, formatCount, sessionChartData, type SessionChartPoint } from "@/lib/ui/bb84-view";

const OK = "var(--qs-ok)";
const DANGER = "var(--qs-danger)";

/**
 * QBER per session of this room (server summaries, so every member sees the same history), with
 * the abort threshold as a reference line. Aborted sessions are red and hatched; the same data is
 * in a table for screen readers.
 */
export const SessionChart = memo(SessionChartView, sameChart);

/**
 * The chart shows finished sessions only: a session starting (its "running" summary joins the
 * list) must not re-render it, since that render (recharts) would sit on the new session's first
 * frames on the page's main thread.
 */
function sameChart(a: ChartProps, b: ChartProps): boolean {
  if (a.names !== b.names || chartThreshold(a.sessions) !== chartThreshold(b.sessions)) return false;
  const fa = a.sessions.filter((s) => s.outcome !== "running");
  const fb = b.sessions.filter((s) => s.outcome !== "running");
  return fa.length === fb.length && fa.every((s, i) => s === fb[i]);
}

interface ChartProps {
  sessions: readonly Bb84SessionSummary[];
  names: Readonly<Record<string, string>>;
}

function SessionChartView({ sessions, names }: ChartProps) {
  // Memoized on the summaries and names: a live session re-renders the dashboard on every frame,
  // the chart only when a session starts or ends.
  const data = sessionChartData(sessions, (id) => names[id] ?? `${id.slice(0, 6)}…`);
  const threshold = chartThreshold(sessions);
  const top = Math.max(30, Math.ceil(Math.max(threshold, ...data.map((d) => d.bound ?? d.qber ?? 0)) / 10) * 10);
  const ticks = Array.from({ length: top / 10 + 1 }, (_, i) => i * 10);
  return (
    <figure className="space-y-1" data-testid="bb84-chart" data-count={data.length} aria-labelledby="bb84-chart-title">
      <figcaption id="bb84-chart-title" className="text-[11px] font-semibold uppercase tracking-wider text-muted">
        Room sessions · QBER per session
        <span className="mt-0.5 block font-normal normal-case tracking-normal">
          <span className="mr-2 inline-flex items-center gap-1">
            <span aria-hidden="true" className="inline-block h-2 w-2 rounded-sm bg-ok" /> success
          </span>
          <span className="mr-2 inline-flex items-center gap-1">
            <span aria-hidden="true" className="inline-block h-2 w-2 rounded-sm bg-danger" /> aborted
          </span>
          <span className="inline-flex items-center gap-1">
            <span aria-hidden="true" className="inline-block h-px w-3 border-t border-dashed border-danger" /> abort {threshold}%
          </span>
        </span>
      </figcaption>
      {/* Mounted even while empty, so the chart's first (costly) render happens with the page, not at a session's end. */}
      <div className="relative">
        <div className="h-36 w-full" aria-hidden="true">
          {/* `responsive` sizes the chart to this box and follows it. Not ResponsiveContainer: on a phone
              this box sits in a hidden tab (0×0) until the BB84 tab is chosen, and ResponsiveContainer
              warned about the zero size on every render there. */}
          <BarChart
            responsive
            style={{ width: "100%", height: "100%" }}
            data={data}
            margin={{ top: 6, right: 6, bottom: 0, left: 0 }}
            accessibilityLayer={false}
          >
            <defs>
              <pattern id="bb84-aborted" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                <rect width="5" height="5" fill={DANGER} fillOpacity={0.35} />
                <line x1="0" y1="0" x2="0" y2="5" stroke={DANGER} strokeWidth="3" />
              </pattern>
            </defs>
            <CartesianGrid strokeDasharray="2 4" stroke="var(--qs-line)" vertical={false} />
            <XAxis dataKey="n" interval="preserveStartEnd" tick={<SessionTick data={data} />} stroke="var(--qs-line)" />
            <YAxis
              domain={[0, top]}
              ticks={ticks}
              interval={0}
              tickFormatter={(v: number) => `${v}%`}
              tick={{ fontSize: 10, fill: "var(--qs-muted)" }}
              stroke="var(--qs-line)"
              width={40}
            />
            <Tooltip content={<ChartTooltip />} cursor={{ fill: "var(--qs-panel-2)" }} />
            <ReferenceLine y={threshold} stroke={DANGER} strokeDasharray="4 3" ifOverflow="extendDomain" />
            <Bar dataKey="qber" isAnimationActive={false} radius={[3, 3, 0, 0]} maxBarSize={28} minPointSize={2}>
              {data.map((d) => (
                <Cell key={d.sessionId} fill={d.aborted ? "url(#bb84-aborted)" : OK} stroke={d.aborted ? DANGER : OK} />
              ))}
            </Bar>
          </BarChart>
        </div>
        {data.length === 0 && (
          <p
            className="absolute inset-0 flex items-center justify-center rounded-md bg-panel/80 px-3 text-center text-[11px] text-muted"
            data-testid="bb84-chart-empty"
          >
            No finished session in this room yet.
          </p>
        )}
      </div>
      {/* The sr-only box wraps the table: a table ignores width, so sr-only on the table itself widened phone pages. */}
      {data.length > 0 && (
        <div className="sr-only">
          <table>
            <caption>QBER of each BB84 session in this room</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">QBER</th>
                <th scope="col">Outcome</th>
                <th scope="col">Final key</th>
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr key={d.sessionId} data-testid="bb84-chart-row" data-outcome={d.outcome} data-session-id={d.sessionId}>
                  <td>{d.label}</td>
                  <td>{d.qber === null ? "not estimated" : `${d.qber}%`}</td>
                  <td>{d.aborted ? `aborted (${d.abortCode ?? "no code"})` : d.outcome}</td>
                  <td>{d.finalLength === null ? "none" : `${d.finalLength} bits`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </figure>
  );
}

/** "#n" under each session; aborted ones in red with a cross (also those with no QBER, hence no bar). */
function SessionTick({ x, y, payload, data }: { x?: number; y?: number; payload?: { value: number }; data: SessionChartPoint[] }) {
  const d = data.find((p) => p.n === payload?.value);
  if (x === undefined || y === undefined || !d) return null;
  return (
    <text x={x} y={y + 10} textAnchor="middle" fontSize={10} fill={d.aborted ? DANGER : "var(--qs-muted)"}>
      #{d.n}
      {d.aborted ? " ✕" : ""}
    </text>
  );
}

function ChartTooltip({ active, payload }: { active?: boolean; payload?: ReadonlyArray<{ payload?: SessionChartPoint }> }) {
  const d = active ? payload?.[0]?.payload : undefined;
  if (!d) return null;
  return (
    <div className="rounded-md border border-line bg-panel px-2.5 py-1.5 text-[11px] shadow-lg">
      <p className="font-semibold">{d.label}</p>
      <p>
        QBER <span className="font-mono">{d.qber === null ? "not estimated" : `${d.qber}%`}</span>
        {d.bound !== null && (
          <>
            {" "}
            (bound <span className="font-mono">{d.bound}%</span>)
          </>
        )}
      </p>
      <p className={d.aborted ? "text-danger" : "text-ok"}>
        {d.aborted ? `aborted · ${d.abortCode ?? ""}` : `success · ${formatCount(d.finalLength)} key bits`}
      </p>
      <p className="text-muted">Eve on {Math.round(d.eve * 100)}% (simulation)</p>
    </div>
  );
}
