"use client";
import { useEffect, useRef, useSyncExternalStore } from "react";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { isNotifiable } from "@/lib/ui/timeline";

const KEY = "qsec-notify";

function supported(): boolean {
  return typeof window !== "undefined" && "Notification" in window;
}

/**
 * Opt-in desktop notifications for direct messages and mentions of this tab's name, only while
 * the tab is hidden. A notification names the sender and never carries the text: decrypted
 * words do not go to the operating system's notification history.
 */
export function useDesktopNotifications(enabled: boolean) {
  const room = useRoomFields("messages", "roomId");
  const myName = useChatStore((s) => s.displayName) ?? "";
  const messages = room?.messages;
  const notified = useRef(new Set<string>());
  const seen = useRef<number | null>(null);

  useEffect(() => {
    if (!messages) return;
    // Messages present when notifications were (re)enabled or the room loaded are not news.
    if (seen.current === null || !enabled) {
      seen.current = messages.length;
      return;
    }
    const fresh = messages.slice(seen.current);
    seen.current = messages.length;
    if (document.visibilityState !== "hidden" || !supported() || Notification.permission !== "granted") return;
    for (const m of fresh) {
      if (notified.current.has(m.id) || !isNotifiable(m, myName)) continue;
      notified.current.add(m.id);
      try {
        const n = new Notification(m.direct ? `Direct message from ${m.fromName}` : `${m.fromName} mentioned you`, {
          body: `in ${room?.roomId ?? "a room"} · open QSEC to read it`,
          tag: m.id,
        });
        n.onclick = () => {
          window.focus();
          n.close();
        };
      } catch {
        // Some mobile browsers allow notifications only from a service worker: nothing to show there.
      }
    }
  }, [messages, enabled, myName, room?.roomId]);
}

type NotifyState = "unsupported" | "blocked" | "on" | "off";

/** The opt-in (kept in this browser) and the browser's permission, as one value; the server knows neither. */
function notifyState(): NotifyState {
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "blocked";
  if (Notification.permission !== "granted") return "off";
  try {
    return localStorage.getItem(KEY) === "1" ? "on" : "off";
  } catch {
    return "off";
  }
}

/**
 * The state is read once and cached: Notification.permission is a synchronous call into the
 * browser process, and React reads a store's snapshot on every render of the toggle (a BB84
 * session re-renders the room many times a second). A toggle, a focus or a visibility change (the
 * user may have changed the permission in the browser's settings) re-reads it.
 */
let cached: NotifyState | null = null;
function snapshot(): NotifyState {
  cached ??= notifyState();
  return cached;
}

const listeners = new Set<() => void>();
function subscribe(onChange: () => void) {
  if (listeners.size === 0) {
    window.addEventListener("focus", changed);
    document.addEventListener("visibilitychange", changed);
  }
  listeners.add(onChange);
  return () => {
    listeners.delete(onChange);
    if (listeners.size === 0) {
      window.removeEventListener("focus", changed);
      document.removeEventListener("visibilitychange", changed);
    }
  };
}
function changed() {
  cached = null;
  for (const l of listeners) l();
}

/** The bell in the room header: asks the browser's permission once, then turns notifications on and off. */
export function NotificationToggle({ className = "" }: { className?: string }) {
  const state = useSyncExternalStore(subscribe, snapshot, () => "unsupported" as const);
  const on = state === "on";
  const blocked = state === "blocked";
  useDesktopNotifications(on);
  if (state === "unsupported") return null;

  async function toggle() {
    if (on) {
      localStorage.removeItem(KEY);
      changed();
      return;
    }
    const p = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    if (p === "granted") localStorage.setItem(KEY, "1");
    changed();
  }

  const label = blocked
    ? "Notifications blocked by the browser"
    : on
      ? "Notifications on for mentions and direct messages"
      : "Notify me of mentions and direct messages";
  return (
    <button
      type="button"
      onClick={() => void toggle()}
      aria-pressed={on}
      disabled={blocked}
      title={label}
      data-testid="notify-toggle"
      className={`inline-flex h-8 w-8 shrink-0 items-center justify-center rounded-md hover:bg-panel-2 disabled:cursor-not-allowed disabled:opacity-50 ${on ? "text-accent" : "text-muted hover:text-fg"} ${className}`}
    >
      <span className="sr-only">Desktop notifications for mentions and direct messages</span>
      <svg viewBox="0 0 20 20" className="h-4 w-4" fill={on ? "currentColor" : "none"} stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
        <path d="M10 3a4.5 4.5 0 0 0-4.5 4.5v2.7L4 13h12l-1.5-2.8V7.5A4.5 4.5 0 0 0 10 3ZM8.3 15.5a1.8 1.8 0 0 0 3.4 0" strokeLinejoin="round" />
      </svg>
    </button>
  );
}
