"use client";
import { Panel } from "@/app/_components/ui";
import type { Bb84SessionSummary } from "@/lib/protocol/events";
import { QberChart } from "./qber-chart";

const time = (iso: string) => iso.replace("T", " ").replace("Z", "").slice(0, 23);
const short = (id: string) => id.slice(0, 8);

/** The room's BB84 sessions (non-secret summaries): QBER per session against the threshold, and a table. */
export function Bb84Sessions({ sessions }: { sessions: Bb84SessionSummary[] }) {
  return (
    <Panel title={`BB84 sessions · ${sessions.length}`} data-testid="admin-bb84">
      <QberChart sessions={sessions} />
      {sessions.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="bb84-table">
            <thead className="text-xs uppercase tracking-wider text-muted">
              <tr>
                <th className="px-4 py-2">Session</th>
                <th className="px-4 py-2">Started</th>
                <th className="px-4 py-2">Alice → Bob</th>
                <th className="px-4 py-2 text-right">Qubits</th>
                <th className="px-4 py-2">Outcome</th>
                <th className="px-4 py-2 text-right">QBER</th>
                <th className="px-4 py-2 text-right">Threshold</th>
                <th className="px-4 py-2 text-right">Key bits</th>
                <th className="px-4 py-2">Channel (e / loss / eve)</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {sessions.map((s) => (
                <tr key={s.id} data-testid="bb84-row">
                  <td className="px-4 py-1.5 font-mono text-xs">{short(s.id)}</td>
                  <td className="whitespace-nowrap px-4 py-1.5 tabular-nums">{time(s.startedAt)}</td>
                  <td className="px-4 py-1.5 font-mono text-xs">
                    {short(s.aliceId)} → {short(s.bobId)}
                  </td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{s.qubits}</td>
                  <td className="px-4 py-1.5">
                    {s.outcome}
                    {s.abortCode ? ` (${s.abortCode})` : ""}
                  </td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{s.qberEstimate === null ? "—" : `${(s.qberEstimate * 100).toFixed(2)} %`}</td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{(s.qberThreshold * 100).toFixed(1)} %</td>
                  <td className="px-4 py-1.5 text-right tabular-nums">{s.finalLength ?? "—"}</td>
                  <td className="px-4 py-1.5 tabular-nums">
                    {s.channel.noise} / {s.channel.loss} / {s.channel.eve}
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
