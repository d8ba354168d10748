"use client";
import { memo, useCallback } from "react";
import type { LogEventType } from "@/lib/protocol";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { formatTime, isoTime, shortId } from "@/lib/ui/format";
import { groupRelayRows, type GroupedLogEntry } from "@/lib/ui/log-group";
import { LogMeta } from "@/app/_components/log-meta";
import { Panel } from "@/app/_components/ui";

/** How each structured log type reads; the server never sends text to parse. */
const TYPES: Record<LogEventType, { label: string; tone: string }> = {
  ROOM_CREATED: { label: "Room created", tone: "text-accent" },
  MEMBER_JOINED: { label: "Member joined", tone: "text-ok" },
  MEMBER_LEFT: { label: "Member left", tone: "text-warn" },
  MEMBER_REMOVED: { label: "Member removed", tone: "text-warn" },
  MEMBER_EXPIRED: { label: "Member expired", tone: "text-warn" },
  MEMBER_ONLINE: { label: "Member online", tone: "text-muted" },
  MEMBER_OFFLINE: { label: "Member offline", tone: "text-muted" },
  HISTORY_PURGED: { label: "History purged", tone: "text-muted" },
  KEY_EPOCH_STARTED: { label: "Key epoch started", tone: "text-accent" },
  KEY_SHARE_RELAYED: { label: "Key share relayed", tone: "text-muted" },
  MESSAGE_RELAYED: { label: "Message relayed", tone: "text-muted" },
  DIRECT_MESSAGE_RELAYED: { label: "Direct message relayed", tone: "text-muted" },
  BB84_RELAYED: { label: "BB84 frame relayed", tone: "text-muted" },
  BB84_SESSION_STARTED: { label: "BB84 session started", tone: "text-accent" },
  BB84_SESSION_SUMMARY: { label: "BB84 session", tone: "text-accent" },
  CHANNEL_SETTINGS_CHANGED: { label: "Channel settings changed", tone: "text-muted" },
  ATTACHMENT_UPLOADED: { label: "Attachment uploaded", tone: "text-muted" },
  ATTACHMENTS_PURGED: { label: "Attachments purged", tone: "text-muted" },
  SECURITY_REJECTED: { label: "Refused by server", tone: "text-danger" },
};

/** What the actor is, for types where "who" is not obvious. */
const ACTOR_ROLE: Partial<Record<LogEventType, string>> = {
  ROOM_CREATED: "by",
  MEMBER_REMOVED: "by",
  KEY_EPOCH_STARTED: "leader",
  KEY_SHARE_RELAYED: "from leader",
  SECURITY_REJECTED: "from",
};

export function LogPanel() {
  const room = useRoomFields("logs");
  const names = useChatStore((s) => s.names);
  const me = useChatStore((s) => s.snapshot?.userId ?? null);
  // Stable between renders, so unchanged rows (memo) are not re-rendered while a BB84 session streams.
  const nameOf = useCallback((id: string | null) => (id === null ? null : id === me ? `${names[id] ?? "you"} (you)` : (names[id] ?? shortId(id))), [names, me]);
  if (!room) return null;
  // Newest first; the list is append-only, so reversing a copy is enough.
  // Only well-formed rows of a known type are shown (the panel never guesses at a row's meaning).
  const stored = room.logs.filter((l) => typeof l?.id === "number" && l.type in TYPES).sort((a, b) => b.id - a.id);
  // A BB84 session's relayed frames read as one row per run of frames (see lib/ui/log-group).
  const logs = groupRelayRows(stored);

  return (
    <Panel title={`Room log · ${stored.length}`} data-testid="log-panel" className="min-h-[16rem] flex-1 lg:min-h-[22rem]">
      {logs.length === 0 ? (
        <p className="px-4 py-6 text-center text-sm text-muted">No log entries yet.</p>
      ) : (
        <ol
          className="flex-1 divide-y divide-line overflow-y-auto"
          aria-live="polite"
          data-testid="log-list"
          // Focusable, so the log can be scrolled with the keyboard (WCAG 2.1.1; axe scrollable-region-focusable).
          // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- a scrollable region must take focus to be scrolled without a mouse
          tabIndex={0}
          aria-label="Room log entries, newest first"
        >
          {logs.map((l) => (
            <LogItem
              key={l.id}
              l={l}
              actor={nameOf(l.actorId) ?? (typeof l.meta.displayName === "string" ? l.meta.displayName : null)}
              target={nameOf(l.targetId)}
              names={names}
            />
          ))}
        </ol>
      )}
      <p className="border-t border-line px-4 py-2 text-[11px] leading-4 text-muted">
        What the server records: who, when, sizes and epochs. Never text or keys.
      </p>
    </Panel>
  );
}

const LogItem = memo(function LogItem({
  l,
  actor,
  target,
  names,
}: {
  l: GroupedLogEntry;
  actor: string | null;
  target: string | null;
  /** User id → display name, for ids inside the metadata (leader, aborted by, …). */
  names: Readonly<Record<string, string>>;
}) {
  const t = TYPES[l.type];
  const meta = Object.entries(l.meta ?? {});
  const grouped = (l.rows ?? 1) > 1;
  return (
    <li
      className="px-4 py-2.5 text-xs"
      data-testid="log-item"
      data-type={l.type}
      data-actor={l.actorId ?? ""}
      data-target={l.targetId ?? ""}
      data-rows={l.rows ?? 1}
    >
      <div className="flex items-baseline justify-between gap-2">
        <span className={`font-semibold ${t.tone}`} data-testid="log-type">
          {grouped ? "BB84 frames relayed" : t.label}
        </span>
        <time dateTime={isoTime(l.createdAt)} className="shrink-0 font-mono text-[11px] text-muted">
          {formatTime(l.createdAt)}
        </time>
      </div>
      {(actor || target) && (
        <div className="mt-0.5 text-muted">
          {actor && ACTOR_ROLE[l.type] && <span>{ACTOR_ROLE[l.type]} </span>}
          {actor && <span className="text-fg">{actor}</span>}
          {actor && target && (l.bothWays ? <Arrow sign="⇄" spoken="and" /> : <Arrow sign="→" spoken="to" />)}
          {target && <span className="text-fg">{target}</span>}
        </div>
      )}
      {meta.length > 0 && (
        <div className="mt-1 text-[11px]">
          <LogMeta meta={l.meta} names={names} />
        </div>
      )}
    </li>
  );
});

/** An arrow between actor and target that a screen reader speaks as a word. */
function Arrow({ sign, spoken }: { sign: string; spoken: string }) {
  return (
    <>
      <span aria-hidden="true"> {sign} </span>
      <span className="sr-only"> {spoken} </span>
    </>
  );
}
