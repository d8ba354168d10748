"use client";
import { useId, useState } from "react";
import type { Bb84LiveView } from "@/lib/client/bb84-types";
import { CASCADE_VARIANTS, type CascadeVariant } from "@/lib/qkd/cascade";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import {
  CASCADE_CHOICES,
  cascadeHint,
  focusSession,
  formatCount,
  keyPlanHint,
  formatPercent,
  parseQubits,
  QUBITS_MAX,
  QUBITS_MIN,
  sessionTabLabel,
} from "@/lib/ui/bb84-view";
import { Button, Panel } from "@/app/_components/ui";
import { SessionChart } from "./bb84-chart";
import { LiveSession } from "./bb84-live-session";

/**
 * The BB84 / QBER dashboard: start controls, the channel in force, the live session (stage,
 * progress, QBER against the abort threshold, bit counts, Cascade cost, the simulated Eve) and a
 * chart of the room's sessions. Every number comes from structured snapshots and summaries.
 */
export function Bb84Panel() {
  const room = useRoomFields("bb84", "channel", "members");
  const names = useChatStore((s) => s.names);
  const [selected, setSelected] = useState<string | null>(null);
  if (!room) return null;
  const live = room.bb84.live;
  const shown = live.find((l) => l.sessionId === selected) ?? focusSession(live);
  const nameOf = (id: string) => names[id] ?? `${id.slice(0, 8)}…`;

  return (
    <Panel title="BB84 / QBER" data-testid="bb84-panel" className="shrink-0">
      <div className="space-y-3 px-4 py-3">
        <StartControls />
        <ChannelLine />
        {live.length > 1 && <SessionList live={live} shown={shown?.sessionId ?? null} onSelect={setSelected} nameOf={nameOf} />}
        {shown ? (
          <LiveSession l={shown} peerName={nameOf(shown.peerId)} summary={room.bb84.sessions.find((x) => x.id === shown.sessionId) ?? null} />
        ) : (
          <NoSession />
        )}
        <SessionChart sessions={room.bb84.sessions} names={names} />
      </div>
    </Panel>
  );
}

function StartControls() {
  const room = useRoomFields("bb84", "channel", "members");
  const phase = useChatStore((s) => s.phase);
  const choice = useChatStore((s) => s.bb84Choice);
  const setChoice = useChatStore((s) => s.setBb84Choice);
  const startWithEach = useChatStore((s) => s.startBb84WithEach);
  const starting = useChatStore((s) => s.bb84Starting);
  const error = useChatStore((s) => s.bb84Error);
  const clearError = useChatStore((s) => s.clearBb84Error);
  const ids = { qubits: useId(), variant: useId(), hint: useId(), variantHint: useId(), plan: useId() };
  const [text, setText] = useState(String(choice.qubits));
  const parsed = parseQubits(text);
  const plan = parsed !== null && room ? keyPlanHint(parsed, room.channel) : null;
  const others = room?.members.filter((m) => !m.isMe) ?? [];
  const running = room?.bb84.live.some((l) => l.status === "running") ?? false;

  return (
    <div className="space-y-2" data-testid="bb84-controls">
      <div className="grid grid-cols-[1fr_1fr] gap-2">
        <div>
          <label htmlFor={ids.qubits} className="mb-1 block text-[11px] font-semibold uppercase tracking-wider text-muted">
            Qubits
          </label>
          <input
            id={ids.qubits}
            inputMode="numeric"
            value={text}
            aria-invalid={parsed === null}
            aria-describedby={plan ? `${ids.hint} ${ids.plan}` : ids.hint}
            data-testid="bb84-qubits"
            onChange={(e) => {
              setText(e.target.value);
              const n = parseQubits(e.target.value);
              if (n !== null) setChoice({ qubits: n });
            }}
            className={`block w-full rounded-md border bg-bg px-2.5 py-1.5 font-mono text-sm focus:outline-none focus:ring-2 focus:ring-accent/50 ${parsed === null ? "border-danger" : "border-line"}`}
          />
        </div>
        <div>
          <label htmlFor={ids.variant} className="mb-1 block text-[11px] font-semibold uppercase tracking-wider text-muted">
            Cascade
          </label>
          <select
            id={ids.variant}
            value={choice.cascadeVariant}
            onChange={(e) => setChoice({ cascadeVariant: e.target.value as CascadeVariant })}
            aria-describedby={ids.variantHint}
            data-testid="bb84-variant"
            className="block w-full rounded-md border border-line bg-bg px-2 py-1.5 text-sm focus:outline-none focus:ring-2 focus:ring-accent/50"
          >
            {CASCADE_VARIANTS.map((v) => (
              <option key={v} value={v} title={CASCADE_CHOICES[v].hint}>
                {CASCADE_CHOICES[v].label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p id={ids.variantHint} className="text-[11px] leading-4 text-muted" data-testid="bb84-variant-hint">
        Cascade: {cascadeHint(choice.cascadeVariant)}.
      </p>
      <p id={ids.hint} className={`text-[11px] leading-4 ${parsed === null ? "text-danger" : "text-muted"}`}>
        {parsed === null
          ? `A whole number from ${formatCount(QUBITS_MIN)} to ${formatCount(QUBITS_MAX)}.`
          : "Start with one member from the member list, or with everyone in turn."}
      </p>
      {plan && (
        <p id={ids.plan} className={`text-[11px] leading-4 ${plan.warn ? "text-warn" : "text-muted"}`} data-testid="bb84-plan" aria-live="polite">
          {plan.text}
        </p>
      )}
      <Button
        variant="primary"
        className="w-full"
        disabled={phase !== "joined" || others.length === 0 || parsed === null || starting > 0 || running}
        onClick={() => void startWithEach()}
        data-testid="bb84-start-each"
      >
        {starting > 0
          ? "Starting…"
          : others.length > 1
            ? `Run BB84 with each member in turn (${others.length})`
            : others.length === 1
              ? `Run BB84 with ${others[0]!.displayName}`
              : "Run BB84 with every member"}
      </Button>
      {error && (
        <div
          role="alert"
          data-testid="bb84-error"
          data-code={error.code}
          className="flex items-start justify-between gap-2 rounded-md border border-danger/50 bg-danger/10 px-3 py-1.5 text-xs"
        >
          <p>
            <strong className="text-danger">{error.title}.</strong> <span className="text-muted">{error.detail ?? error.message}</span>
          </p>
          <button type="button" onClick={clearError} aria-label="Dismiss" className="text-muted hover:text-fg">
            ✕
          </button>
        </div>
      )}
    </div>
  );
}

/** The channel settings in force for new sessions (pushed by the server when any member changes them). */
function ChannelLine() {
  const room = useRoomFields("bb84", "channel", "members");
  const setOpen = useChatStore((s) => s.setSimulationOpen);
  if (!room) return null;
  const c = room.channel;
  return (
    <div
      className="flex items-center justify-between gap-2 rounded-md border border-dashed border-line bg-panel-2 px-3 py-1.5 text-[11px]"
      data-testid="bb84-channel"
      data-noise={c.noise}
      data-loss={c.loss}
      data-eve={c.eve}
    >
      {/* A setting and its value never break apart (at 1280 px "Eve" ended one line and "100%" began the next). */}
      <span className="text-muted">
        <span className="font-semibold uppercase tracking-wider">Channel</span>{" "}
        <span className="whitespace-nowrap">
          noise <span className="font-mono text-fg">{formatPercent(c.noise, 1)}</span>
        </span>{" "}
        ·{" "}
        <span className="whitespace-nowrap">
          loss <span className="font-mono text-fg">{formatPercent(c.loss, 0)}</span>
        </span>{" "}
        ·{" "}
        <span className="whitespace-nowrap">
          Eve <span className={`font-mono ${c.eve > 0 ? "font-semibold text-danger" : "text-fg"}`}>{formatPercent(c.eve, 0)}</span>
        </span>
      </span>
      <button type="button" onClick={() => setOpen(true)} className="shrink-0 font-medium text-accent hover:underline" data-testid="bb84-open-simulation">
        Simulate…
      </button>
    </div>
  );
}

function SessionList({
  live,
  shown,
  onSelect,
  nameOf,
}: {
  live: readonly Bb84LiveView[];
  shown: string | null;
  onSelect: (id: string) => void;
  nameOf: (id: string) => string;
}) {
  return (
    <ol className="flex gap-1 overflow-x-auto pb-1" aria-label="This tab's sessions" data-testid="bb84-session-tabs">
      {[...live].reverse().map((l) => (
        <li key={l.sessionId}>
          <button
            type="button"
            onClick={() => onSelect(l.sessionId)}
            aria-pressed={l.sessionId === shown}
            className={`whitespace-nowrap rounded-full border px-2 py-0.5 text-[11px] ${l.sessionId === shown ? "border-accent bg-accent/10 text-accent" : "border-line text-muted hover:text-fg"}`}
          >
            <StatusDot status={l.status} /> {sessionTabLabel(l, nameOf)}
          </button>
        </li>
      ))}
    </ol>
  );
}

function NoSession() {
  return (
    <p className="rounded-md border border-dashed border-line px-3 py-4 text-center text-xs leading-5 text-muted" data-testid="bb84-idle">
      No BB84 session in this tab yet. Each member&apos;s side of a session (the protocol&apos;s sender Alice or receiver Bob) runs in a Web Worker; the relay
      carries their frames end-to-end encrypted.
    </p>
  );
}

function StatusDot({ status }: { status: Bb84LiveView["status"] }) {
  const cls = status === "running" ? "bg-accent" : status === "success" ? "bg-ok" : "bg-danger";
  return <span aria-hidden="true" className={`inline-block h-1.5 w-1.5 rounded-full align-middle ${cls}`} />;
}
