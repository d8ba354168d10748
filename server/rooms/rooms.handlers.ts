/**
 * Rooms: join (creating the room for its first member) and leave. Every join and every leave starts
 * a new key epoch; the epoch's leader (the present member with the smallest user id) then makes a
 * fresh room key and shares it with the others (keys.handlers.ts). Leaving, for any reason, is
 * membership.ts.
 */
import { randomBytes } from "node:crypto";
import { LIMITS } from "@/lib/protocol";
import { registerCommand } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { channelOf } from "../channel/channel.repository";
import type { LiveRoom } from "./presence";
import { leaveRoom, logEpoch } from "./membership";
import { loadOrCreateRoom, recordJoin } from "./rooms.repository";
import { withJoinCleanup } from "./join-cleanup";
import { reserveRoomSlot } from "./room-budget";

export function registerRooms(deps: Deps, socket: QsecSocket): void {
  registerCommand(deps, socket, "room:join", (_s, p) => joinRoom(deps, socket, p));
  registerCommand(deps, socket, "room:leave", async (_s, p) => {
    if (!socket.data.rooms.has(p.roomId)) refuse("NOT_A_MEMBER", "you are not in this room");
    await leaveRoom(deps, socket, p.roomId, "leave");
    return {};
  });
}

async function joinRoom(deps: Deps, socket: QsecSocket, p: CommandInput<"room:join">): Promise<CommandResult<"room:join">> {
  const userId = socket.data.userId!;
  const keys = socket.data.keys!;
  const roomId = p.roomId ?? randomBytes(9).toString("base64url"); // 72 random bits, 12 characters
  const release = reserveRoomSlot(socket, roomId);
  return deps.presence
    .withRoom(roomId, () =>
      withJoinCleanup(deps, roomId, async (onCreated) => {
        const { room, created } = await liveRoom(deps, roomId, userId, p.capacity);
        if (created) onCreated();
        const existing = room.members.get(userId);
        if (existing && existing.socketId === socket.id)
          return { ...deps.presence.state(room), you: userId, created: false, resumed: true, keyShares: [], visibleFrom: room.epoch };
        const capacity = room.capacity ?? LIMITS.maxRoomMembers;
        if (room.members.size >= capacity) refuse("ROOM_FULL", `room is full (${capacity} members)`);
        const wanted = p.displayName.toLocaleLowerCase();
        for (const m of room.members.values()) {
          if (m.userId !== userId && m.displayName.toLocaleLowerCase() === wanted)
            refuse("NAME_TAKEN", `"${p.displayName}" is already in this room; pick another name`);
        }

        const epoch = room.epoch + 1;
        await recordJoin(deps.prisma, roomId, { id: userId, displayName: p.displayName, signingKey: keys.signingKey, agreementKey: keys.agreementKey }, epoch);
        if (!socket.connected) refuse("NOT_AUTHENTICATED", "connection closed");
        // Logged only once the join is stored: a join that fails leaves no room behind (join-cleanup.ts).
        if (created) deps.logs.append({ roomId, type: "ROOM_CREATED", actorId: userId, meta: { capacity: room.capacity } });
        room.epoch = epoch;
        room.members.set(userId, { userId, displayName: p.displayName, socketId: socket.id, ...keys, joinedAt: new Date() });
        socket.data.rooms.add(roomId);
        await socket.join(roomId);

        const state = deps.presence.state(room);
        deps.logs.append({ roomId, type: "MEMBER_JOINED", actorId: userId, meta: { displayName: p.displayName } });
        logEpoch(deps, room);
        deps.io.to(roomId).emit("room:updated", state);
        return { ...state, you: userId, created, resumed: false, keyShares: [], visibleFrom: epoch };
      }),
    )
    .finally(release);
}

/** The room in presence, loading it (or creating it, for its first member) when nobody is in it. */
async function liveRoom(deps: Deps, roomId: string, userId: string, capacity: number | undefined): Promise<{ room: LiveRoom; created: boolean }> {
  const present = deps.presence.rooms.get(roomId);
  if (present) return { room: present, created: false };
  const loaded = await loadOrCreateRoom(deps.prisma, roomId, userId, capacity);
  const room: LiveRoom = { id: roomId, epoch: loaded.room.epoch, capacity: loaded.room.capacity, channel: channelOf(loaded.room), members: new Map() };
  deps.presence.rooms.set(roomId, room);
  return { room, created: loaded.created };
}
