"use client";
import Link from "next/link";
import { useChatStore, useConnection, useCurrentRoom } from "@/lib/ui/chat-store";
import { useCopy } from "@/lib/ui/clipboard";
import { roomLink } from "@/lib/ui/format";
import { Button, Logo } from "@/app/_components/ui";

const CONNECTION: Record<string, { label: string; dot: string }> = {
  online: { label: "Online", dot: "bg-ok" },
  connecting: { label: "Connecting…", dot: "bg-warn animate-pulse" },
  authenticating: { label: "Authenticating…", dot: "bg-warn animate-pulse" },
  offline: { label: "Offline", dot: "bg-danger" },
  idle: { label: "Not connected", dot: "bg-muted" },
};

export function RoomHeader() {
  const room = useCurrentRoom();
  const phase = useChatStore((s) => s.phase);
  const leave = useChatStore((s) => s.leave);
  const simOpen = useChatStore((s) => s.simulationOpen);
  const setSimOpen = useChatStore((s) => s.setSimulationOpen);
  const connection = useConnection();
  const [copyState, copy] = useCopy();
  if (!room) return null;
  const conn = CONNECTION[connection] ?? CONNECTION.idle;

  return (
    <header className="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-line bg-panel px-4 py-2.5">
      <Link href="/" aria-label="QSEC home">
        <Logo />
      </Link>
      <div className="flex min-w-0 items-center gap-2">
        <span className="text-sm text-muted">Room</span>
        <span className="truncate font-mono text-sm font-semibold" data-testid="room-id">
          {room.roomId}
        </span>
        <Button variant="ghost" className="px-2 py-1 text-xs" onClick={() => copy(roomLink(window.location.origin, room.roomId))} data-testid="copy-room-link">
          {copyState === "copied" ? "Link copied" : copyState === "failed" ? "Copy failed" : "Copy link"}
        </Button>
      </div>

      <div className="ml-auto flex flex-wrap items-center gap-2">
        <span className="inline-flex items-center gap-1.5 rounded-full border border-line px-2.5 py-1 text-xs" data-testid="connection-state" data-state={connection} role="status" aria-live="polite">
          <span className={`h-2 w-2 rounded-full ${conn.dot}`} aria-hidden="true" />
          {conn.label}
        </span>
        <KeyStatus epoch={room.epoch} keyEpoch={room.keyEpoch} waiting={room.waitingForKey} />
        <Button variant="secondary" onClick={() => setSimOpen(!simOpen)} aria-expanded={simOpen} data-testid="simulation-toggle" title="Noise, loss and eavesdropper of this room's simulated quantum channel">
          Simulation controls
          {room.channel.eve > 0 && (
            <span className="rounded-full bg-danger/15 px-1.5 text-[11px] font-semibold text-danger" data-testid="simulation-eve-flag">
              Eve {Math.round(room.channel.eve * 100)}%
            </span>
          )}
        </Button>
        {phase === "joined" ? (
          <Button variant="danger" onClick={() => void leave()} data-testid="leave-button">
            Leave
          </Button>
        ) : (
          <span className="text-xs text-warn" data-testid="left-state">
            left
          </span>
        )}
      </div>
    </header>
  );
}

/** The room's current epoch and whether this tab holds that epoch's key. */
function KeyStatus({ epoch, keyEpoch, waiting }: { epoch: number; keyEpoch: number | null; waiting: boolean }) {
  const ready = keyEpoch !== null && keyEpoch === epoch && !waiting;
  return (
    <span
      className={`inline-flex items-center gap-1.5 rounded-full border px-2.5 py-1 text-xs ${ready ? "border-ok/40 bg-ok/10" : "border-warn/50 bg-warn/10"}`}
      data-testid="key-status"
      data-ready={ready ? "true" : "false"}
      data-key-epoch={keyEpoch ?? "none"}
      title="A new key epoch starts whenever a member joins or leaves."
    >
      <span className="text-muted">Epoch</span>
      <span className="font-mono font-semibold" data-testid="epoch">
        {epoch}
      </span>
      <span aria-hidden="true" className="text-muted">
        ·
      </span>
      {ready ? (
        <span className="font-medium text-ok">key ready</span>
      ) : (
        <span className="font-medium text-warn">waiting for key</span>
      )}
    </span>
  );
}
