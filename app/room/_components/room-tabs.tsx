"use client";
import { useRoomFields } from "@/lib/ui/chat-store";

/** The room's sections; on a phone one shows at a time, chat first (Signal and Element put the conversation first too). */
export type RoomTab = "chat" | "members" | "bb84" | "log";

export const TAB_PANEL_ID: Record<RoomTab, string> = { chat: "room-chat", members: "room-members", bb84: "room-bb84", log: "room-log" };

const LABELS: Record<RoomTab, string> = { chat: "Chat", members: "Members", bb84: "BB84", log: "Log" };

/** Tabs under the header below the lg breakpoint; the desktop shows every section side by side instead. */
export function RoomTabs({ tab, onChange, unread }: { tab: RoomTab; onChange: (t: RoomTab) => void; unread: number }) {
  const room = useRoomFields("members", "bb84");
  const running = room?.bb84.live.some((l) => l.status === "running") ?? false;
  const tabs: RoomTab[] = ["chat", "members", "bb84", "log"];
  return (
    <div role="tablist" aria-label="Room sections" className="flex shrink-0 border-b border-line bg-panel px-1 lg:hidden" data-testid="room-tabs">
      {tabs.map((t) => (
        <button
          key={t}
          type="button"
          role="tab"
          id={`tab-${t}`}
          aria-selected={tab === t}
          aria-controls={TAB_PANEL_ID[t]}
          onClick={() => onChange(t)}
          onKeyDown={(e) => {
            // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
            const i = tabs.indexOf(t);
            const next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
            if (next) {
              e.preventDefault();
              onChange(next);
              document.getElementById(`tab-${next}`)?.focus();
            }
          }}
          tabIndex={tab === t ? 0 : -1}
          data-testid={`room-tab-${t}`}
          className={`flex flex-1 items-center justify-center gap-1.5 whitespace-nowrap border-b-2 px-1 py-2.5 text-sm font-medium ${tab === t ? "border-accent text-fg" : "border-transparent text-muted hover:text-fg"}`}
        >
          {LABELS[t]}
          {t === "members" && room && <span className="text-xs text-muted">{room.members.length}</span>}
          {t === "chat" && unread > 0 && tab !== "chat" && (
            <span className="rounded-full bg-accent px-1.5 text-[11px] font-semibold text-accent-fg" data-testid="tab-unread">
              {unread}
              <span className="sr-only"> unread</span>
            </span>
          )}
          {t === "bb84" && running && <span className="h-2 w-2 rounded-full bg-accent" aria-hidden="true" />}
        </button>
      ))}
    </div>
  );
}
