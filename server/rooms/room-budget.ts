/**
 * The rooms-per-connection cap, reserved before the join awaits anything. The check used to run
 * first and the room be added to socket.data.rooms only after the database write, so 40 concurrent
 * joins all passed a cap of 16. A reservation counts until the join finishes (either way); a room
 * the socket is already in, or already joining, costs nothing more.
 */
import { LIMITS } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";

const joining = new WeakMap<QsecSocket, Map<string, number>>();

/** Reserves a room slot for this join, or refuses RATE_LIMITED; call the returned release when the join ends. */
export function reserveRoomSlot(socket: QsecSocket, roomId: string): () => void {
  let mine = joining.get(socket);
  if (!mine) joining.set(socket, (mine = new Map()));
  const inFlight = mine.get(roomId) ?? 0;
  if (!socket.data.rooms.has(roomId) && inFlight === 0) {
    let used = socket.data.rooms.size;
    for (const r of mine.keys()) if (!socket.data.rooms.has(r)) used += 1;
    if (used >= LIMITS.maxRoomsPerSocket) refuse("RATE_LIMITED", `one connection may be in at most ${LIMITS.maxRoomsPerSocket} rooms`);
  }
  mine.set(roomId, inFlight + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (mine.get(roomId) ?? 1) - 1;
    if (n <= 0) mine.delete(roomId);
    else mine.set(roomId, n);
  };
}
