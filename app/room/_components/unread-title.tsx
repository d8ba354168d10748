"use client";
import { useEffect, useState } from "react";
import { useCurrentRoom } from "@/lib/ui/chat-store";
import { titleWithUnread, unreadCount } from "@/lib/ui/timeline";

/** Whether the page is the one the user looks at (another tab or a minimised window: not). */
export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(true);
  useEffect(() => {
    const update = () => setVisible(document.visibilityState === "visible");
    update();
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, []);
  return visible;
}

/**
 * Messages from others the user has not had in view: arrived while the tab was hidden, or (on a
 * phone) while another section than the chat was shown.
 */
export function useUnread(chatShown: boolean): number {
  const room = useCurrentRoom();
  const count = room?.messages.length ?? 0;
  const visible = usePageVisible();
  const reading = visible && chatShown;
  const [seen, setSeen] = useState(count);
  useEffect(() => {
    if (reading) setSeen(count);
  }, [reading, count]);
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
