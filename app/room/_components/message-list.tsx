"use client";
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { ChatMessage } from "@/lib/client";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { formatTime, isoTime } from "@/lib/ui/format";
import { buildTimeline, type TimelineItem } from "@/lib/ui/timeline";
import { Badge } from "@/app/_components/ui";
import { MessageText } from "./message-text";
import { AttachmentCard } from "./attachment-card";

/** Timeline items rendered at once; scrolling to the top shows WINDOW_STEP more (then older pages). */
const WINDOW = 200;
const WINDOW_STEP = 200;
/** How close to the top (px) scrolling must come before older items are shown or fetched. */
const TOP_SLACK = 120;

/**
 * The conversation: messages grouped by sender (name and time once per group), room events in
 * line (joins, leaves, removals, key changes, BB84 results, channel changes). Text is rendered as
 * React text nodes and http(s) links only: never HTML.
 *
 * Stored history: the newest page loads when the room opens (the store does it); scrolling to the
 * top first reveals more of what is loaded, then fetches the next older page (the client has it
 * fetched and decrypted ahead). Only the newest `shown` items are in the DOM, rendered in memoized
 * chunks (chunkItems), so a room with 10,000 stored messages stays light; the scroll position is
 * kept when older items are put above.
 */
export function MessageList() {
  const room = useRoomFields("historyDays", "history", "logs", "members", "messages");
  const names = useChatStore((s) => s.names);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [away, setAway] = useState(false);
  const [seenCount, setSeenCount] = useState(0);
  const roomMessages = room?.messages;
  const messages = useMemo(() => roomMessages ?? [], [roomMessages]);
  const logs = room?.logs;
  const last = messages[messages.length - 1];
  // Room events from the moment this tab's conversation starts (its own join), not the room's whole history.
  const since = useMemo(() => {
    const me = room?.members.find((m) => m.isMe)?.userId;
    const own = logs
      ?.filter((l) => l.type === "MEMBER_JOINED" && l.actorId === me)
      .map((l) => l.createdAt)
      .sort();
    return own?.length ? own[own.length - 1] : null;
  }, [logs, room?.members]);
  const loadOlder = useChatStore((s) => s.loadOlder);
  const loadAllOlder = useChatStore((s) => s.loadAllOlder);
  const history = room?.history;
  // Events from the oldest message loaded from history, or from this tab's own join.
  const from = useMemo(() => {
    const oldest = messages.find((m) => m.fromHistory)?.ts;
    return oldest && (!since || oldest < since) ? oldest : since;
  }, [messages, since]);
  const allItems = useMemo(() => buildTimeline(messages, logs ?? [], from), [messages, logs, from]);
  const [shown, setShown] = useState(WINDOW);
  const items = useMemo(() => (allItems.length > shown ? allItems.slice(allItems.length - shown) : allItems), [allItems, shown]);
  const chunks = useMemo(() => chunkItems(items), [items]);
  const hiddenAbove = allItems.length - items.length;
  const canFetch = history?.nextBefore !== null && !history?.loading;
  const exhausted = history?.nextBefore === null;
  /** Distance from the bottom before older items were put above, restored after they render. */
  const anchor = useRef<number | null>(null);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && anchor.current !== null) {
      el.scrollTop = el.scrollHeight - anchor.current;
      anchor.current = null;
    }
  }, [items]);

  function revealOlder(el: HTMLDivElement) {
    if (hiddenAbove > 0) {
      anchor.current = el.scrollHeight - el.scrollTop;
      setShown((n) => n + WINDOW_STEP);
    } else if (canFetch && history?.nextBefore !== undefined) {
      anchor.current = el.scrollHeight - el.scrollTop;
      setShown((n) => n + WINDOW_STEP);
      // A step may bring more than a page (pages the client had ready): show all it brought.
      void loadOlder().then((k) => {
        if (k > WINDOW_STEP) setShown((n) => n + k - WINDOW_STEP);
      });
    }
  }

  /** Everything: what is loaded and every older page (fetched in large pages, verified and decrypted while the next is fetched). */
  function revealAll(el: HTMLDivElement) {
    anchor.current = el.scrollHeight - el.scrollTop;
    setShown(Number.MAX_SAFE_INTEGER);
    if (history?.nextBefore !== null) void loadAllOlder();
  }

  // Follow new messages unless the reader scrolled up to read older ones.
  useEffect(() => {
    const el = scroller.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
      setSeenCount(messages.length);
    }
  }, [items.length, messages.length, last?.status]);

  // Also when the timeline or its box changes size without a new row: an image's preview decoding,
  // the upload list opening above the composer, a phone's Chat tab shown again after another tab
  // (the box was 0 px tall). None of these fires a scroll event, so the newest row stayed cut off.
  const empty = items.length === 0;
  const mounted = room !== null;
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const follow = new ResizeObserver(() => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    });
    follow.observe(el);
    if (el.firstElementChild) follow.observe(el.firstElementChild);
    return () => follow.disconnect();
  }, [empty, mounted]);

  if (!room) return null;
  const newBelow = away ? messages.slice(seenCount).filter((m) => !m.mine).length : 0;
  return (
    <div className="relative flex min-h-0 flex-1 flex-col">
      <div
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
          setAway(!stick.current);
          if (stick.current) setSeenCount(messages.length);
          if (el.scrollTop < TOP_SLACK) revealOlder(el);
        }}
        className="min-h-0 flex-1 overflow-y-auto px-3 py-3 sm:px-4 sm:py-4"
        // Focusable, so the conversation can be scrolled with the keyboard (WCAG 2.1.1; axe scrollable-region-focusable).
        // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- a scrollable region must take focus to be scrolled without a mouse
        tabIndex={0}
        role="log"
        aria-label="Messages"
        aria-live="polite"
        aria-relevant="additions"
        data-testid="message-scroller"
      >
        {items.length === 0 ? (
          <div className="flex h-full flex-col items-center justify-center gap-1 text-center text-sm text-muted" data-testid="no-messages">
            <p className="font-medium text-fg">{history?.loading ? "Loading messages…" : "No messages yet"}</p>
            <p>Messages are end-to-end encrypted with the room key of the current epoch.</p>
            <p>
              {room.historyDays === null
                ? "This room keeps no history: you see what is sent while you are in it."
                : `This room keeps its encrypted history ${room.historyDays} day${room.historyDays === 1 ? "" : "s"}; messages before you joined are not available.`}
            </p>
          </div>
        ) : (
          <ol data-testid="message-list" data-hidden-above={hiddenAbove} data-total={allItems.length}>
            {hiddenAbove === 0 && (exhausted || room.historyDays === null) && (
              <li className="my-3 flex items-center gap-3 text-xs text-muted" data-testid="history-start">
                <span className="h-px flex-1 bg-line" aria-hidden="true" />
                <span className="text-center">
                  {room.historyDays === null ? "This room keeps no history: earlier messages are not shown" : "Messages before you joined are not available"}
                </span>
                <span className="h-px flex-1 bg-line" aria-hidden="true" />
              </li>
            )}
            {(hiddenAbove > 0 || (!exhausted && room.historyDays !== null)) && (
              <li className="my-2 flex flex-wrap justify-center gap-2 text-center">
                <button
                  type="button"
                  onClick={() => scroller.current && revealOlder(scroller.current)}
                  disabled={hiddenAbove === 0 && !canFetch}
                  data-testid="load-older"
                  className="rounded-full border border-line px-3 py-1 text-xs text-muted hover:border-accent disabled:opacity-50"
                >
                  {history?.loading && hiddenAbove === 0 ? "Loading older messages…" : "Show older messages"}
                </button>
                <button
                  type="button"
                  onClick={() => scroller.current && revealAll(scroller.current)}
                  disabled={hiddenAbove === 0 && !canFetch}
                  data-testid="load-all"
                  className="rounded-full border border-line px-3 py-1 text-xs text-muted hover:border-accent disabled:opacity-50"
                >
                  {history?.loading && shown === Number.MAX_SAFE_INTEGER ? "Loading all history…" : "Show all history"}
                </button>
              </li>
            )}
            {history?.error && (
              <li className="my-2 text-center text-xs text-danger" role="alert" data-testid="history-error">
                Older messages could not be loaded: {history.error}
              </li>
            )}
            {chunks.map((c) => (
              <Chunk key={c[0].key} items={c} names={names} />
            ))}
          </ol>
        )}
      </div>
      {away && (
        <button
          type="button"
          onClick={() => {
            const el = scroller.current;
            if (el) el.scrollTop = el.scrollHeight;
          }}
          data-testid="jump-to-latest"
          className="absolute bottom-3 left-1/2 -translate-x-1/2 whitespace-nowrap rounded-full border border-line bg-panel px-3 py-1.5 text-xs font-medium text-fg shadow-lg hover:border-accent"
        >
          {newBelow > 0 ? `${newBelow} new message${newBelow === 1 ? "" : "s"} · Jump to latest ↓` : "Jump to latest ↓"}
        </button>
      )}
    </div>
  );
}

/**
 * The rows in chunks whose boundaries depend only on the rows' keys (a new chunk starts at a key
 * whose hash is 0 mod CHUNK_SPREAD), so putting an older page above or a new message below leaves
 * every other chunk as it was: React skips those (Chunk is memoized), and showing page after page
 * of a 10,000-message history costs the new rows, not the whole timeline again.
 */
const CHUNK_SPREAD = 32;
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
function chunkItems(items: readonly TimelineItem[]): TimelineItem[][] {
  const out: TimelineItem[][] = [];
  for (const it of items) {
    if (out.length === 0 || keyHash(it.key) % CHUNK_SPREAD === 0) out.push([it]);
    else out[out.length - 1].push(it);
  }
  return out;
}

type ChunkProps = { items: TimelineItem[]; names: Readonly<Record<string, string>> };
const sameItem = (a: TimelineItem, b: TimelineItem) =>
  a.key === b.key &&
  (a.kind === "message" && b.kind === "message" ? a.m === b.m && a.groupStart === b.groupStart && a.groupEnd === b.groupEnd : a.kind === b.kind);
const sameChunk = (a: ChunkProps, b: ChunkProps) =>
  a.names === b.names && a.items.length === b.items.length && a.items.every((it, i) => sameItem(it, b.items[i]));

const Chunk = memo(function Chunk({ items, names }: ChunkProps) {
  return items.map((it) =>
    it.kind === "event" ? (
      <RoomEvent key={it.key} it={it} names={names} />
    ) : (
      <MessageItem key={it.key} it={it} toName={it.m.to ? (names[it.m.to] ?? it.m.to.slice(0, 8)) : null} />
    ),
  );
}, sameChunk);

const EVENT_TEXT: Record<Extract<TimelineItem, { kind: "event" }>["event"], string> = {
  joined: "joined · new key",
  left: "left · new key",
  removed: "was removed · new key",
  expired: "was away too long and left · new key",
  key: "the room key changed",
  bb84: "ran BB84",
  channel: "changed the channel",
};

function RoomEvent({ it, names }: { it: Extract<TimelineItem, { kind: "event" }>; names: Readonly<Record<string, string>> }) {
  const nameOf = (id: string | null | undefined) => (id ? (names[id] ?? `${id.slice(0, 8)}…`) : null);
  const name = it.event === "key" ? null : (it.name ?? nameOf(it.userId) ?? (it.event === "channel" ? "The operator" : "Someone"));
  const other = nameOf(it.otherId);
  return (
    <li className="my-2 flex items-center gap-3 text-xs text-muted" data-testid="room-event" data-event={it.event} data-user-id={it.userId ?? ""}>
      <span className="h-px flex-1 bg-line" aria-hidden="true" />
      <span className="min-w-0 break-words text-center">
        {name && <span className="font-medium text-fg">{name}</span>} {EVENT_TEXT[it.event]}
        {it.event === "removed" && other ? ` by ${other}` : ""}
        {it.event === "bb84" && other ? ` with ${other}` : ""}
        {it.detail ? ` (${it.detail})` : ""} · <time dateTime={isoTime(it.ts)}>{formatTime(it.ts)}</time>
      </span>
      <span className="h-px flex-1 bg-line" aria-hidden="true" />
    </li>
  );
}

type MessageItemProps = { it: Extract<TimelineItem, { kind: "message" }>; toName: string | null };
/** The timeline is rebuilt on every change; a row re-renders only when its message or its place in a group changed. */
const sameRow = (a: MessageItemProps, b: MessageItemProps) =>
  a.it.m === b.it.m && a.it.groupStart === b.it.groupStart && a.it.groupEnd === b.it.groupEnd && a.toName === b.toName;

const MessageItem = memo(function MessageItem({ it, toName }: MessageItemProps) {
  const { m, groupStart, groupEnd } = it;
  const mine = m.mine;
  return (
    <li
      className={`flex [contain-intrinsic-size:auto_3rem] [content-visibility:auto] ${mine ? "justify-end" : "justify-start"} ${groupStart ? "mt-3 first:mt-0" : "mt-0.5"}`}
      data-testid="message-item"
      data-status={m.status}
      data-mine={mine ? "true" : "false"}
      data-direct={m.direct ? "true" : "false"}
      data-hybrid={m.hybrid ? "true" : "false"}
      data-epoch={m.epoch}
      data-group-start={groupStart ? "true" : "false"}
    >
      <div className={`flex min-w-0 max-w-[min(36rem,85%)] flex-col ${mine ? "items-end" : "items-start"}`}>
        {/* The sender once per group; later messages of the group carry it for screen readers only. */}
        <div className={groupStart ? "mb-1 flex flex-wrap items-center gap-1.5 px-1 text-[11px] text-muted" : "sr-only"}>
          <span className="font-semibold text-fg" data-testid="message-sender">
            {mine ? "You" : m.fromName}
          </span>
          {groupStart && <time dateTime={isoTime(m.ts)}>{formatTime(m.ts)}</time>}
          {m.direct && (
            <Badge tone="accent" data-testid="direct-badge">
              {mine ? `direct → ${toName ?? "?"}` : "direct to you"}
            </Badge>
          )}
          {m.hybrid && (
            <Badge tone="ok" data-testid="hybrid-badge">
              <span title="Encrypted under HKDF(X25519 secret ‖ QKD key): the QKD-hardened pair key">QKD-hybrid key</span>
            </Badge>
          )}
        </div>
        <div className={`group flex max-w-full items-end gap-2 ${mine ? "flex-row-reverse" : ""}`}>
          <Bubble m={m} tail={groupEnd} />
          {/* Every message's time, on hover or focus, as in Signal; the first of a group shows it above. */}
          {!groupStart && (
            <time
              dateTime={isoTime(m.ts)}
              className="shrink-0 pb-1 text-[10px] text-muted opacity-0 transition group-hover:opacity-100"
              data-testid="message-time"
            >
              {formatTime(m.ts)}
            </time>
          )}
        </div>
      </div>
    </li>
  );
}, sameRow);

function Bubble({ m, tail }: { m: ChatMessage; tail: boolean }) {
  if (m.status === "waiting-key") {
    return (
      <div
        className="flex items-center gap-2 rounded-2xl border border-dashed border-warn/60 bg-warn/5 px-3.5 py-2 text-sm italic text-warn"
        data-testid="message-waiting"
      >
        <span className="h-3 w-3 animate-spin rounded-full border-2 border-warn border-t-transparent" aria-hidden="true" />
        Waiting for the epoch {m.epoch} key to decrypt…
      </div>
    );
  }
  if (m.status === "unavailable") {
    return (
      <div className="rounded-2xl border border-dashed border-line px-3.5 py-2 text-sm italic text-muted" data-testid="message-unavailable">
        Not available: {m.reason ?? "sent under a key you never held"}
      </div>
    );
  }
  if (m.status === "rejected") {
    return (
      <div role="alert" className="rounded-2xl border border-danger/60 bg-danger/10 px-3.5 py-2 text-sm text-danger" data-testid="message-rejected">
        <span className="font-semibold">Rejected:</span> {m.reason ?? "failed verification"}
        <span className="mt-0.5 block text-[11px]">This message was not shown because it failed signature, replay or key checks.</span>
      </div>
    );
  }
  const corner = tail ? (m.mine ? "rounded-br-md" : "rounded-bl-md") : "";
  return (
    <div
      className={`min-w-0 max-w-full whitespace-pre-wrap rounded-2xl px-3.5 py-2 text-sm leading-6 [overflow-wrap:anywhere] ${corner} ${
        m.mine ? "bg-accent text-accent-fg" : "border border-line bg-panel-2 text-fg"
      }`}
      data-testid="message-text"
    >
      {(m.text ?? "") !== "" && <MessageText text={m.text ?? ""} mine={m.mine} />}
      {m.attachment && <AttachmentCard att={m.attachment} mine={m.mine} />}
    </div>
  );
}
