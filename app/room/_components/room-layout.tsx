"use client";
import { useChatStore, useCurrentRoom } from "@/lib/ui/chat-store";
import { RoomHeader } from "./room-header";
import { MembersPanel } from "./members-panel";
import { MessageList } from "./message-list";
import { Composer } from "./composer";
import { LogPanel } from "./log-panel";
import { QberPlaceholder } from "./qber-placeholder";
import { LeftBanner } from "./left-banner";
import { Alerts } from "./alerts";

/** The room: header, then members | conversation | BB84 + room log; one column on small screens. */
export function RoomLayout() {
  const room = useCurrentRoom();
  const phase = useChatStore((s) => s.phase);
  if (!room) return null;
  return (
    <div className="flex min-h-dvh flex-col lg:h-dvh" data-testid="room-page" data-room-id={room.roomId} data-phase={phase}>
      <RoomHeader />
      {phase === "left" && <LeftBanner />}
      <Alerts />
      <div className="grid flex-1 gap-3 p-3 lg:min-h-0 lg:grid-cols-[16.5rem_minmax(0,1fr)_20rem]">
        <MembersPanel />
        <section aria-label="Conversation" className="flex min-h-[28rem] flex-col rounded-xl border border-line bg-panel lg:min-h-0">
          <MessageList />
          <Composer />
        </section>
        <div className="flex min-h-0 flex-col gap-3">
          <QberPlaceholder />
          <LogPanel />
        </div>
      </div>
    </div>
  );
}
