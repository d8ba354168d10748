/**
 * Keys: the present members' public keys (keys:list), and room key distribution (roomkey:share).
 * The epoch's leader wraps a fresh AES-256-GCM room key for each member under the pair's
 * X25519-derived key and signs each share; the server only checks who may send what and routes
 * each share to its one recipient. It cannot open a share (it holds no private key), and it
 * refuses shares for a stale epoch, from a non-leader, or to someone not present.
 */
import { leaderOf } from "@/lib/protocol";
import { registerCommand } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";

export function registerKeys(deps: Deps, socket: QsecSocket): void {
  registerCommand(deps, socket, "keys:list", (_s, p) => listKeys(deps, socket, p));
  registerCommand(deps, socket, "roomkey:share", (_s, p) => shareRoomKey(deps, socket, p));
}

async function listKeys(deps: Deps, socket: QsecSocket, p: CommandInput<"keys:list">): Promise<CommandResult<"keys:list">> {
  const room = deps.presence.requireMember(socket, p.roomId);
  return { members: deps.presence.state(room).members };
}

async function shareRoomKey(deps: Deps, socket: QsecSocket, p: CommandInput<"roomkey:share">): Promise<CommandResult<"roomkey:share">> {
  const room = deps.presence.requireMember(socket, p.roomId);
  const from = socket.data.userId!;
  if (p.epoch !== room.epoch) refuse("STALE_EPOCH", `epoch ${p.epoch} is not current (${room.epoch})`);
  if (leaderOf([...room.members.keys()]) !== from) refuse("NOT_LEADER", "only the epoch's leader distributes the room key");
  const seen = new Set<string>();
  for (const s of p.shares) {
    if (s.to === from || !room.members.has(s.to) || seen.has(s.to)) refuse("UNKNOWN_PEER", `share recipient ${s.to} is not another present member`);
    seen.add(s.to);
  }
  for (const s of p.shares) {
    const target = room.members.get(s.to)!;
    deps.io.to(target.socketId).emit("roomkey:shared", { roomId: p.roomId, epoch: p.epoch, from, iv: s.iv, wrapped: s.wrapped, signature: s.signature });
    deps.logs.append({ roomId: p.roomId, type: "KEY_SHARE_RELAYED", actorId: from, targetId: s.to, meta: { epoch: p.epoch } });
  }
  return { delivered: p.shares.length };
}
