/**
 * The conversation as a chat reads it (pure; lib/ui never renders): messages grouped by sender,
 * the room's join/leave events in line with them, links found in message text, and the unread
 * count for the tab title. Everything here returns data; the components render it as React text
 * nodes and attributes, so no HTML ever comes from a message.
 */
import type { ChatMessage } from "@/lib/client";
import type { LogEntry } from "@/lib/protocol";

/** Consecutive messages of one sender within this many ms read as one group (Element and Signal use a few minutes). */
export const GROUP_GAP_MS = 5 * 60_000;

export type TimelineItem =
  | {
      kind: "message";
      key: string;
      m: ChatMessage;
      /** First of its group: shows the sender and the time. */
      groupStart: boolean;
      /** Last of its group (the bubble gets its "tail" corner). */
      groupEnd: boolean;
    }
  | {
      kind: "event";
      key: string;
      event: RoomEventKind;
      userId: string | null;
      /** The name in the log row (a leaver's name may no longer be in the member list). */
      name: string | null;
      /** Who did it, when someone else than `userId` acted: the creator who removed, Bob in a BB84 run. */
      otherId?: string | null;
      /** What happened, beyond the verb: a new epoch's number, a BB84 result, the new channel. */
      detail?: string;
      ts: string;
    };

/** The room events shown in line with the messages (from the room's log rows). */
export type RoomEventKind = "joined" | "left" | "removed" | "expired" | "key" | "bb84" | "channel";

const EVENT_OF: Partial<Record<LogEntry["type"], RoomEventKind>> = {
  MEMBER_JOINED: "joined",
  MEMBER_LEFT: "left",
  MEMBER_REMOVED: "removed",
  MEMBER_EXPIRED: "expired",
  KEY_EPOCH_STARTED: "key",
  BB84_SESSION_SUMMARY: "bb84",
  CHANNEL_SETTINGS_CHANGED: "channel",
};

function pct(v: unknown): string {
  return typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "?";
}

/** The words after the verb, from a log row's non-secret metadata. */
function eventDetail(l: LogEntry): string | undefined {
  const m = l.meta ?? {};
  switch (l.type) {
    case "KEY_EPOCH_STARTED":
      return typeof m.epoch === "number" ? `epoch ${m.epoch}` : undefined;
    case "BB84_SESSION_SUMMARY":
      // The key length with a thousands separator, as the member list and the BB84 panel write it ("1,324-bit key").
      if (m.outcome === "success")
        return `QBER ${pct(m.qberEstimate)}, ${typeof m.finalLength === "number" ? `${m.finalLength.toLocaleString("en-US")}-bit key` : "key made"}`;
      return `aborted${typeof m.abortReason === "string" && m.abortReason ? `: ${m.abortReason}` : ""}`;
    case "CHANNEL_SETTINGS_CHANGED":
      return `noise ${pct(m.noise)}, loss ${pct(m.loss)}, Eve ${pct(m.eve)}${m.by === "admin" ? " (by the operator)" : ""}`;
    default:
      return undefined;
  }
}

/** Parsed times, kept: the timeline is rebuilt on every change, over up to 20,000 messages. */
const parsed = new Map<string, number>();
function time(ts: string): number {
  let t = parsed.get(ts);
  if (t === undefined) {
    t = Date.parse(ts);
    if (Number.isNaN(t)) t = 0;
    if (parsed.size >= 50_000) parsed.clear();
    parsed.set(ts, t);
  }
  return t;
}

/** Messages of one sender to the same audience (room, or one DM pair), close in time, read as one group. */
function sameGroup(a: ChatMessage, b: ChatMessage): boolean {
  return (
    a.from === b.from && a.direct === b.direct && a.to === b.to && a.status !== "rejected" && b.status !== "rejected" && time(b.ts) - time(a.ts) <= GROUP_GAP_MS
  );
}

/**
 * Merges the room's messages (in arrival order) with its room events (joins, leaves, removals,
 * expiries, key changes, BB84 results, channel changes: the log rows in EVENT_OF) by server time;
 * an event ends a group. Events before `since` (e.g. before this tab joined) are left
 * out, so the timeline starts where the tab's messages do.
 */
export function buildTimeline(messages: readonly ChatMessage[], logs: readonly LogEntry[], since?: string | null): TimelineItem[] {
  const from = since ? time(since) : -Infinity;
  const events = logs
    .filter((l) => EVENT_OF[l.type] !== undefined && time(l.createdAt) >= from)
    .sort((a, b) => time(a.createdAt) - time(b.createdAt) || a.id - b.id);
  const out: TimelineItem[] = [];
  let e = 0;
  const pushEvent = (l: LogEntry) =>
    out.push({
      kind: "event",
      key: `log-${l.id}`,
      event: EVENT_OF[l.type]!,
      // A removal's or an expiry's subject is the target; the remover is the actor.
      userId: l.type === "MEMBER_REMOVED" || l.type === "MEMBER_EXPIRED" ? l.targetId : l.actorId,
      otherId: l.type === "MEMBER_REMOVED" ? l.actorId : l.type === "BB84_SESSION_SUMMARY" ? l.targetId : null,
      name: typeof l.meta?.displayName === "string" ? l.meta.displayName : null,
      detail: eventDetail(l),
      ts: l.createdAt,
    });
  let prev: ChatMessage | null = null;
  for (const m of messages) {
    let broke = false;
    while (e < events.length && time(events[e].createdAt) <= time(m.ts)) {
      pushEvent(events[e++]);
      broke = true;
    }
    const groupStart = broke || prev === null || !sameGroup(prev, m);
    if (groupStart && out.length > 0) {
      const last = out[out.length - 1];
      if (last.kind === "message") last.groupEnd = true;
    }
    out.push({ kind: "message", key: m.id, m, groupStart, groupEnd: false });
    prev = m;
  }
  const last = out[out.length - 1];
  if (last?.kind === "message") last.groupEnd = true;
  while (e < events.length) pushEvent(events[e++]);
  // An event right before a message closes the group before it.
  for (let i = 0; i + 1 < out.length; i++) {
    const a = out[i];
    if (a.kind === "message" && out[i + 1].kind === "event") a.groupEnd = true;
  }
  return out;
}

export type TextSegment = { kind: "text"; text: string } | { kind: "link"; text: string; href: string };

// http(s) URLs only: javascript:, data: and the rest stay text.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"*_~]+$/;

/** Drops punctuation that ends a sentence, and a closing bracket that has no opening one in the URL. */
function trimUrl(raw: string): string {
  let s = raw.replace(TRAILING, "");
  for (const [open, close] of [
    ["(", ")"],
    ["[", "]"],
    ["{", "}"],
  ] as const) {
    while (s.endsWith(close) && s.split(open).length < s.split(close).length) s = s.slice(0, -1).replace(TRAILING, "");
  }
  return s;
}

/**
 * Splits message text into text and http(s) links. A link's href is the URL as parsed by the URL
 * standard (so it is absolute and http or https); anything that does not parse stays text.
 */
export function linkify(text: string): TextSegment[] {
  const out: TextSegment[] = [];
  let at = 0;
  const push = (t: string) => {
    if (!t) return;
    const prev = out[out.length - 1];
    if (prev?.kind === "text") prev.text += t;
    else out.push({ kind: "text", text: t });
  };
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index ?? 0;
    const url = trimUrl(match[0]);
    let href: string | null = null;
    try {
      const u = new URL(url);
      if ((u.protocol === "http:" || u.protocol === "https:") && u.hostname) href = u.href;
    } catch {
      href = null;
    }
    push(text.slice(at, start));
    if (href) out.push({ kind: "link", text: url, href });
    else push(url);
    at = start + url.length;
  }
  push(text.slice(at));
  return out;
}

/** Messages from others that arrived after the reader last saw the conversation. */
export function unreadCount(messages: readonly ChatMessage[], seenCount: number): number {
  let n = 0;
  // Stored history put above is not news (it also shifts positions: count only live arrivals).
  for (let i = Math.max(0, seenCount); i < messages.length; i++)
    if (!messages[i].mine && messages[i].status !== "rejected" && messages[i].status !== "unavailable" && !messages[i].fromHistory) n++;
  return n;
}

/** The tab title with an unread count in front, as chat apps do: "(3) room — QSEC". */
export function titleWithUnread(base: string, unread: number): string {
  return unread > 0 ? `(${unread > 99 ? "99+" : unread}) ${base}` : base;
}

/** Whether text mentions a display name: "@Name" or "Name" as a whole word, any case. */
export function mentions(text: string, name: string): boolean {
  const n = name.trim();
  if (!n) return false;
  const escaped = n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escaped}(?=$|[^\\p{L}\\p{N}_])`, "iu").test(text);
}

/** A message worth a desktop notification: someone else's, readable, and direct to us or mentioning our name. */
export function isNotifiable(m: ChatMessage, myName: string): boolean {
  return !m.mine && m.status === "ok" && !m.fromHistory && (m.direct || mentions(m.text ?? "", myName));
}
