/** Derived values components read from the store; pure, so hooks and tests share them. */
import type { ChatState, RoomView } from "@/lib/client";
import type { ChatStore } from "./types";

/** The room this tab shows: live while joined, the last snapshot after leaving. */
export function selectCurrentRoom(s: ChatStore): RoomView | null {
  return s.roomId ? (s.snapshot?.rooms[s.roomId] ?? (s.phase === "left" ? s.frozenRoom : null)) : null;
}

export function selectConnection(s: ChatStore): ChatState["connection"] | "idle" {
  return s.snapshot?.connection ?? "idle";
}
