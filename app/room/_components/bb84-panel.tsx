"use client";
import { useId, useState } from "react";
import type { Bb84LiveView } from "@/lib/client/bb84-types";
import type { Bb84SessionSummary } from "@/lib/protocol";
import { CASCADE_VARIANTS, type CascadeVariant } from "@/lib/qkd/cascade";
import { useChatStore, useCurrentRoom } from "@/lib/ui/chat-store";
import { focusSession, formatBytes, formatCount, formatPercent, formatRatio, parseQubits, progressPercent, qberVerdict, QUBITS_MAX, QUBITS_MIN, stageLabel } from "@/lib/ui/bb84-view";
import { Badge, Button, Panel } from "@/app/_components/ui";
import { SessionChart } from "./bb84-chart";

/**
 * The BB84 / QBER dashboard: start controls, the channel in force, the live session (stage,
 * progress, QBER against the abort threshold, bit counts, Cascade cost, the simulated Eve) and a
 * chart of the room's sessions. Every number comes from structured snapshots and summaries.
 */
export function Bb84Panel() {
  const room = useCurrentRoom();
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
        {shown ? <LiveSession l={shown} peerName={nameOf(shown.peerId)} summary={room.bb84.sessions.find((x) => x.id === shown.sessionId) ?? null} /> : <NoSession />}
        <SessionChart sessions={room.bb84.sessions} names={names} />
      </div>
    </Panel>
  );
}

function StartControls() {
  const room = useCurrentRoom();
  const phase = useChatStore((s) => s.phase);
  const choice = useChatStore((s) => s.bb84Choice);
  const setChoice = useChatStore((s) => s.setBb84Choice);
  const startWithEach = useChatStore((s) => s.startBb84WithEach);
  const starting = useChatStore((s) => s.bb84Starting);
  const error = useChatStore((s) => s.bb84Error);
  const clearError = useChatStore((s) => s.clearBb84Error);
  const ids = { qubits: useId(), variant: useId(), hint: useId() };
  const [text, setText] = useState(String(choice.qubits));
  const parsed = parseQubits(text);
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
            aria-describedby={ids.hint}
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
            data-testid="bb84-variant"
            className="block w-full rounded-md border border-line bg-bg px-2 py-1.5 text-sm focus:outline-none focus:ring-2 focus:ring-accent/50"
          >
            {CASCADE_VARIANTS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p id={ids.hint} className={`text-[11px] leading-4 ${parsed === null ? "text-danger" : "text-muted"}`}>
        {parsed === null
          ? `A whole number from ${formatCount(QUBITS_MIN)} to ${formatCount(QUBITS_MAX)}.`
          : "Start with one member from the member list, or with everyone in turn."}
      </p>
      <Button
        variant="primary"
        className="w-full"
        disabled={phase !== "joined" || others.length === 0 || parsed === null || starting > 0 || running}
        onClick={() => void startWithEach()}
        data-testid="bb84-start-each"
      >
        {starting > 0 ? "Starting…" : others.length > 1 ? `Run BB84 with each member in turn (${others.length})` : "Run BB84 with every member"}
      </Button>
      {error && (
        <div role="alert" data-testid="bb84-error" data-code={error.code} className="flex items-start justify-between gap-2 rounded-md border border-danger/50 bg-danger/10 px-3 py-1.5 text-xs">
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
  const room = useCurrentRoom();
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
      <span className="text-muted">
        <span className="font-semibold uppercase tracking-wider">Channel</span> noise <span className="font-mono text-fg">{formatPercent(c.noise, 1)}</span> · loss{" "}
        <span className="font-mono text-fg">{formatPercent(c.loss, 0)}</span> · Eve <span className={`font-mono ${c.eve > 0 ? "font-semibold text-danger" : "text-fg"}`}>{formatPercent(c.eve, 0)}</span>
      </span>
      <button type="button" onClick={() => setOpen(true)} className="shrink-0 font-medium text-accent hover:underline" data-testid="bb84-open-simulation">
        Simulate…
      </button>
    </div>
  );
}

function SessionList({ live, shown, onSelect, nameOf }: { live: readonly Bb84LiveView[]; shown: string | null; onSelect: (id: string) => void; nameOf: (id: string) => string }) {
  return (
    <ol className="flex gap-1 overflow-x-auto pb-1" aria-label="This tab's sessions" data-testid="bb84-session-tabs">
      {[...live].reverse().map((l) => (
        <li key={l.sessionId}>
          <button
            type="button"
            onClick={() => onSelect(l.sessionId)}
            aria-pressed={l.sessionId === shown}
            aria-label={`Session with ${nameOf(l.peerId)}, ${l.status}`}
            className={`whitespace-nowrap rounded-full border px-2 py-0.5 text-[11px] ${l.sessionId === shown ? "border-accent bg-accent/10 text-accent" : "border-line text-muted hover:text-fg"}`}
          >
            <StatusDot status={l.status} /> {nameOf(l.peerId)}
          </button>
        </li>
      ))}
    </ol>
  );
}

function NoSession() {
  return (
    <p className="rounded-md border border-dashed border-line px-3 py-4 text-center text-xs leading-5 text-muted" data-testid="bb84-idle">
      No BB84 session in this tab yet. Both members&apos; Alice and Bob run in Web Workers; the relay carries their frames end-to-end encrypted.
    </p>
  );
}

const STATUS: Record<Bb84LiveView["status"], { label: string; tone: "accent" | "ok" | "danger" }> = {
  running: { label: "running", tone: "accent" },
  success: { label: "success", tone: "ok" },
  aborted: { label: "aborted", tone: "danger" },
};

function StatusDot({ status }: { status: Bb84LiveView["status"] }) {
  const cls = status === "running" ? "bg-accent animate-pulse" : status === "success" ? "bg-ok" : "bg-danger";
  return <span aria-hidden="true" className={`inline-block h-1.5 w-1.5 rounded-full align-middle ${cls}`} />;
}

function LiveSession({ l, peerName, summary }: { l: Bb84LiveView; peerName: string; summary: Bb84SessionSummary | null }) {
  const cancel = useChatStore((s) => s.cancelBb84);
  const s = l.snapshot;
  // When the peer aborted before we saw the estimate (Bob aborts on Alice's behalf), the server's
  // summary carries the numbers the peer reported.
  const fromPeer = s.qberEstimate === null && summary?.qberEstimate != null;
  const qber = fromPeer ? { estimate: summary!.qberEstimate, bound: summary!.qberBound } : { estimate: s.qberEstimate, bound: s.qberBound };
  const or = <T,>(mine: T | null, theirs: T | null | undefined): T | null => mine ?? theirs ?? null;
  const pct = progressPercent(l);
  const st = STATUS[l.status];
  return (
    <article
      className="space-y-3 rounded-lg border border-line p-3"
      data-testid="bb84-live"
      data-session-id={l.sessionId}
      data-status={l.status}
      data-role={l.role}
      data-peer-id={l.peerId}
      aria-label={`BB84 session with ${peerName}`}
    >
      <header className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <p className="truncate text-sm font-medium">
            with <span data-testid="bb84-peer">{peerName}</span>
          </p>
          <p className="text-[11px] text-muted">
            you are {l.role === "alice" ? "Alice (sender)" : "Bob (receiver)"} · {formatCount(s.qubits)} qubits · {l.cascadeVariant}
          </p>
        </div>
        <span role="status" aria-live="polite">
          <Badge tone={st.tone} data-testid="bb84-status">
            {st.label}
          </Badge>
        </span>
      </header>

      <div>
        <div className="mb-1 flex items-baseline justify-between text-xs">
          <span data-testid="bb84-stage" data-stage={s.stage}>
            {stageLabel(s.stage, l.role)}
          </span>
          <span className="font-mono text-muted">{pct}%</span>
        </div>
        <div
          role="progressbar"
          aria-label="Session progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          data-testid="bb84-progress"
          className="h-1.5 overflow-hidden rounded-full bg-panel-2"
        >
          <div className={`h-full rounded-full transition-[width] ${l.status === "aborted" ? "bg-danger" : l.status === "success" ? "bg-ok" : "bg-accent"}`} style={{ width: `${pct}%` }} />
        </div>
      </div>

      <QberGauge estimate={qber.estimate} bound={qber.bound} threshold={s.qberThreshold} sample={or(s.sampleSize, summary?.sampleSize)} errors={s.sampleErrors} reportedBy={fromPeer ? peerName : null} />

      <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-xs">
        <Stat label="Detected" value={formatCount(or(s.detected, summary?.detected))} testid="bb84-detected" />
        <Stat label="Sifted" value={formatCount(or(s.sifted, summary?.sifted))} testid="bb84-sifted" />
        <Stat label="Test sample" value={formatCount(or(s.sampleSize, summary?.sampleSize))} testid="bb84-sample" />
        <Stat label="Disclosed" value={formatCount(or(s.disclosedBits, summary?.disclosedBits))} testid="bb84-disclosed" />
        <Stat label="Cascade f_EC" value={formatRatio(or(s.fEC, summary?.fEC))} testid="bb84-fec" title="Disclosed parity bits / (n·h(Q)); 1.0 is the Shannon limit" />
        <Stat label="Round trips" value={formatCount(or(s.roundTrips, summary?.roundTrips))} testid="bb84-round-trips" />
        <Stat label="Final key" value={s.finalLength === null ? "—" : `${formatCount(s.finalLength)} bits`} testid="bb84-final-length" strong wide />
        <Stat label="Relay (encrypted)" value={`↑ ${formatBytes(l.transport.bytesSent)} · ↓ ${formatBytes(l.transport.bytesReceived)}`} testid="bb84-transport" title={`${l.transport.framesSent} frames sent, ${l.transport.framesReceived} received, end-to-end encrypted`} wide />
      </dl>

      <EveBox eve={s.eve} role={l.role} channelEve={l.channel.eve} />

      {s.abort && (
        <p className="rounded-md border border-danger/50 bg-danger/10 px-2.5 py-1.5 text-xs text-danger" data-testid="bb84-abort-reason" data-code={s.abort.code}>
          <span className="font-semibold">{s.abort.code}</span> ({s.abort.by === "self" ? "here" : "by the peer"}, {s.abort.stage}): {s.abort.message}
        </p>
      )}
      {l.status === "success" && (
        <p className="text-[11px] leading-4 text-ok" data-testid="bb84-success">
          Keys with {peerName} are now hybrid: HKDF(X25519 secret ‖ QKD key). Direct messages and the next room key share use it.
        </p>
      )}
      {l.status === "running" && (
        <Button variant="ghost" className="px-2 py-1 text-xs" onClick={() => void cancel(l.sessionId)} data-testid="bb84-cancel">
          Cancel session
        </Button>
      )}
    </article>
  );
}

function Stat({ label, value, testid, title, strong, wide }: { label: string; value: string; testid: string; title?: string; strong?: boolean; wide?: boolean }) {
  return (
    <div className={`flex items-baseline justify-between gap-2 border-b border-line/60 py-0.5 ${wide ? "col-span-2" : ""}`} title={title}>
      <dt className="text-muted">{label}</dt>
      <dd className={`whitespace-nowrap font-mono ${strong ? "font-semibold text-fg" : ""}`} data-testid={testid}>
        {value}
      </dd>
    </div>
  );
}

/**
 * The sample's QBER (point estimate) and the upper confidence bound Q + μ that enters the key
 * length, on one axis with the abort threshold. The axis spans at least 0–30% so an eavesdropper's
 * 25% is on it.
 */
function QberGauge({ estimate, bound, threshold, sample, errors, reportedBy }: { estimate: number | null; bound: number | null; threshold: number; sample: number | null; errors: number | null; reportedBy: string | null }) {
  const verdict = qberVerdict(estimate, threshold);
  const max = Math.max(0.3, (bound ?? 0) * 1.1, threshold * 1.5);
  const x = (v: number) => `${Math.min(100, (v / max) * 100)}%`;
  const tone = verdict === "over" ? "text-danger" : verdict === "near" ? "text-warn" : verdict === "ok" ? "text-ok" : "text-muted";
  return (
    <div data-testid="bb84-qber-gauge" data-verdict={verdict}>
      <div className="flex items-baseline justify-between gap-2 text-xs">
        <span className="text-muted">QBER</span>
        <span>
          <span className={`font-mono text-base font-semibold ${tone}`} data-testid="bb84-qber">
            {formatPercent(estimate)}
          </span>{" "}
          <span className="text-[11px] text-muted">
            bound <span className="font-mono" data-testid="bb84-qber-bound">{formatPercent(bound)}</span> · abort above{" "}
            <span className="font-mono" data-testid="bb84-threshold">{formatPercent(threshold, 1)}</span>
          </span>
        </span>
      </div>
      <div className="relative mt-1.5 h-3 rounded-full bg-panel-2" aria-hidden="true">
        <div className="absolute inset-y-0 right-0 rounded-r-full bg-danger/15" style={{ left: x(threshold) }} />
        {estimate !== null && bound !== null && (
          <div className="absolute inset-y-1 rounded-full bg-accent/30" style={{ left: x(estimate), width: `calc(${x(Math.max(bound, estimate))} - ${x(estimate)})` }} />
        )}
        {estimate !== null && <div className={`absolute -inset-y-0.5 w-1 -translate-x-1/2 rounded-full ${verdict === "over" ? "bg-danger" : "bg-fg"}`} style={{ left: x(estimate) }} />}
        <div className="absolute -inset-y-1 w-px bg-danger" style={{ left: x(threshold) }} />
      </div>
      <p className="mt-1 text-[11px] leading-4 text-muted">
        {estimate === null
          ? "Estimated on a random test sample once the qubits are sifted."
          : reportedBy !== null
            ? `As measured by ${reportedBy} on ${formatCount(sample)} test bits; the bar shows the estimate and its confidence bound Q + μ.`
            : `${formatCount(errors)} errors in ${formatCount(sample)} test bits; the bar shows the estimate and its confidence bound Q + μ.`}
      </p>
    </div>
  );
}

/** What the simulated eavesdropper learned (Bob's side runs the channel model). */
function EveBox({ eve, role, channelEve }: { eve: Bb84LiveView["snapshot"]["eve"]; role: Bb84LiveView["role"]; channelEve: number }) {
  return (
    <section className="rounded-md border border-dashed border-warn/50 bg-warn/5 px-2.5 py-2" aria-label="Eavesdropper, simulation only" data-testid="bb84-eve">
      <h3 className="flex items-center justify-between text-[11px] font-semibold uppercase tracking-wider text-warn">
        Eve&apos;s information <span className="rounded-full border border-warn/50 px-1.5 font-medium normal-case tracking-normal">simulation</span>
      </h3>
      {eve ? (
        <dl className="mt-1 grid grid-cols-2 gap-x-3 gap-y-0.5 text-xs">
          <Stat label="Intercepted" value={formatCount(eve.intercepted)} testid="bb84-eve-intercepted" />
          <Stat label="Knows sifted" value={formatCount(eve.knownSiftedBits)} testid="bb84-eve-known" />
          <Stat label="Before PA" value={eve.beforePA === null ? "—" : `${formatCount(eve.beforePA)} bits`} testid="bb84-eve-before" title="Key bits Eve knows plus the parities Cascade disclosed" />
          <Stat label="After PA" value={eve.afterPA === null ? "—" : `${formatRatio(eve.afterPA, 3)} bits`} testid="bb84-eve-after" title="Her bound on the final key after Toeplitz privacy amplification" />
        </dl>
      ) : (
        <p className="mt-1 text-[11px] leading-4 text-muted">
          {role === "alice"
            ? `The channel model (Eve on ${formatPercent(channelEve, 0)} of qubits) runs at Bob's detector; his page shows what she learned.`
            : "Known once the qubits have arrived."}
        </p>
      )}
    </section>
  );
}
