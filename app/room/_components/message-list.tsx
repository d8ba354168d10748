"use client";
import { memo, useEffect, useRef } from "react";
import type { ChatMessage } from "@/lib/client";
import { useChatStore, useCurrentRoom } from "@/lib/ui/chat-store";
import { formatTime, isoTime } from "@/lib/ui/format";
import { Badge } from "@/app/_components/ui";

/** The conversation. Text is rendered as React text nodes only: never HTML. */
export function MessageList() {
  const room = useCurrentRoom();
  const names = useChatStore((s) => s.names);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const messages = room?.messages ?? [];
  const last = messages[messages.length - 1];

  // Follow new messages unless the reader scrolled up to read older ones.
  useEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages.length, last?.status]);

  if (!room) return null;
  return (
    <div
      ref={scroller}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
      }}
      className="flex-1 overflow-y-auto px-4 py-4"
      aria-live="polite"
      aria-relevant="additions"
    >
      {messages.length === 0 ? (
        <div className="flex h-full flex-col items-center justify-center gap-1 text-center text-sm text-muted" data-testid="no-messages">
          <p className="font-medium text-fg">No messages yet</p>
          <p>Messages are encrypted in this tab with the room key of the current epoch.</p>
          <p>You see only what is sent after you joined.</p>
        </div>
      ) : (
        <ol className="space-y-3" data-testid="message-list">
          {messages.map((m) => (
            <MessageItem key={m.id} m={m} toName={m.to ? (names[m.to] ?? m.to.slice(0, 8)) : null} />
          ))}
        </ol>
      )}
    </div>
  );
}

const MessageItem = memo(function MessageItem({ m, toName }: { m: ChatMessage; toName: string | null }) {
  const mine = m.mine;
  return (
    <li
      className={`flex ${mine ? "justify-end" : "justify-start"}`}
      data-testid="message-item"
      data-status={m.status}
      data-mine={mine ? "true" : "false"}
      data-direct={m.direct ? "true" : "false"}
      data-hybrid={m.hybrid ? "true" : "false"}
      data-epoch={m.epoch}
    >
      <div className={`max-w-[min(36rem,85%)] ${mine ? "items-end" : "items-start"} flex flex-col`}>
        <div className="mb-1 flex flex-wrap items-center gap-1.5 px-1 text-[11px] text-muted">
          <span className="font-semibold text-fg" data-testid="message-sender">
            {mine ? "You" : m.fromName}
          </span>
          <time dateTime={isoTime(m.ts)}>{formatTime(m.ts)}</time>
          {m.direct && (
            <Badge tone="accent" data-testid="direct-badge">
              {mine ? `direct → ${toName ?? "?"}` : "direct to you"}
            </Badge>
          )}
          {m.hybrid ? (
            <Badge tone="ok" data-testid="hybrid-badge">
              <span title="Encrypted under HKDF(X25519 secret ‖ QKD key): the QKD-hardened pair key">QKD-hybrid key</span>
            </Badge>
          ) : (
            <span className="font-mono opacity-70" title="Key epoch this message was encrypted under">
              {m.direct ? "pair key" : `e${m.epoch}`}
            </span>
          )}
        </div>
        <Bubble m={m} />
      </div>
    </li>
  );
});

function Bubble({ m }: { m: ChatMessage }) {
  if (m.status === "waiting-key") {
    return (
      <div className="flex items-center gap-2 rounded-2xl border border-dashed border-warn/60 bg-warn/5 px-3.5 py-2 text-sm italic text-warn" data-testid="message-waiting">
        <span className="h-3 w-3 animate-spin rounded-full border-2 border-warn border-t-transparent" aria-hidden="true" />
        Waiting for the epoch {m.epoch} key to decrypt…
      </div>
    );
  }
  if (m.status === "rejected") {
    return (
      <div role="alert" className="rounded-2xl border border-danger/60 bg-danger/10 px-3.5 py-2 text-sm text-danger" data-testid="message-rejected">
        <span className="font-semibold">Rejected:</span> {m.reason ?? "failed verification"}
        <span className="mt-0.5 block text-[11px] text-danger/80">This message was not shown because it failed signature, replay or key checks.</span>
      </div>
    );
  }
  return (
    <div
      className={`whitespace-pre-wrap break-words rounded-2xl px-3.5 py-2 text-sm leading-6 ${
        m.mine ? "rounded-br-md bg-accent text-accent-fg" : "rounded-bl-md border border-line bg-panel-2 text-fg"
      }`}
      data-testid="message-text"
    >
      {m.text}
    </div>
  );
}
