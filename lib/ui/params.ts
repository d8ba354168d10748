/** Reading the room pages' query parameters. */
import type { HistoryMode } from "@/lib/protocol";

export function firstParam(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A history mode from the URL (`history=ephemeral` or `history=<days>`); anything else is ignored
 * (the server applies its default, 30 days, and validates the range).
 */
export function historyParam(v: string | undefined): HistoryMode | undefined {
  if (!v) return undefined;
  if (v === "ephemeral") return "ephemeral";
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? { days: n } : undefined;
}

/** A capacity from the URL; anything not an integer is ignored (the server validates the range). */
export function capacityParam(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}
