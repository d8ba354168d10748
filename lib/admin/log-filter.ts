/**
 * The admin console's log filter, shared by the pages, the admin API, the export and the logs CLI
 * (scripts/logs.ts): one schema, so "type", "actor", "from", "to" and "text" mean the same thing
 * everywhere. Pure (no I/O): the query itself is built in server/admin/logs.query.ts.
 */
import { z } from "@/lib/protocol/zod";
import { LOG_EVENT_TYPES, type LogEventType } from "@/lib/protocol/log-events";
import { roomIdSchema } from "@/lib/protocol/events";
import { wellFormedText } from "@/lib/protocol/text";

const isoDate = z
  .string()
  .trim()
  .refine((s) => s.length > 0 && !Number.isNaN(Date.parse(s)), "expected a date and time (ISO 8601, e.g. 2026-11-28T10:00:00Z)")
  .transform((s) => new Date(Date.parse(s)));

export const logFilterSchema = z
  .object({
    roomId: roomIdSchema,
    /** Any of these event types (none = all). */
    types: z.array(z.enum(LOG_EVENT_TYPES)).max(LOG_EVENT_TYPES.length).default([]),
    /** A user id (or its first ≥ 4 hex characters), or part of a display name. */
    actor: wellFormedText().trim().max(64).optional(),
    /** Rows at or after this instant. */
    from: isoDate.optional(),
    /** Rows before this instant. */
    to: isoDate.optional(),
    /** Free text searched in the row's JSON metadata. */
    text: wellFormedText(200).optional(),
  })
  .strict();

export type LogFilter = z.output<typeof logFilterSchema>;
export type LogFilterInput = z.input<typeof logFilterSchema>;

/** Reads a filter from URL query parameters: ?type=A&type=B (or type=A,B)&actor=&from=&to=&text=. */
export function parseLogFilterParams(roomId: string, params: URLSearchParams): { ok: true; filter: LogFilter } | { ok: false; error: string } {
  const types = params
    .getAll("type")
    .flatMap((t) => t.split(","))
    .map((t) => t.trim())
    .filter(Boolean);
  const opt = (k: string) => {
    const v = params.get(k);
    return v === null || v.trim() === "" ? undefined : v;
  };
  const r = logFilterSchema.safeParse({ roomId, types, actor: opt("actor"), from: opt("from"), to: opt("to"), text: opt("text") });
  if (!r.success) return { ok: false, error: r.error.issues.map((i) => `${i.path.join(".") || "filter"}: ${i.message}`).join("; ") };
  return { ok: true, filter: r.data };
}

/** The inverse of parseLogFilterParams (without the room id, which is in the path). */
export function logFilterToParams(f: Partial<Pick<LogFilter, "types" | "actor" | "from" | "to" | "text">>): URLSearchParams {
  const p = new URLSearchParams();
  for (const t of f.types ?? []) p.append("type", t);
  if (f.actor) p.set("actor", f.actor);
  if (f.from) p.set("from", f.from.toISOString());
  if (f.to) p.set("to", f.to.toISOString());
  if (f.text) p.set("text", f.text);
  return p;
}

export function isLogEventType(s: string): s is LogEventType {
  return (LOG_EVENT_TYPES as readonly string[]).includes(s);
}

/**
 * Whether a row (arriving on the live tail) matches a filter, the same way the database query does:
 * type in the list, actor by id prefix or display-name substring, time range, and the text as a
 * case-insensitive substring of the JSON metadata.
 */
export function matchesLogFilter(
  e: { type: string; actorId: string | null; actorName?: string | null; createdAt: string; meta: Record<string, unknown> },
  f: Partial<Pick<LogFilter, "types" | "actor" | "from" | "to" | "text">>,
): boolean {
  if (f.types && f.types.length > 0 && !(f.types as string[]).includes(e.type)) return false;
  const at = Date.parse(e.createdAt);
  if (f.from && at < f.from.getTime()) return false;
  if (f.to && at >= f.to.getTime()) return false;
  if (f.text && !JSON.stringify(e.meta).toLowerCase().includes(f.text.toLowerCase())) return false;
  if (f.actor) {
    const a = f.actor.toLowerCase();
    const byId = /^[0-9a-f]{4,32}$/.test(a) && (e.actorId ?? "").startsWith(a);
    const byName = (e.actorName ?? "").toLowerCase().includes(a);
    if (!byId && !byName) return false;
  }
  return true;
}
