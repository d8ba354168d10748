/**
 * A client-side cap on the members of a room. The server never lets more than
 * LIMITS.maxRoomMembers in; a hostile relay can claim any number, each a fresh identity whose
 * messages verify, to churn the client's replay windows and per-sender state. Past the cap the
 * client keeps itself and the first others the state lists, and says so.
 */
import { LIMITS, type RoomState } from "@/lib/protocol";

export function capRoomMembers<T extends RoomState>(state: T, selfId: string | null): { state: T; dropped: number; warning: string } {
  const max = LIMITS.maxRoomMembers;
  if (state.members.length <= max) return { state, dropped: 0, warning: "" };
  const me = state.members.filter((m) => m.userId === selfId).slice(0, 1);
  const others = state.members.filter((m) => m.userId !== selfId).slice(0, max - me.length);
  const dropped = state.members.length - me.length - others.length;
  const warning = `the server listed ${state.members.length} members; a room holds at most ${max}, the extra ${dropped} are ignored`;
  return { state: { ...state, members: [...me, ...others] }, dropped, warning };
}
