/**
 * A join that fails part-way (a refusal, a database error, the socket closing) must leave nothing
 * behind: no live room in presence with nobody connected (it would sit outside every
 * per-connection cap) and, when this join created the room, no Room row either. Runs inside
 * presence.withRoom, so no other join or leave of the room interleaves with the cleanup.
 */
import type { Deps } from "../context";
import { onlineSocketCount } from "./presence";
import { deleteRoom } from "./rooms.repository";

export async function withJoinCleanup<T>(deps: Deps, roomId: string, join: (onCreated: () => void) => Promise<T>): Promise<T> {
  let created = false;
  try {
    return await join(() => {
      created = true;
    });
  } catch (err) {
    const room = deps.presence.rooms.get(roomId);
    if (room && onlineSocketCount(room) === 0) deps.presence.rooms.delete(roomId);
    if (created && (!room || room.members.size === 0)) {
      await deleteRoom(deps.prisma, roomId).catch((e: unknown) =>
        deps.logger.error("cleanup of a failed join failed", { roomId, error: e instanceof Error ? e.message : String(e) }),
      );
    }
    throw err;
  }
}
