/**
 * Rooms: join (creating the room for its first member, or resuming a membership), leave and
 * removal. A new member's join starts a new key epoch, as does every end of a membership
 * (membership.ts); a member's connection coming back (a reload, another tab, a return after days)
 * does not: it gets the key shares kept for it (JoinResult.keyShares) instead.
 */
import { randomBytes } from "node:crypto";
import { LIMITS } from "@/lib/protocol";
import { registerCommand, type CommandTable } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { channelOf } from "../channel/channel.repository";
import type { LiveRoom } from "./presence";
import { endMembership, logEpoch } from "./membership";
import { createRoom, loadRoom, recordJoin, recordResume } from "./rooms.repository";
import { pendingShares } from "../keys/keyblob.repository";
import { withJoinCleanup } from "./join-cleanup";
import { reserveRoomSlot } from "./room-budget";

export function registerRooms(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "room:join", (socket, p) => joinRoom(deps, socket, p));
  registerCommand(deps, commands, "room:leave", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    await deps.presence.withRoom(p.roomId, () => endMembership(deps, p.roomId, socket.data.userId!, "leave", null));
    return {};
  });
  registerCommand(deps, commands, "room:remove", async (socket, p) => {
    const room = deps.presence.requireMember(socket, p.roomId);
    const me = socket.data.userId!;
    if (room.createdBy !== me) refuse("FORBIDDEN", "only the room's creator may remove members");
    if (p.userId === me) refuse("FORBIDDEN", "use room:leave to leave the room yourself");
    const removed = await deps.presence.withRoom(p.roomId, () => endMembership(deps, p.roomId, p.userId, "removed", me));
    if (!removed) refuse("UNKNOWN_PEER", "that user is not a member of this room");
    return {};
  });
}

/** The history days a new room gets: what its creator asked (default 30), capped by the server; null: ephemeral. */
function historyDaysFor(deps: Deps, mode: CommandInput<"room:join">["history"]): number | null {
  const cap = deps.config.historyDaysCap;
  if (mode === "ephemeral" || cap <= 0) return null;
  return Math.min(mode?.days ?? LIMITS.defaultHistoryDays, cap);
}

async function joinRoom(deps: Deps, socket: QsecSocket, p: CommandInput<"room:join">): Promise<CommandResult<"room:join">> {
  const userId = socket.data.userId!;
  const keys = socket.data.keys!;
  const roomId = p.roomId ?? randomBytes(9).toString("base64url"); // 72 random bits, 12 characters
  const release = reserveRoomSlot(socket, roomId);
  return deps.presence
    .withRoom(roomId, () =>
      withJoinCleanup(deps, roomId, async (onCreated) => {
        const { room, created } = await liveRoom(deps, roomId, userId, p.capacity, historyDaysFor(deps, p.history));
        if (created) onCreated();
        const wanted = p.displayName.toLocaleLowerCase();
        for (const m of room.members.values()) {
          if (m.userId !== userId && m.displayName.toLocaleLowerCase() === wanted)
            refuse("NAME_TAKEN", `"${p.displayName}" is already in this room; pick another name`);
        }
        const existing = room.members.get(userId);
        if (existing) return resume(deps, socket, room, p.displayName);

        const capacity = room.capacity ?? LIMITS.maxRoomMembers;
        if (room.members.size >= capacity) refuse("ROOM_FULL", `room is full (${capacity} members)`);
        const epoch = room.epoch + 1;
        await recordJoin(deps.prisma, roomId, { id: userId, displayName: p.displayName, ...keys }, epoch);
        if (!socket.connected) refuse("NOT_AUTHENTICATED", "connection closed");
        // Logged only once the join is stored: a join that fails leaves no room behind (join-cleanup.ts).
        if (created) deps.logs.append({ roomId, type: "ROOM_CREATED", actorId: userId, meta: { capacity: room.capacity, historyDays: room.historyDays } });
        room.epoch = epoch;
        room.keyedBy = null;
        const now = new Date();
        room.members.set(userId, {
          userId,
          displayName: p.displayName,
          ...keys,
          joinedAt: now,
          lastSeenAt: now,
          visibleFrom: epoch,
          sockets: new Set([socket.id]),
        });
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

/** A member's connection (re)joins: no new epoch; the shares kept for it come with the answer. */
async function resume(deps: Deps, socket: QsecSocket, room: LiveRoom, displayName: string): Promise<CommandResult<"room:join">> {
  const userId = socket.data.userId!;
  const keys = socket.data.keys!;
  const member = room.members.get(userId)!;
  // A connection recovered on this node after its node died keeps its id: it is in the member's
  // sockets (the old node's entry) but not yet in the room here.
  const already = member.sockets.has(socket.id) && socket.data.rooms.has(room.id);
  const wasOffline = member.sockets.size === 0;
  const renamed = member.displayName !== displayName;
  const keysChanged = member.agreementKey !== keys.agreementKey || member.agreementSig !== keys.agreementSig;
  if (!already || renamed || keysChanged) {
    await recordResume(deps.prisma, room.id, { id: userId, displayName, agreementKey: keys.agreementKey, agreementSig: keys.agreementSig });
  }
  const keyShares = await pendingShares(deps.prisma, room.id, userId);
  if (!socket.connected) refuse("NOT_AUTHENTICATED", "connection closed");
  member.displayName = displayName;
  member.agreementKey = keys.agreementKey;
  member.agreementSig = keys.agreementSig;
  if (!already) {
    member.sockets.add(socket.id);
    socket.data.rooms.add(room.id);
    await socket.join(room.id);
  }
  if (wasOffline) deps.logs.append({ roomId: room.id, type: "MEMBER_ONLINE", actorId: userId, meta: {} });
  const state = deps.presence.state(room);
  if (wasOffline || renamed || keysChanged) deps.io.to(room.id).emit("room:updated", state);
  return { ...state, you: userId, created: false, resumed: true, keyShares, visibleFrom: member.visibleFrom };
}

/** The room in presence, loading it (or creating it, for its first member) when nobody is connected to it. */
async function liveRoom(
  deps: Deps,
  roomId: string,
  userId: string,
  capacity: number | undefined,
  historyDays: number | null,
): Promise<{ room: LiveRoom; created: boolean }> {
  const present = deps.presence.rooms.get(roomId);
  if (present) return { room: present, created: false };
  const loaded = await loadRoom(deps.prisma, roomId);
  const row = loaded?.room ?? (await createRoom(deps.prisma, roomId, userId, capacity, historyDays));
  const room: LiveRoom = {
    id: roomId,
    epoch: row.epoch,
    capacity: row.capacity,
    createdBy: row.createdBy,
    historyDays: row.historyDays,
    keyedBy: row.epochLeaderId,
    channel: channelOf(row),
    members: new Map((loaded?.members ?? []).map((m) => [m.userId, { ...m, sockets: new Set<string>() }])),
  };
  deps.presence.rooms.set(roomId, room);
  return { room, created: !loaded };
}
