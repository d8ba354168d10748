"use client";
import Link from "next/link";
import { useSyncExternalStore } from "react";
import { forgetRoom, roomsSnapshot, subscribeRooms, type YourRoom } from "@/lib/ui/your-rooms";

const none: YourRoom[] = [];

/** The rooms this browser's identity joined (localStorage), newest first, one click to go back. */
export function YourRooms() {
  const rooms = useSyncExternalStore(subscribeRooms, roomsSnapshot, () => none);
  if (rooms.length === 0) return null;
  return (
    <section aria-labelledby="your-rooms" className="rounded-2xl border border-line bg-panel p-6 shadow-sm" data-testid="your-rooms">
      <h2 id="your-rooms" className="text-lg font-semibold">
        Your rooms
      </h2>
      <p className="mt-1 text-sm text-muted">Rooms this browser joined. Every tab comes back as the same member.</p>
      <ul className="mt-4 space-y-2">
        {rooms.map((r) => (
          <li key={r.roomId} className="flex items-center justify-between gap-2" data-testid="your-room" data-room-id={r.roomId}>
            <Link
              href={`/room/${encodeURIComponent(r.roomId)}`}
              className="min-w-0 flex-1 truncate rounded-md border border-line bg-panel-2 px-3 py-2 text-sm hover:border-accent/60"
              aria-label={`Open room ${r.roomId} as ${r.name}`}
            >
              <span className="font-mono text-accent">{r.roomId}</span> <span className="text-muted">as {r.name}</span>
            </Link>
            <button
              type="button"
              className="rounded-md px-2 py-1 text-xs text-muted hover:text-fg"
              aria-label={`Remove room ${r.roomId} from this list`}
              onClick={() => {
                forgetRoom(r.roomId);
                window.dispatchEvent(new StorageEvent("storage", { key: "qsec:rooms" }));
              }}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
