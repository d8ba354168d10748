"use client";
import { useChatStore, useCurrentRoom } from "@/lib/ui/chat-store";
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

/** The room: header, BB84 alarms, then members | conversation | BB84 dashboard + room log; one column on small screens. */
export function RoomLayout() {
  const room = useCurrentRoom();
  const phase = useChatStore((s) => s.phase);
  if (!room) return null;
  return (
    <div className="flex min-h-dvh flex-col lg:h-dvh" data-testid="room-page" data-room-id={room.roomId} data-phase={phase}>
      <RoomHeader />
      {phase === "left" && <LeftBanner />}
      <Alerts />
      <Bb84Alarms />
      <div className="grid flex-1 gap-3 p-3 lg:min-h-0 lg:grid-cols-[16.5rem_minmax(0,1fr)_22rem]">
        <MembersPanel />
        <section aria-label="Conversation" className="flex min-h-[28rem] flex-col rounded-xl border border-line bg-panel lg:min-h-0">
          <MessageList />
          <Composer />
        </section>
        <div className="flex min-h-0 flex-col gap-3 lg:overflow-y-auto">
          <Bb84Panel />
          <LogPanel />
        </div>
      </div>
      <SimulationDrawer />
    </div>
  );
}
