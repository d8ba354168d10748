/**
 * Keys: the members' public keys (keys:list), room key distribution (roomkey:share) and the
 * acknowledgement of kept shares (roomkey:ack). The epoch's leader wraps a fresh AES-256-GCM room
 * key for each member under the pair's X25519-derived key and signs each share; the server only
 * checks who may send what, keeps each share as a key blob for its recipient (online or not) and
 * routes it to the recipient's connections. It cannot open a share (it holds no private key), and
 * it refuses shares for a stale epoch, from a non-leader, or to someone not a member.
 */
import { leaderOf } from "@/lib/protocol";
import { registerCommand, type CommandTable } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { onlineIds } from "../rooms/presence";
import { setEpochLeader } from "../rooms/rooms.repository";
import { ackShares, storeShares } from "./keyblob.repository";

export function registerKeys(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "keys:list", (socket, p) => listKeys(deps, socket, p));
  registerCommand(deps, commands, "roomkey:share", (socket, p) => shareRoomKey(deps, socket, p));
  registerCommand(deps, commands, "roomkey:ack", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    return { deleted: await ackShares(deps.prisma, p.roomId, socket.data.userId!, p.epochs) };
  });
}

async function listKeys(deps: Deps, socket: QsecSocket, p: CommandInput<"keys:list">): Promise<CommandResult<"keys:list">> {
  const room = deps.presence.requireMember(socket, p.roomId);
  return { members: deps.presence.state(room).members };
}

async function shareRoomKey(deps: Deps, socket: QsecSocket, p: CommandInput<"roomkey:share">): Promise<CommandResult<"roomkey:share">> {
  deps.presence.requireMember(socket, p.roomId);
  const from = socket.data.userId!;
  // Under the room's lock: the epoch, its leader and the member list can't change in between.
  return deps.presence.withRoom(p.roomId, async () => {
    const room = deps.presence.requireMember(socket, p.roomId);
    if (p.epoch !== room.epoch) refuse("STALE_EPOCH", `epoch ${p.epoch} is not current (${room.epoch})`);
    const leader = room.keyedBy ?? leaderOf(onlineIds(room));
    if (leader !== from) refuse("NOT_LEADER", "only the epoch's leader distributes the room key");
    const seen = new Set<string>();
    for (const s of p.shares) {
      // A share to oneself is allowed: kept as a blob, it lets the leader's other tabs and a reloaded tab read the epoch too.
      if (!room.members.has(s.to) || seen.has(s.to)) refuse("UNKNOWN_PEER", `share recipient ${s.to} is not a member (or named twice)`);
      seen.add(s.to);
    }
    await storeShares(deps.prisma, p.roomId, p.epoch, from, p.shares);
    if (room.keyedBy === null) {
      room.keyedBy = from;
      await setEpochLeader(deps.prisma, p.roomId, p.epoch, from);
    }
    for (const s of p.shares) {
      const target = room.members.get(s.to)!;
      for (const sid of target.sockets)
        if (sid !== socket.id)
          deps.io.to(sid).emit("roomkey:shared", { roomId: p.roomId, epoch: p.epoch, from, iv: s.iv, wrapped: s.wrapped, signature: s.signature });
      deps.logs.append({
        roomId: p.roomId,
        type: "KEY_SHARE_RELAYED",
        actorId: from,
        targetId: s.to,
        meta: { epoch: p.epoch, online: target.sockets.size > 0 },
      });
    }
    return { delivered: p.shares.length };
  });
}
