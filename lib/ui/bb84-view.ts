/**
 * Pure helpers for the room page's BB84 dashboard and simulation controls: number formatting,
 * input bounds, stage names and the session chart's data (an alarm's words are in bb84-alarm.ts).
 * No React, no I/O, so they are unit-tested directly (__tests__/unit/ui-bb84-view.test.ts).
 */
import type { Bb84LiveView, QkdSnapshot } from "@/lib/client/bb84-types";
import type { Bb84SessionSummary, ChannelSettings } from "@/lib/protocol";
import { LIMITS } from "@/lib/protocol/limits";
import type { CascadeVariant } from "@/lib/qkd/cascade";
import { CASCADE_VARIANT_NAMES } from "@/lib/qkd/cascade/variants";
import { DEFAULT_CHANNEL, expectedQberWithoutDarkCounts } from "@/lib/qkd/channel";
import { MIN_USABLE_KEY_BITS, planKey } from "@/lib/qkd/plan";
import { formatTime } from "./format";

/** Qubits a session may ask for (the server's bb84:start bounds). */
export const QUBITS_MIN = LIMITS.bb84MinQubits;
export const QUBITS_MAX = LIMITS.bb84MaxQubits;

/** Channel settings bounds, as the server's channelSettingsSchema accepts them. */
export const CHANNEL_BOUNDS: Record<keyof ChannelSettings, { min: number; max: number; step: number; label: string; help: string }> = {
  noise: { min: 0, max: 0.5, step: 0.005, label: "Noise (bit error rate)", help: "Percent of Bob's results the channel flips." },
  loss: { min: 0, max: 0.99, step: 0.01, label: "Loss", help: "Percent of photons that never reach Bob's detector." },
  eve: {
    min: 0,
    max: 1,
    step: 0.05,
    label: "Eavesdropper (% of qubits)",
    help: "Percent of qubits an intercept-resend Eve measures and resends: 100% is every qubit, which makes the QBER about 25%.",
  },
};

/** A new room's channel (prisma/schema.prisma's defaults: 2% noise, no loss, no eavesdropper); "Reset channel" restores it. */
export const DEFAULT_ROOM_CHANNEL: ChannelSettings = { noise: DEFAULT_CHANNEL.noise, loss: DEFAULT_CHANNEL.loss, eve: DEFAULT_CHANNEL.eve };

/** Parses a qubit count typed by the user: an integer within the server's bounds, else null. */
export function parseQubits(input: string | number): number | null {
  const n = typeof input === "number" ? input : Number(String(input).replace(/[\s,_]/g, ""));
  if (!Number.isFinite(n) || !Number.isInteger(n)) return null;
  if (n < QUBITS_MIN || n > QUBITS_MAX) return null;
  return n;
}

/** Clamps one channel setting into its bounds (NaN becomes the minimum). */
export function clampChannelValue(key: keyof ChannelSettings, v: number): number {
  const b = CHANNEL_BOUNDS[key];
  if (!Number.isFinite(v)) return b.min;
  return Math.min(b.max, Math.max(b.min, v));
}

export function clampChannel(c: ChannelSettings): ChannelSettings {
  return { noise: clampChannelValue("noise", c.noise), loss: clampChannelValue("loss", c.loss), eve: clampChannelValue("eve", c.eve) };
}

export function sameChannel(a: ChannelSettings, b: ChannelSettings): boolean {
  return a.noise === b.noise && a.loss === b.loss && a.eve === b.eve;
}

/** The QBER these settings should produce on the sifted key (sessions run with no dark counts; lib/qkd/channel.ts). */
export function expectedChannelQber(c: ChannelSettings): number {
  return expectedQberWithoutDarkCounts(c);
}

/**
 * The planning line under the qubit count: the key a session of this size should give on the
 * room's channel (lib/qkd/plan.ts), and a warning where it would be too short to use or the session
 * should abort.
 */
export function keyPlanHint(qubits: number, channel: ChannelSettings): { text: string; warn: boolean } {
  const p = planKey(qubits, channel);
  const min = `the ${MIN_USABLE_KEY_BITS} bits a key needs`;
  if (p.aborts)
    return {
      text: `The channel's expected QBER, ${formatPercent(p.qber, 1)}, is above the ${formatPercent(p.threshold, 1)} threshold: sessions should abort at the QBER check.`,
      warn: true,
    };
  if (p.keyBits < MIN_USABLE_KEY_BITS)
    return { text: `Expected key: ${p.keyBits > 0 ? `about ${formatCount(p.keyBits)} bits,` : "none,"} under ${min}. Use more qubits.`, warn: true };
  if (p.keyBits < 4 * MIN_USABLE_KEY_BITS)
    return { text: `Expected key: about ${formatCount(p.keyBits)} bits. At this size some sessions end under ${min} (not used).`, warn: true };
  return { text: `Expected key: about ${formatCount(p.keyBits)} bits.`, warn: false };
}

/** "2.15%" (a rate 0..1), or "—" when unknown. */
export function formatPercent(rate: number | null | undefined, digits = 2): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "—";
  return `${(rate * 100).toFixed(digits)}%`;
}

/** "16,384" with a fixed separator (no locale surprises in tests), or "—". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return Math.round(n).toLocaleString("en-US");
}

/** A ratio such as f_EC: "1.12", or "—". */
export function formatRatio(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return x.toFixed(digits);
}

/** Byte counts of the encrypted transport: "812 B", "12.4 KiB", "1.02 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
}

/**
 * Cascade choices in plain words, with the paper (and the engine's name) for a hint. The variants
 * trade disclosed bits (f_EC) against round trips (docs/qkd.md, section 10).
 */
export const CASCADE_CHOICES: Readonly<Record<CascadeVariant, { readonly label: string; readonly hint: string }>> = CASCADE_VARIANT_NAMES;

/** The plain name of a Cascade variant (an unknown name is shown as it is). */
export function cascadeLabel(variant: string): string {
  return (CASCADE_CHOICES as Record<string, { label: string }>)[variant]?.label ?? variant;
}
export function cascadeHint(variant: string): string {
  return (CASCADE_CHOICES as Record<string, { hint: string }>)[variant]?.hint ?? variant;
}

/**
 * f_EC, one definition on both sides: disclosed parity bits / (n·h(Q)) with Q the key's actual
 * error rate, i.e. the errors Cascade corrected / n (as cascade-cpp and bench:qkd measure it). Only
 * Bob knows that count, so Bob's page shows its own value and Alice's page shows the value Bob
 * reported to the server (the session summary), "—" until it arrives.
 */
export const FEC_DEFINITION =
  "Parity bits disclosed / (n·h(Q)), Q = errors Cascade corrected / n key bits (Bob counts them; both pages show his value). 1.00 is the Shannon limit.";

export function shownFec(role: "alice" | "bob", own: number | null, reportedByBob: number | null | undefined): number | null {
  return role === "bob" ? (own ?? reportedByBob ?? null) : (reportedByBob ?? null);
}

/** The sentence under the QBER gauge: what the estimate, the bound and the threshold are each for. */
export const QBER_EXPLAINER =
  "Estimate: the errors in the test sample. Bound (estimate + μ): what the key length assumes, so it only shortens the key and may pass the line on a small sample. Abort rule: the estimate above the threshold.";

/** A session tab: "Bob · 16:04:05 · success". */
export function sessionTabLabel(l: Pick<Bb84LiveView, "peerId" | "startedAt" | "status">, nameOf: (id: string) => string): string {
  return [nameOf(l.peerId), formatTime(l.startedAt), l.status].filter((x) => x !== "").join(" · ");
}

const STAGE_LABELS: Record<QkdSnapshot["stage"], string> = {
  idle: "Waiting for the first frames",
  qubits: "Sending qubits",
  sifting: "Sifting",
  estimation: "Estimating the QBER",
  cascade: "Cascade error correction",
  verification: "Verifying the keys match",
  amplification: "Privacy amplification",
  done: "Done",
  aborted: "Aborted",
};

/** The stage in words; Bob receives and measures the qubits Alice sends. */
export function stageLabel(stage: QkdSnapshot["stage"] | string, role: "alice" | "bob" = "alice"): string {
  if (stage === "qubits" && role === "bob") return "Receiving and measuring qubits";
  return (STAGE_LABELS as Record<string, string>)[stage] ?? stage;
}

/** Progress 0..100 for a progress bar: a finished session is full, an aborted one stays where it stopped. */
export function progressPercent(live: Pick<Bb84LiveView, "status" | "snapshot">): number {
  if (live.status === "success") return 100;
  const f = live.snapshot.fraction;
  return Math.round(Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0)) * 100);
}

export type QberVerdict = "unknown" | "ok" | "near" | "over";

/**
 * How the QBER estimate compares with the abort threshold: over (the session aborts), near (within
 * 80% of it), ok, or unknown before estimation. The confidence bound Q + μ is not used here: on a
 * small sample it exceeds the threshold even at Q = 0 and only shortens the key.
 */
export function qberVerdict(estimate: number | null, threshold: number): QberVerdict {
  if (estimate === null || !Number.isFinite(estimate)) return "unknown";
  if (estimate > threshold) return "over";
  if (estimate >= 0.8 * threshold) return "near";
  return "ok";
}

/** One bar of the session chart (QBER in percent, so the axis reads naturally). */
export interface SessionChartPoint {
  /** 1-based position among the room's finished sessions (oldest first). */
  n: number;
  sessionId: string;
  label: string;
  /** Null: the session ended before a QBER was estimated (no bar, but still listed). */
  qber: number | null;
  bound: number | null;
  outcome: Bb84SessionSummary["outcome"];
  aborted: boolean;
  abortCode: string | null;
  finalLength: number | null;
  eve: number;
}

/**
 * The room's finished sessions as chart points, oldest first (sorted by start time). Sessions still
 * running are left out; a session that ended before estimation is kept with a null QBER, so an
 * abort is never silently missing from the history.
 */
export function sessionChartData(sessions: readonly Bb84SessionSummary[], nameOf: (userId: string) => string = (id) => id.slice(0, 6)): SessionChartPoint[] {
  const finished = sessions.filter((s) => s.outcome !== "running").sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return finished.map((s, i) => {
    const q = s.qberEstimate !== null && Number.isFinite(s.qberEstimate) ? round(s.qberEstimate * 100, 3) : null;
    return {
      n: i + 1,
      sessionId: s.id,
      label: `#${i + 1} ${nameOf(s.aliceId)}→${nameOf(s.bobId)}`,
      qber: q,
      bound: q === null || s.qberBound === null ? null : round(s.qberBound * 100, 3),
      outcome: s.outcome,
      aborted: s.outcome === "aborted",
      abortCode: s.abortCode,
      finalLength: s.finalLength,
      eve: s.channel.eve,
    };
  });
}

/** The threshold line of the chart, in percent: the newest session's threshold (they share the engine's default). */
export function chartThreshold(sessions: readonly Bb84SessionSummary[], fallback = 0.11): number {
  const last = sessions[sessions.length - 1];
  return round((last?.qberThreshold ?? fallback) * 100, 3);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The session the dashboard shows: a running one first (newest), else the newest of all. */
export function focusSession(live: readonly Bb84LiveView[]): Bb84LiveView | null {
  for (let i = live.length - 1; i >= 0; i--) if (live[i].status === "running") return live[i];
  return live[live.length - 1] ?? null;
}

export function runningSessions(live: readonly Bb84LiveView[]): Bb84LiveView[] {
  return live.filter((l) => l.status === "running");
}
