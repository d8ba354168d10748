"use client";
import Link from "next/link";
import { useChatStore, useConnection, useRoomFields } from "@/lib/ui/chat-store";
import { useCopy } from "@/lib/ui/clipboard";
import { roomLink } from "@/lib/ui/format";
import { Button, Logo } from "@/app/_components/ui";
import { ThemeToggle } from "@/app/_components/theme-toggle";
import { LeaveButton } from "./leave-button";
import { NotificationToggle } from "./notifications";
import { KeyBackupButton } from "./key-backup-dialog";

const CONNECTION: Record<string, { label: string; dot: string }> = {
  online: { label: "Online", dot: "bg-ok" },
  connecting: { label: "Connecting…", dot: "bg-warn animate-pulse" },
  authenticating: { label: "Authenticating…", dot: "bg-warn animate-pulse" },
  offline: { label: "Offline", dot: "bg-danger" },
  idle: { label: "Not connected", dot: "bg-muted" },
};

export function RoomHeader() {
  const room = useRoomFields("channel", "epoch", "keyEpoch", "roomId", "waitingForKey");
  const phase = useChatStore((s) => s.phase);
  const leave = useChatStore((s) => s.leave);
  const simOpen = useChatStore((s) => s.simulationOpen);
  const setSimOpen = useChatStore((s) => s.setSimulationOpen);
  const connection = useConnection();
  const [copyState, copy] = useCopy();
  if (!room) return null;

  // After leaving, the socket may still be up, but this room is not: say so instead of "Online".
  const conn = phase === "left" ? { label: "Left the room", dot: "bg-muted" } : (CONNECTION[connection] ?? CONNECTION.idle);

  return (
    <header className="flex min-w-0 shrink-0 items-center gap-2 border-b border-line bg-panel px-3 py-2 sm:gap-4 sm:px-4 sm:py-2.5" data-testid="room-header">
      <Link href="/" aria-label="QSEC home" className="shrink-0">
        {/* On a phone the lock icon alone: the header stays one row. */}
        <Logo className="max-sm:gap-0 max-sm:text-[0px]" />
      </Link>
      <div className="flex min-w-0 flex-1 items-center gap-1 sm:gap-2">
        <span className="text-sm text-muted max-sm:hidden">Room</span>
        <h1 className="min-w-0 truncate font-mono text-sm font-semibold" title={room.roomId}>
          <span className="sr-only">Room </span>
          <span data-testid="room-id">{room.roomId}</span>
        </h1>
        <Button
          variant="ghost"
          className="shrink-0 px-2 py-1 text-xs"
          onClick={() => copy(roomLink(window.location.origin, room.roomId))}
          data-testid="copy-room-link"
        >
          <svg viewBox="0 0 20 20" className="h-4 w-4 sm:hidden" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
            <path
              d="M8.5 11.5a3 3 0 0 0 4.2 0l2.8-2.8a3 3 0 0 0-4.2-4.2L10 5.8M11.5 8.5a3 3 0 0 0-4.2 0l-2.8 2.8a3 3 0 0 0 4.2 4.2l1.3-1.3"
              strokeLinecap="round"
            />
          </svg>
          <span className="max-sm:sr-only">{copyState === "copied" ? "Link copied" : copyState === "failed" ? "Copy failed" : "Copy link"}</span>
        </Button>
      </div>

      <div className="flex shrink-0 items-center gap-1.5 sm:gap-2">
        <span
          className="inline-flex items-center gap-1.5 rounded-full border border-line px-2 py-1 text-xs max-sm:border-0 max-sm:px-1 sm:px-2.5"
          data-testid="connection-state"
          data-state={phase === "left" ? "left" : connection}
          role="status"
          aria-live="polite"
        >
          <span className={`h-2 w-2 rounded-full ${conn.dot}`} aria-hidden="true" />
          <span className="max-sm:sr-only">{conn.label}</span>
        </span>
        <KeyStatus epoch={room.epoch} keyEpoch={room.keyEpoch} waiting={room.waitingForKey} left={phase === "left"} />
        <Button
          variant="secondary"
          className="max-lg:hidden"
          onClick={() => setSimOpen(!simOpen)}
          aria-expanded={simOpen}
          data-testid="simulation-toggle"
          title="Noise, loss and eavesdropper of this room's simulated quantum channel"
        >
          Simulation controls
          {room.channel.eve > 0 && (
            <span className="rounded-full bg-danger/15 px-1.5 text-[11px] font-semibold text-danger" data-testid="simulation-eve-flag">
              Eve {Math.round(room.channel.eve * 100)}%
            </span>
          )}
        </Button>
        <KeyBackupButton />
        {/* On a phone the header keeps its one row for the room; the landing page has the toggle too. */}
        <NotificationToggle className="max-sm:hidden" />
        <ThemeToggle className="max-sm:hidden" />
        {phase === "joined" ? (
          <LeaveButton onLeave={() => void leave()} roomId={room.roomId} />
        ) : (
          <span className="text-xs text-warn" data-testid="left-state">
            left
          </span>
        )}
      </div>
    </header>
  );
}

/** The room's current epoch and whether this tab holds that epoch's key (after leaving: it gets no new ones). */
function KeyStatus({ epoch, keyEpoch, waiting, left }: { epoch: number; keyEpoch: number | null; waiting: boolean; left: boolean }) {
  const ready = !left && keyEpoch !== null && keyEpoch === epoch && !waiting;
  return (
    <span
      className={`inline-flex items-center gap-1.5 rounded-full border px-2 py-1 text-xs sm:px-2.5 ${left ? "border-line" : ready ? "border-ok/40 bg-ok/10" : "border-warn/50 bg-warn/10"}`}
      data-testid="key-status"
      data-ready={ready ? "true" : "false"}
      data-key-epoch={keyEpoch ?? "none"}
      title="A new key epoch starts whenever a member joins or leaves."
    >
      <span className="text-muted max-sm:sr-only">Epoch</span>
      <span className="font-mono font-semibold" data-testid="epoch">
        {epoch}
      </span>
      <span aria-hidden="true" className="text-muted max-sm:hidden">
        ·
      </span>
      {left ? (
        <span className="text-muted max-sm:sr-only">no new keys</span>
      ) : ready ? (
        <span className="font-medium text-ok max-sm:sr-only">key ready</span>
      ) : (
        <span className="font-medium text-warn max-sm:sr-only">waiting for key</span>
      )}
      <span aria-hidden="true" className={`h-2 w-2 rounded-full sm:hidden ${left ? "bg-muted" : ready ? "bg-ok" : "animate-pulse bg-warn"}`} />
    </span>
  );
}
