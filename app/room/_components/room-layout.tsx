"use client";
import { useState } from "react";
import { useChatStore } from "@/lib/ui/chat-store";
import { selectCurrentRoom } from "@/lib/ui/store";
import { RoomHeader } from "./room-header";
import { MembersPanel } from "./members-panel";
import { MessageList } from "./message-list";
import { Composer } from "./composer";
import { LogPanel } from "./log-panel";
import { Bb84Panel } from "./bb84-panel";
import { Bb84Alarms } from "./bb84-alarms";
import { SimulationDrawer } from "./simulation-drawer";
import { LeftBanner } from "./left-banner";
import { Alerts } from "./alerts";
import { RoomTabs, TAB_PANEL_ID, type RoomTab } from "./room-tabs";
import { UnreadTitle, useUnread } from "./unread-title";

/**
 * The room: header, BB84 alarms, then members | conversation | BB84 dashboard + room log side by
 * side on a desktop; on a phone the conversation first, and the other sections behind tabs.
 */
export function RoomLayout() {
  // Scalars only: the layout (and with it every panel) must not re-render on each change of the
  // room; each panel subscribes to the fields it shows (useRoomFields).
  const roomId = useChatStore((s) => selectCurrentRoom(s)?.roomId ?? null);
  const newestId = useChatStore((s) => selectCurrentRoom(s)?.bb84.live.at(-1)?.sessionId ?? null);
  const newestRole = useChatStore((s) => selectCurrentRoom(s)?.bb84.live.at(-1)?.role ?? null);
  const phase = useChatStore((s) => s.phase);
  const [tab, setTab] = useState<RoomTab>("chat");
  const unread = useUnread(tab === "chat");
  // A session this tab starts from the member list: show its progress (on a phone the dashboard is behind a tab).
  // Adjusted while rendering (the previous newest session is kept in state), not in an effect.
  const [seenSession, setSeenSession] = useState(newestId);
  if (newestId && newestId !== seenSession) {
    setSeenSession(newestId);
    if (newestRole === "alice" && tab === "members") setTab("bb84");
  }
  if (!roomId) return null;
  // Below lg only the chosen tab shows; lg and up shows every section.
  const shown = (t: RoomTab | RoomTab[]) => ([] as RoomTab[]).concat(t).includes(tab);
  const hide = (t: RoomTab | RoomTab[]) => (shown(t) ? "" : "max-lg:hidden");
  return (
    <div className="flex h-dvh flex-col overflow-hidden" data-testid="room-page" data-room-id={roomId} data-phase={phase}>
      <UnreadTitle roomId={roomId} unread={unread} />
      <RoomHeader />
      <RoomTabs tab={tab} onChange={setTab} unread={unread} />
      <main className="flex min-h-0 flex-1 flex-col">
        {phase === "left" && <LeftBanner />}
        <Alerts />
        <Bb84Alarms />
        <div className="grid min-h-0 flex-1 grid-cols-[minmax(0,1fr)] gap-3 p-2 sm:p-3 lg:grid-cols-[16.5rem_minmax(0,1fr)_22rem]">
          <div id={TAB_PANEL_ID.members} className={`flex min-h-0 flex-col ${hide("members")}`}>
            <MembersPanel />
          </div>
          <section id={TAB_PANEL_ID.chat} aria-label="Conversation" className={`flex min-h-0 flex-col rounded-xl border border-line bg-panel ${hide("chat")}`}>
            <MessageList />
            <Composer />
          </section>
          <div
            className={`flex min-h-0 flex-col gap-3 overflow-y-auto ${hide(["bb84", "log"])}`}
            // Focusable, so the column can be scrolled with the keyboard (WCAG 2.1.1; axe scrollable-region-focusable).
            // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- a scrollable region must take focus to be scrolled without a mouse
            tabIndex={0}
            aria-label="BB84 dashboard and room log"
            data-testid="side-column"
          >
            <div id={TAB_PANEL_ID.bb84} className={`flex flex-col ${hide("bb84")}`}>
              <Bb84Panel />
            </div>
            <div id={TAB_PANEL_ID.log} className={`flex min-h-0 flex-1 flex-col ${hide("log")}`}>
              <LogPanel />
            </div>
          </div>
        </div>
      </main>
      <SimulationDrawer />
    </div>
  );
}
