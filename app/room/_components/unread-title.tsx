"use client";
import { useEffect, useState, useSyncExternalStore } from "react";
import { useRoomFields } from "@/lib/ui/chat-store";
import { titleWithUnread, unreadCount } from "@/lib/ui/timeline";

/** Whether the page is the one the user looks at (another tab or a minimised window: not). */
export function usePageVisible(): boolean {
  // The server (and the hydrating first render) assume the page is seen.
  return useSyncExternalStore(
    subscribeVisibility,
    () => document.visibilityState === "visible",
    () => true,
  );
}

function subscribeVisibility(onChange: () => void) {
  document.addEventListener("visibilitychange", onChange);
  return () => document.removeEventListener("visibilitychange", onChange);
}

/**
 * Messages from others the user has not had in view: arrived while the tab was hidden, or (on a
 * phone) while another section than the chat was shown.
 */
export function useUnread(chatShown: boolean): number {
  const room = useRoomFields("messages");
  const count = room?.messages.length ?? 0;
  const visible = usePageVisible();
  const reading = visible && chatShown;
  const [seen, setSeen] = useState(count);
  // While the user reads, everything so far counts as seen (adjusted while rendering, not in an effect).
  if (reading && seen !== count) setSeen(count);
  return reading || !room ? 0 : unreadCount(room.messages, seen);
}

/** "(3) room — QSEC" in the tab title while there is something unread, as chat apps do. */
export function UnreadTitle({ roomId, unread }: { roomId: string; unread: number }) {
  useEffect(() => {
    document.title = titleWithUnread(`${roomId} — QSEC`, unread);
  }, [roomId, unread]);
  useEffect(() => {
    const before = document.title;
    return () => {
      document.title = before;
    };
  }, []);
  return null;
}
