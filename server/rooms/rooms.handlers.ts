/**
 * Rooms: join (creating the room for its first member), leave, disconnect, and the public-key list.
 * Every join and every leave starts a new key epoch; the epoch's leader (the present member with the
 * smallest user id) then makes a fresh room key and shares it with the others (keys.handlers.ts).
 */
import { randomBytes } from "node:crypto";
import { LIMITS } from "@/lib/protocol";
import { refuse, registerCommand } from "../command";
import type { Deps, QsecSocket } from "../context";
import type { LiveRoom } from "./presence";
import { channelOf, setRoomChannel } from "./channel";
import { loadOrCreateRoom, recordJoin, recordLeave } from "./rooms.repository";
import { withJoinCleanup } from "./join-cleanup";
import { reserveRoomSlot } from "./room-budget";

export function registerRooms(deps: Deps, socket: QsecSocket): void {
  registerCommand(deps, socket, "room:join", async (_s, p) => {
    const userId = socket.data.userId!;
    const keys = socket.data.keys!;
    const roomId = p.roomId ?? randomBytes(9).toString("base64url"); // 72 random bits, 12 characters
    const release = reserveRoomSlot(socket, roomId);
    return deps.presence.withRoom(roomId, () => withJoinCleanup(deps, roomId, async (onCreated) => {
      let room = deps.presence.rooms.get(roomId);
      let created = false;
      if (!room) {
        const loaded = await loadOrCreateRoom(deps.prisma, roomId, userId, p.capacity);
        created = loaded.created;
        if (created) onCreated();
        room = { id: roomId, epoch: loaded.room.epoch, capacity: loaded.room.capacity, channel: channelOf(loaded.room), members: new Map() };
        deps.presence.rooms.set(roomId, room);
      }
      const existing = room.members.get(userId);
      if (existing && existing.socketId === socket.id) return { ...deps.presence.state(room), you: userId, created: false };
      const capacity = room.capacity ?? LIMITS.maxRoomMembers;
      if (room.members.size >= capacity) refuse("ROOM_FULL", `room is full (${capacity} members)`);
      const wanted = p.displayName.toLocaleLowerCase();
      for (const m of room.members.values()) {
        if (m.userId !== userId && m.displayName.toLocaleLowerCase() === wanted) refuse("NAME_TAKEN", `"${p.displayName}" is already in this room; pick another name`);
      }

      const epoch = room.epoch + 1;
      await recordJoin(deps.prisma, roomId, { id: userId, displayName: p.displayName, signingKey: keys.signingKey, agreementKey: keys.agreementKey }, epoch);
      if (!socket.connected) refuse("NOT_AUTHENTICATED", "connection closed");
      if (created) deps.logs.append({ roomId, type: "ROOM_CREATED", actorId: userId, meta: { capacity: room.capacity } });
      room.epoch = epoch;
      room.members.set(userId, { userId, displayName: p.displayName, socketId: socket.id, ...keys, joinedAt: new Date() });
      socket.data.rooms.add(roomId);
      await socket.join(roomId);

      const state = deps.presence.state(room);
      deps.logs.append({ roomId, type: "MEMBER_JOINED", actorId: userId, meta: { displayName: p.displayName } });
      logEpoch(deps, room);
      deps.io.to(roomId).emit("room:updated", state);
      return { ...state, you: userId, created };
    })).finally(release);
  });

  registerCommand(deps, socket, "room:leave", async (_s, p) => {
    if (!socket.data.rooms.has(p.roomId)) refuse("NOT_A_MEMBER", "you are not in this room");
    await leaveRoom(deps, socket, p.roomId, "leave");
    return {};
  });

  registerCommand(deps, socket, "channel:set", async (_s, p) => {
    memberRoom(deps, socket, p.roomId);
    return { channel: await setRoomChannel(deps, p.roomId, p.channel, socket.data.userId!) };
  });

  registerCommand(deps, socket, "keys:list", async (_s, p) => {
    const room = memberRoom(deps, socket, p.roomId);
    return { members: deps.presence.state(room).members };
  });
}

/** The live room, if the socket is a present member of it; NOT_A_MEMBER otherwise. */
export function memberRoom(deps: Deps, socket: QsecSocket, roomId: string): LiveRoom {
  const room = deps.presence.rooms.get(roomId);
  const userId = socket.data.userId;
  if (!room || !userId || room.members.get(userId)?.socketId !== socket.id) refuse("NOT_A_MEMBER", "you are not in this room");
  return room;
}

export async function leaveRoom(deps: Deps, socket: QsecSocket, roomId: string, reason: "leave" | "disconnect" | "replaced"): Promise<void> {
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

export async function leaveAllRooms(deps: Deps, socket: QsecSocket, reason: "disconnect" | "replaced"): Promise<void> {
  await Promise.all([...socket.data.rooms].map((r) => leaveRoom(deps, socket, r, reason)));
}

function logEpoch(deps: Deps, room: LiveRoom) {
  const state = deps.presence.state(room);
  deps.logs.append({ roomId: room.id, type: "KEY_EPOCH_STARTED", actorId: state.leaderId, meta: { epoch: room.epoch, members: room.members.size } });
}
