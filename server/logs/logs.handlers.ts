import { registerCommand } from "../command";
import type { Deps, QsecSocket } from "../context";
import { memberRoom } from "../rooms/rooms.handlers";
import { fetchMemberLogs, visibleTo } from "./logs.repository";

export function registerLogs(deps: Deps, socket: QsecSocket): void {
  registerCommand(deps, socket, "logs:fetch", async (_s, p) => {
    memberRoom(deps, socket, p.roomId);
    const logs = await fetchMemberLogs(deps.prisma, p.roomId, socket.data.userId!, p.sinceId, p.limit ?? 200);
    return { logs };
  });
}

/** Pushes each stored row live to the members of its room who may see it. */
export function pushLogsLive(deps: Deps): () => void {
  return deps.logs.onWritten((entry) => {
    const room = deps.presence.rooms.get(entry.roomId);
    if (!room) return;
    for (const m of room.members.values()) {
      if (visibleTo(entry, m.userId)) deps.io.to(m.socketId).emit("log:appended", entry);
    }
  });
}
