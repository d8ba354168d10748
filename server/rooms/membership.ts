/**
 * How members go, and how connections come and go without the member going.
 *
 * - A connection closing (tab closed, laptop lid, network) is not a leave: when it was the member's
 *   last connection in the room, the member is offline (lastSeenAt) and stays a member. No new epoch.
 * - A member's membership ends on room:leave (from any of its connections), removal by the room's
 *   creator, or expiry (away longer than the membership TTL, swept by server/history/sweeper.ts).
 *   Each of those starts a new key epoch, so the members who remain are re-keyed without them;
 *   every connection of the member receives `room:left` and is taken out of the room.
 */
import type { RoomLeftReason } from "@/lib/protocol";
import type { Deps } from "../context";
import type { QsecSocket } from "../socket-types";
import { onlineIds, onlineSocketCount, type LiveRoom } from "./presence";
import { recordLeave, recordOffline, roomEpoch } from "./rooms.repository";
import type { RedisState } from "../cluster/redis-state";

/** Ends a membership. Call inside presence.withRoom(roomId). Returns false when the user was not a member. */
export async function endMembership(deps: Deps, roomId: string, userId: string, reason: RoomLeftReason, by: string | null, ttlDays?: number): Promise<boolean> {
  const room = deps.presence.rooms.get(roomId);
  if (room) {
    const member = room.members.get(userId);
    if (!member) return false;
    const epoch = room.epoch + 1; // even when the room empties, so an old key is never current again
    await recordLeave(deps.prisma, roomId, userId, epoch);
    room.members.delete(userId);
    room.epoch = epoch;
    room.keyedBy = null;
    for (const sid of member.sockets) {
      const s = deps.io.sockets.sockets.get(sid);
      if (!s) {
        // On another node: it hears here, and takes the connection out of the room when the new
        // snapshot reaches it (Presence.hooks.evicted).
        deps.io.to(sid).emit("room:left", { roomId, reason, by });
        continue;
      }
      s.data.rooms.delete(roomId);
      void s.leave(roomId);
      s.emit("room:left", { roomId, reason, by });
    }
    logEnd(deps, roomId, userId, reason, by, ttlDays);
    deps.bb84.memberLeft(roomId, userId);
    if (onlineSocketCount(room) > 0) {
      logEpoch(deps, room);
      deps.io.to(roomId).emit("room:updated", deps.presence.state(room));
    } else {
      deps.presence.rooms.delete(roomId);
    }
    return true;
  }
  // Nobody is connected to the room: the database is the whole state.
  const current = await roomEpoch(deps.prisma, roomId);
  if (current === null) return false;
  const still = await deps.prisma.membership.count({ where: { roomId, userId, leftAt: null } });
  if (still === 0) return false;
  await recordLeave(deps.prisma, roomId, userId, current + 1);
  logEnd(deps, roomId, userId, reason, by, ttlDays);
  deps.logs.append({ roomId, type: "KEY_EPOCH_STARTED", actorId: null, meta: { epoch: current + 1, members: 0 } });
  return true;
}

function logEnd(deps: Deps, roomId: string, userId: string, reason: RoomLeftReason, by: string | null, ttlDays?: number) {
  if (reason === "leave") deps.logs.append({ roomId, type: "MEMBER_LEFT", actorId: userId, meta: { reason: "leave" } });
  else if (reason === "removed") deps.logs.append({ roomId, type: "MEMBER_REMOVED", actorId: by, targetId: userId, meta: {} });
  else deps.logs.append({ roomId, type: "MEMBER_EXPIRED", targetId: userId, meta: { ttlDays: ttlDays ?? null } });
}

/** A connection closed: it leaves each room it joined; the member goes offline when it was their last. */
export async function connectionClosed(deps: Deps, socket: QsecSocket): Promise<void> {
  const userId = socket.data.userId;
  const rooms = [...socket.data.rooms];
  socket.data.rooms.clear();
  if (!userId) return;
  await Promise.all(
    rooms.map((roomId) =>
      deps.presence.withRoom(roomId, async () => {
        const room = deps.presence.rooms.get(roomId);
        const member = room?.members.get(userId);
        if (!room || !member || !member.sockets.delete(socket.id)) return;
        if (member.sockets.size > 0) return; // another tab of the member is still here
        await wentOffline(deps, room, userId);
      }),
    ),
  );
}

/** A member's last connection in the room is gone: offline (lastSeenAt), logged, told to the room. Inside withRoom. */
async function wentOffline(deps: Deps, room: LiveRoom, userId: string) {
  const member = room.members.get(userId)!;
  const at = new Date();
  member.lastSeenAt = at;
  deps.logs.append({ roomId: room.id, type: "MEMBER_OFFLINE", actorId: userId, meta: {} });
  deps.bb84.memberLeft(room.id, userId);
  if (onlineSocketCount(room) === 0) deps.presence.rooms.delete(room.id);
  else deps.io.to(room.id).emit("room:updated", deps.presence.state(room));
  await recordOffline(deps.prisma, room.id, userId, at);
}

/**
 * Several nodes, Redis back after an outage: every room this node holds a copy of is stored again
 * under its lock (a restart lost the snapshot: this node's copy is stored, as on any touch, and the
 * room is listed again for the reaper), and this node's connections that closed meanwhile (their
 * going offline was refused while Redis was away) are taken out: members left with no connection
 * go offline, which the room is told. Each room on its own; a failure is logged.
 */
export async function reassertPresence(deps: Deps): Promise<void> {
  const self = deps.presence.shared.nodeId;
  await Promise.all(
    [...deps.presence.rooms.keys()].map((roomId) =>
      deps.presence
        .withRoom(roomId, async () => {
          const room = deps.presence.rooms.get(roomId);
          if (!room) return;
          const offline: string[] = [];
          for (const m of room.members.values()) {
            let lost = 0;
            for (const sid of [...m.sockets]) {
              if (deps.presence.hooks.isLocal(sid) || deps.presence.nodeOfSocket(sid) !== self) continue;
              m.sockets.delete(sid);
              lost += 1;
            }
            if (lost > 0 && m.sockets.size === 0) offline.push(m.userId);
          }
          for (const userId of offline) await wentOffline(deps, room, userId);
        })
        .catch((e: unknown) => deps.logger.warn("re-asserting a room's presence failed", { roomId, error: e instanceof Error ? e.message : String(e) })),
    ),
  );
}

/** Logs the epoch a join or an end of membership just started, with the leader who will make its room key. */
export function logEpoch(deps: Deps, room: LiveRoom) {
  const leader = room.keyedBy ?? (onlineIds(room).sort()[0] || null);
  deps.logs.append({ roomId: room.id, type: "KEY_EPOCH_STARTED", actorId: leader, meta: { epoch: room.epoch, members: room.members.size } });
}

/**
 * Several nodes: the BB84 sessions of nodes that stopped heart-beating end (NODE_LOST), and their
 * connections leave every room (their members go offline when it was their last connection, as on
 * a close); then those nodes are forgotten. Any live node may do it, more than one at once: each
 * session is ended by the node that takes it out of the dead node's set, each room under its lock.
 *
 * The sessions go first and each room on its own: a room that can't be had now (its lock is busy,
 * the database is slow) neither holds up the sessions' end nor the other rooms; the dead nodes are
 * forgotten only once every room is done, so a failed room is tried again on the next beat.
 */
export async function reapDeadNodes(deps: Deps, shared: RedisState): Promise<number> {
  const dead = new Set(await shared.deadNodes());
  if (dead.size === 0) return 0;
  let sessions = 0;
  for (const node of dead) sessions += await deps.bb84.endSessionsOf(node);
  let removed = 0;
  let failed = 0;
  for (const roomId of await shared.roomsWithPresence()) {
    try {
      removed += await reapRoom(deps, roomId, dead);
    } catch (e) {
      failed += 1;
      deps.logger.warn("reaping a room of stopped nodes failed; retried on the next beat", { roomId, error: e instanceof Error ? e.message : String(e) });
    }
  }
  if (failed === 0) for (const node of dead) await shared.forgetNode(node);
  deps.logger.info("connections of stopped nodes removed", { nodes: [...dead], connections: removed, bb84Sessions: sessions, roomsLeft: failed });
  return removed;
}

function reapRoom(deps: Deps, roomId: string, dead: Set<string>): Promise<number> {
  return deps.presence.withRoom(roomId, async () => {
    const room = deps.presence.rooms.get(roomId);
    if (!room) return 0;
    const gone: string[] = [];
    const at = new Date();
    for (const m of room.members.values()) {
      if (m.sockets.size === 0) continue;
      let lost = 0;
      for (const sid of [...m.sockets]) {
        if (!dead.has(deps.presence.nodeOfSocket(sid))) continue;
        m.sockets.delete(sid);
        gone.push(sid);
        lost += 1;
      }
      if (m.sockets.size > 0 || lost === 0) continue;
      m.lastSeenAt = at;
      deps.logs.append({ roomId, type: "MEMBER_OFFLINE", actorId: m.userId, meta: {} });
      deps.bb84.memberLeft(roomId, m.userId);
      await recordOffline(deps.prisma, roomId, m.userId, at);
    }
    if (gone.length === 0) return 0;
    deps.presence.forgetSockets(gone);
    if (onlineSocketCount(room) === 0) deps.presence.rooms.delete(roomId);
    else deps.io.to(roomId).emit("room:updated", deps.presence.state(room));
    return gone.length;
  });
}
