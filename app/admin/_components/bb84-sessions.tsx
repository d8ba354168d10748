"use client";
import { Panel } from "@/app/_components/ui";
import type { Bb84SessionSummary } from "@/lib/protocol/events";
import { formatPercent } from "@/lib/ui/bb84-view";
import { SessionChart } from "@/app/room/_components/bb84-chart";
import { LocalTime, ZoneName } from "@/app/_components/local-time";

const short = (id: string) => id.slice(0, 8);

/**
 * The room's BB84 sessions (non-secret summaries): the room page's chart (QBER per session, aborted
 * ones marked, the abort threshold) and a table, with members' names where known and the room
 * page's units (percent).
 */
export function Bb84Sessions({ sessions, names = {} }: { sessions: Bb84SessionSummary[]; names?: Readonly<Record<string, string>> }) {
  const nameOf = (id: string) => names[id] ?? short(id);
  return (
    <Panel title={`BB84 sessions · ${sessions.length}`} data-testid="admin-bb84">
      <div className="px-4 py-3" data-testid="qber-chart">
        <SessionChart sessions={sessions} names={names} />
      </div>
      {sessions.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="bb84-table">
            <thead className="text-xs uppercase tracking-wider text-muted">
              <tr>
                <th className="px-4 py-2">Session</th>
                <th className="px-4 py-2">
                  Started (<ZoneName />)
                </th>
                <th className="px-4 py-2">Alice → Bob</th>
                <th className="px-4 py-2 text-right">Qubits</th>
                <th className="px-4 py-2">Outcome</th>
                <th className="px-4 py-2 text-right">QBER</th>
                <th className="px-4 py-2 text-right">Threshold</th>
                <th className="px-4 py-2 text-right">Key bits</th>
                <th className="px-4 py-2">Channel (noise / loss / Eve)</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {sessions.map((s) => (
                <tr key={s.id} data-testid="bb84-row">
                  <td className="px-4 py-1.5 font-mono text-xs">{short(s.id)}</td>
                  <td className="whitespace-nowrap px-4 py-1.5 tabular-nums">
                    <LocalTime iso={s.startedAt} />
                  </td>
                  <td className="px-4 py-1.5" data-testid="bb84-pair">
                    <span title={s.aliceId}>{nameOf(s.aliceId)}</span> → <span title={s.bobId}>{nameOf(s.bobId)}</span>
                  </td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{s.qubits}</td>
                  <td className="px-4 py-1.5">
                    <span className={s.outcome === "success" ? "text-ok" : "font-medium text-danger"}>{s.outcome}</span>
                    {s.abortCode ? ` (${s.abortCode})` : ""}
                  </td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{s.qberEstimate === null ? "—" : `${(s.qberEstimate * 100).toFixed(2)}%`}</td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{(s.qberThreshold * 100).toFixed(1)}%</td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{s.finalLength ?? "—"}</td>
                  <td className="px-4 py-1.5 tabular-nums">
                    {formatPercent(s.channel.noise, 1)} / {formatPercent(s.channel.loss, 0)} / {formatPercent(s.channel.eve, 0)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
