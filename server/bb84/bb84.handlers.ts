/**
 * BB84 relay: opaque binary frames between two present members of a room. The frames are encrypted
 * and authenticated by the pair, so the relay sees neither the simulated photons nor the classical
 * discussion, only their sizes.
 */
import { refuse, registerCommand } from "../command";
import type { Deps, QsecSocket } from "../context";
import { memberRoom } from "../rooms/rooms.handlers";
import { backedUp } from "../backpressure";

export function registerBb84(deps: Deps, socket: QsecSocket): void {
  registerCommand(deps, socket, "bb84:relay", async (_s, p) => {
    const room = memberRoom(deps, socket, p.roomId);
    const from = socket.data.userId!;
    const target = room.members.get(p.to);
    if (!target || p.to === from) refuse("UNKNOWN_PEER", "the peer is not another present member of this room");
    const frame = p.frame instanceof ArrayBuffer ? new Uint8Array(p.frame) : p.frame;
    if (!socket.data.frameBytes.take(frame.byteLength)) refuse("RATE_LIMITED", "too many BB84 bytes per second; slow down");
    if (backedUp(deps, target.socketId)) refuse("RATE_LIMITED", "the peer is not keeping up; retry shortly");
    deps.io.to(target.socketId).emit("bb84:frame", { roomId: p.roomId, from, sessionId: p.sessionId, frame });
    deps.logs.append({ roomId: p.roomId, type: "BB84_RELAYED", actorId: from, targetId: p.to, meta: { sessionId: p.sessionId, bytes: frame.byteLength }, coalesceKey: `bb84|${p.roomId}|${from}|${p.to}|${p.sessionId}` });
    return {};
  });
}
