"use client";
import { useSyncExternalStore } from "react";

/**
 * Times in the viewer's own time zone, with the zone named, as the filter inputs (datetime-local)
 * are. The server renders UTC (it cannot know the viewer's zone); the browser switches to local
 * time when it hydrates, without a hydration mismatch (useSyncExternalStore's server snapshot).
 */
const noop = () => () => undefined;

function useZone(): string | null {
  return useSyncExternalStore(
    noop,
    () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local time",
    () => null,
  );
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function local(d: Date, ms: boolean): string {
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

/** "2026-01-01 11:00:00" in the viewer's zone (UTC on the server's render). */
export function LocalTime({ iso, ms = false }: { iso: string; ms?: boolean }) {
  const zone = useZone();
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return <span>—</span>;
  const utc = iso
    .replace("T", " ")
    .replace("Z", "")
    .slice(0, ms ? 23 : 19);
  return (
    <time dateTime={d.toISOString()} title={`${d.toISOString()} (UTC)`}>
      {zone ? local(d, ms) : utc}
    </time>
  );
}

/** The zone times are shown in: "Europe/Berlin", or "UTC" before the page hydrates. */
export function ZoneName() {
  return <>{useZone() ?? "UTC"}</>;
}
