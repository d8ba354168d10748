"use client";
import type { Bb84LiveView } from "@/lib/client/bb84-types";
import type { Bb84SessionSummary } from "@/lib/protocol";
import { startedWithYouText } from "@/lib/ui/bb84-alarm";
import { useChatStore } from "@/lib/ui/chat-store";
import {
  cascadeHint,
  cascadeLabel,
  FEC_DEFINITION,
  formatBytes,
  formatCount,
  formatPercent,
  formatRatio,
  progressPercent,
  QBER_EXPLAINER,
  qberVerdict,
  shownFec,
  stageLabel,
} from "@/lib/ui/bb84-view";
import { Badge, Button } from "@/app/_components/ui";

const STATUS: Record<Bb84LiveView["status"], { label: string; tone: "accent" | "ok" | "danger" }> = {
  running: { label: "running", tone: "accent" },
  success: { label: "success", tone: "ok" },
  aborted: { label: "aborted", tone: "danger" },
};

/**
 * One BB84 session of this tab, as the dashboard shows it: stage and progress, the QBER against
 * the abort threshold, bit counts, Cascade cost, the encrypted transport and the simulated Eve.
 */
export function LiveSession({ l, peerName, summary }: { l: Bb84LiveView; peerName: string; summary: Bb84SessionSummary | null }) {
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
      data-elsewhere={l.elsewhere ? "true" : undefined}
      data-peer-id={l.peerId}
      aria-label={`BB84 session with ${peerName}`}
    >
      {/* The badge shares its row with the peer's name only: the lines below take the card's full
          width (beside the badge they wrapped at 1280 px, e.g. "…session with / you."). */}
      <header>
        <div className="flex items-start justify-between gap-2">
          <p className="min-w-0 truncate text-sm font-medium">
            with <span data-testid="bb84-peer">{peerName}</span>
          </p>
          <span role="status" aria-live="polite">
            <Badge tone={st.tone} data-testid="bb84-status">
              {st.label}
            </Badge>
          </span>
        </div>
        {l.role === "bob" && (
          <p className="text-xs" data-testid="bb84-started-by">
            {startedWithYouText(peerName)}
          </p>
        )}
        {l.elsewhere && (
          <p className="text-xs text-muted" data-testid="bb84-elsewhere">
            {l.status === "running" ? "Runs in another tab of yours; this tab shows its outcome." : "Ran in another tab of yours; this tab took its outcome."}
          </p>
        )}
        {/* Wraps only between its parts, never inside one. */}
        <p className="text-[11px] text-muted">
          <span className="whitespace-nowrap">you are {l.role === "alice" ? "Alice (sender)" : "Bob (receiver)"}</span> ·{" "}
          <span className="whitespace-nowrap">{formatCount(s.qubits)} qubits</span> ·{" "}
          <span title={cascadeHint(l.cascadeVariant)} data-testid="bb84-variant-shown" data-variant={l.cascadeVariant} className="whitespace-nowrap">
            {cascadeLabel(l.cascadeVariant)}
          </span>
        </p>
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
          {/* No width transition (nor pulsing dots elsewhere while a session runs): an animation makes the page render every frame, on the main thread the frames need. */}
          <div
            className={`h-full rounded-full ${l.status === "aborted" ? "bg-danger" : l.status === "success" ? "bg-ok" : "bg-accent"}`}
            style={{ width: `${pct}%` }}
          />
        </div>
      </div>

      <QberGauge
        estimate={qber.estimate}
        bound={qber.bound}
        threshold={s.qberThreshold}
        sample={or(s.sampleSize, summary?.sampleSize)}
        errors={s.sampleErrors}
        reportedBy={fromPeer ? peerName : null}
      />

      <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-xs">
        <Stat label="Detected" value={formatCount(or(s.detected, summary?.detected))} testid="bb84-detected" />
        <Stat label="Sifted" value={formatCount(or(s.sifted, summary?.sifted))} testid="bb84-sifted" />
        <Stat label="Test sample" value={formatCount(or(s.sampleSize, summary?.sampleSize))} testid="bb84-sample" />
        <Stat label="Disclosed" value={formatCount(or(s.disclosedBits, summary?.disclosedBits))} testid="bb84-disclosed" />
        <Stat label="Cascade f_EC" value={formatRatio(shownFec(l.role, s.fEC, summary?.fEC))} testid="bb84-fec" title={FEC_DEFINITION} />
        <Stat label="Round trips" value={formatCount(or(s.roundTrips, summary?.roundTrips))} testid="bb84-round-trips" />
        <Stat label="Final key" value={s.finalLength === null ? "—" : `${formatCount(s.finalLength)} bits`} testid="bb84-final-length" strong wide />
        <Stat
          label="Relay (encrypted)"
          value={`↑ ${formatBytes(l.transport.bytesSent)} · ↓ ${formatBytes(l.transport.bytesReceived)}`}
          testid="bb84-transport"
          title={`${l.transport.framesSent} frames sent, ${l.transport.framesReceived} received, end-to-end encrypted`}
          wide
        />
      </dl>

      <EveBox eve={s.eve} role={l.role} channelEve={l.channel.eve} />

      {s.abort && (
        <p
          className="rounded-md border border-danger/50 bg-danger/10 px-2.5 py-1.5 text-xs text-danger"
          data-testid="bb84-abort-reason"
          data-code={s.abort.code}
        >
          <span className="font-semibold">{s.abort.code}</span> ({s.abort.by === "self" ? "here" : "by the peer"}, {s.abort.stage}): {s.abort.message}
        </p>
      )}
      {l.status === "success" && (
        <p className="text-[11px] leading-4 text-ok" data-testid="bb84-success">
          Keys with {peerName} are now hybrid: HKDF(X25519 secret ‖ QKD key). Direct messages and the next room key share use it.
        </p>
      )}
      {l.status === "running" && !l.elsewhere && (
        <Button variant="ghost" className="px-2 py-1 text-xs" onClick={() => void cancel(l.sessionId)} data-testid="bb84-cancel">
          Cancel session
        </Button>
      )}
    </article>
  );
}

function Stat({
  label,
  value,
  testid,
  title,
  strong,
  wide,
}: {
  label: string;
  value: string;
  testid: string;
  title?: string;
  strong?: boolean;
  wide?: boolean;
}) {
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
function QberGauge({
  estimate,
  bound,
  threshold,
  sample,
  errors,
  reportedBy,
}: {
  estimate: number | null;
  bound: number | null;
  threshold: number;
  sample: number | null;
  errors: number | null;
  reportedBy: string | null;
}) {
  const verdict = qberVerdict(estimate, threshold);
  const max = Math.max(0.3, (bound ?? 0) * 1.1, threshold * 1.5);
  const x = (v: number) => `${Math.min(100, (v / max) * 100)}%`;
  const tone = verdict === "over" ? "text-danger" : verdict === "near" ? "text-warn" : verdict === "ok" ? "text-ok" : "text-muted";
  return (
    <div data-testid="bb84-qber-gauge" data-verdict={verdict}>
      {/* The estimate on the left, bound and threshold on the right; when both do not fit on one
          line (an estimate like 25.33% at 1280 px), bound and threshold move down together
          instead of "abort above" losing its number to the next line. */}
      <div className="flex flex-wrap items-baseline justify-between gap-x-2 text-xs">
        <span className="whitespace-nowrap">
          <span className="text-muted">QBER</span>{" "}
          <span className={`font-mono text-base font-semibold ${tone}`} data-testid="bb84-qber">
            {formatPercent(estimate)}
          </span>
        </span>
        <span className="whitespace-nowrap text-[11px] text-muted">
          bound{" "}
          <span className="font-mono" data-testid="bb84-qber-bound">
            {formatPercent(bound)}
          </span>{" "}
          · abort above{" "}
          <span className="font-mono" data-testid="bb84-threshold">
            {formatPercent(threshold, 1)}
          </span>
        </span>
      </div>
      <div className="relative mt-1.5 h-3 rounded-full bg-panel-2" aria-hidden="true">
        <div className="absolute inset-y-0 right-0 rounded-r-full bg-danger/15" style={{ left: x(threshold) }} />
        {estimate !== null && bound !== null && (
          <div
            className="absolute inset-y-1 rounded-full bg-accent/30"
            style={{ left: x(estimate), width: `calc(${x(Math.max(bound, estimate))} - ${x(estimate)})` }}
          />
        )}
        {estimate !== null && (
          <div
            className={`absolute -inset-y-0.5 w-1 -translate-x-1/2 rounded-full ${verdict === "over" ? "bg-danger" : "bg-fg"}`}
            style={{ left: x(estimate) }}
          />
        )}
        <div className="absolute -inset-y-1 w-px bg-danger" style={{ left: x(threshold) }} />
      </div>
      <p className="mt-1 text-[11px] leading-4 text-muted">
        {estimate === null
          ? "Estimated on a random test sample once the qubits are sifted."
          : reportedBy !== null
            ? `As measured by ${reportedBy} on ${formatCount(sample)} test bits; the bar shows the estimate and its confidence bound Q + μ.`
            : `${formatCount(errors)} errors in ${formatCount(sample)} test bits; the bar shows the estimate and its confidence bound Q + μ.`}
      </p>
      {estimate !== null && (
        <p className="mt-0.5 text-[11px] leading-4 text-muted" data-testid="bb84-qber-explainer">
          {QBER_EXPLAINER}
        </p>
      )}
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
        <>
          <dl className="mt-1 grid grid-cols-2 gap-x-3 gap-y-0.5 text-xs">
            <Stat label="Intercepted" value={formatCount(eve.intercepted)} testid="bb84-eve-intercepted" />
            <Stat label="Knows sifted" value={formatCount(eve.knownSiftedBits)} testid="bb84-eve-known" />
            <Stat
              label="Before PA"
              value={eve.beforePA === null ? "—" : `${formatCount(eve.beforePA)} bits`}
              testid="bb84-eve-before"
              title="Key bits Eve knows plus the parities Cascade disclosed"
            />
            <Stat
              label="After PA"
              value={eve.afterPA === null ? "—" : `${formatRatio(eve.afterPA, 3)} bits`}
              testid="bb84-eve-after"
              title="Her bound on the final key after Toeplitz privacy amplification"
            />
          </dl>
          <p className="mt-1 text-[11px] leading-4 text-muted" data-testid="bb84-eve-explainer">
            Intercepted: qubits she measured on the channel. Before PA: key bits she knows from those plus every parity Cascade disclosed over the public
            discussion (leaked, so it is counted even when she intercepted nothing). After PA: her bound on the final key, which privacy amplification makes
            negligible.
          </p>
        </>
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
