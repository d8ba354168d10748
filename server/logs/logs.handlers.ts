import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import type { LogEntry } from "@/lib/protocol";
import { PRIVATE_LOG_TYPES, visibleTo } from "./logs.repository";
import { fetchMemberLogsPaged } from "./paged-fetch";

export function registerLogs(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "logs:fetch", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    const logs = await fetchMemberLogsPaged(deps.prisma, p.roomId, socket.data.userId!, p.sinceId, p.limit ?? 200, { beforeId: p.beforeId, events: p.events });
    return { logs };
  });
}

/**
 * Pushes stored rows live, batched per flush: rows every member may see go to the room as one
 * broadcast (Socket.IO encodes it once); private rows go only to the members allowed to see them.
 */
export function pushLogsLive(deps: Deps): () => void {
  return deps.logs.onWritten((entries) => {
    const byRoom = new Map<string, LogEntry[]>();
    for (const e of entries) {
      if (!deps.presence.rooms.has(e.roomId)) continue;
      const list = byRoom.get(e.roomId);
      if (list) list.push(e);
      else byRoom.set(e.roomId, [e]);
    }
    for (const [roomId, list] of byRoom) {
      const room = deps.presence.rooms.get(roomId)!;
      const shared = list.filter((e) => !PRIVATE_LOG_TYPES.has(e.type));
      if (shared.length > 0) deps.io.to(roomId).emit("log:appended", { roomId, entries: shared });
      const restricted = list.filter((e) => PRIVATE_LOG_TYPES.has(e.type));
      if (restricted.length === 0) continue;
      for (const m of room.members.values()) {
        if (m.sockets.size === 0) continue;
        const mine = restricted.filter((e) => visibleTo(e, m.userId));
        if (mine.length > 0) deps.io.to([...m.sockets]).emit("log:appended", { roomId, entries: mine });
      }
    }
  });
}
