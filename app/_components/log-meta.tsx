"use client";
/**
 * A log row's metadata as a reader sees it: one "key: value" pair per entry, keys in words, rates in
 * percent (the room page's units), byte counts and durations with their unit, times in the viewer's
 * zone, a member's name where a value is a user id the console knows, and empty values left out.
 * Everything is React text: the metadata is data (a display name can be anything) and never becomes
 * markup.
 */
import { formatBytes, formatRatio } from "@/lib/ui/bb84-view";
import { pctText } from "@/lib/ui/percent";
import { LocalTime } from "./local-time";

const LABELS: Record<string, string> = {
  displayName: "display name",
  sessionId: "session",
  leaderId: "leader",
  abortedBy: "aborted by",
  abortCode: "abort code",
  abortReason: "abort reason",
  cascadeVariant: "Cascade variant",
  qberEstimate: "QBER estimate",
  qberBound: "QBER bound",
  qberThreshold: "QBER threshold",
  sampleSize: "sample size",
  disclosedBits: "disclosed bits",
  fEC: "f_EC",
  roundTrips: "round trips",
  finalLength: "final key bits",
  startedAt: "started",
  finishedAt: "finished",
  eve: "Eve",
};

/** Fractions shown in percent. */
const RATES = new Set(["noise", "loss", "eve", "qberEstimate", "qberBound", "qberThreshold"]);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** "displayName" → "display name"; known keys have their own wording. */
export function metaLabel(key: string): string {
  return (
    LABELS[key] ??
    key
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .replace(/_/g, " ")
      .toLowerCase()
  );
}

type Names = Readonly<Record<string, string>>;

function Value({ k, v, names, parent }: { k: string; v: unknown; names: Names; parent?: string }) {
  if (v === null || v === undefined) return <span className="text-muted">—</span>;
  if (typeof v === "number") {
    if (RATES.has(k)) return <>{pctText(v)}</>;
    if (k === "bytes") return <>{formatBytes(v)}</>;
    if (k === "fEC") return <>{formatRatio(v)}</>;
    if (parent === "durations") return <>{Math.round(v)} ms</>;
    return <>{Number.isInteger(v) ? v.toLocaleString("en-US") : String(v)}</>;
  }
  if (typeof v === "string") {
    const name = names[v];
    if (name !== undefined)
      return (
        <span title={v}>
          {name} <span className="font-mono text-muted">{v.slice(0, 8)}</span>
        </span>
      );
    if (ISO_TIME.test(v)) return <LocalTime iso={v} ms />;
    return <>{v}</>;
  }
  if (typeof v === "boolean") return <>{v ? "yes" : "no"}</>;
  if (Array.isArray(v))
    return (
      <>
        {v.map((x, i) => (
          <span key={i}>
            {i > 0 && ", "}
            <Value k={k} v={x} names={names} parent={parent} />
          </span>
        ))}
      </>
    );
  if (typeof v === "object") return <Pairs meta={v as Record<string, unknown>} names={names} parent={k} nested />;
  return <>{String(v)}</>;
}

const isEmpty = (v: unknown) => v === null || v === undefined || (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

function Pairs({ meta, names, parent, nested = false }: { meta: Record<string, unknown>; names: Names; parent?: string; nested?: boolean }) {
  // Empty values (null, {}) are left out: a finished session's summary has many, and "—" after each reads as noise.
  const keys = Object.keys(meta).filter((k) => !isEmpty(meta[k]));
  if (keys.length === 0) return <span className="text-muted">—</span>;
  return (
    <dl className={nested ? "inline" : "flex flex-wrap gap-x-3 gap-y-0.5"}>
      {keys.map((k, i) => (
        <div key={k} className={nested ? "inline" : undefined} data-testid={nested ? undefined : "log-meta-pair"}>
          <dt className="inline text-muted">
            {nested && i > 0 ? ", " : ""}
            {metaLabel(k)}:{" "}
          </dt>
          <dd className="inline [overflow-wrap:anywhere]">
            <Value k={k} v={meta[k]} names={names} parent={parent} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** One row's metadata; `names` maps user ids to display names (members and names seen in the log). */
export function LogMeta({ meta, names }: { meta: Record<string, unknown>; names: Names }) {
  return (
    // The stored JSON on hover: what the "Text in metadata" filter searches.
    <div className="text-xs" title={JSON.stringify(meta)} data-testid="log-meta">
      <Pairs meta={meta} names={names} />
    </div>
  );
}
