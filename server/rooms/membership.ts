/**
 * Leaving a room, for every reason a member goes: room:leave, a disconnect, or a newer connection
 * of the same identity replacing this one (auth.handlers.ts). Every leave starts a new key epoch,
 * like every join (rooms.handlers.ts), so the members still present are re-keyed.
 */
import type { Deps } from "../context";
import type { QsecSocket } from "../socket-types";
import type { LiveRoom } from "./presence";
import { recordLeave } from "./rooms.repository";

export type LeaveReason = "leave" | "disconnect" | "replaced";

export async function leaveRoom(deps: Deps, socket: QsecSocket, roomId: string, reason: LeaveReason): Promise<void> {
  const userId = socket.data.userId;
  socket.data.rooms.delete(roomId);
  if (!userId) return;
  await deps.presence.withRoom(roomId, async () => {
    const room = deps.presence.rooms.get(roomId);
    if (!room || room.members.get(userId)?.socketId !== socket.id) return;
    room.members.delete(userId);
    room.epoch += 1; // even when the room empties, so an old key is never current again
    void socket.leave(roomId);
    deps.logs.append({ roomId, type: "MEMBER_LEFT", actorId: userId, meta: { reason } });
    deps.bb84.memberLeft(roomId, userId);
    if (room.members.size > 0) {
      logEpoch(deps, room);
      deps.io.to(roomId).emit("room:updated", deps.presence.state(room));
    } else {
      deps.presence.rooms.delete(roomId);
    }
    await recordLeave(deps.prisma, roomId, userId, room.epoch);
  });
}

export async function leaveAllRooms(deps: Deps, socket: QsecSocket, reason: Exclude<LeaveReason, "leave">): Promise<void> {
  await Promise.all([...socket.data.rooms].map((r) => leaveRoom(deps, socket, r, reason)));
}

/** Logs the epoch a join or leave just started, with the leader who will make its room key. */
export function logEpoch(deps: Deps, room: LiveRoom) {
  const state = deps.presence.state(room);
  deps.logs.append({ roomId: room.id, type: "KEY_EPOCH_STARTED", actorId: state.leaderId, meta: { epoch: room.epoch, members: room.members.size } });
}
