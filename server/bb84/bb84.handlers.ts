/**
 * BB84 between two online members of a room. The server starts a session (chooses its id,
 * snapshots the room's channel settings, tells the room), relays opaque binary frames only between
 * the session's two parties, and stores the non-secret summary the parties report. The frames are
 * encrypted and authenticated by the pair, so the relay sees neither the simulated photons nor the
 * classical discussion, only their sizes.
 */
import type { Bb84Frame } from "@/lib/protocol";
import { DEFAULT_QBER_THRESHOLD } from "@/lib/qkd/finite-key";
import { registerCommand, type CommandTable } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { backedUp } from "../backpressure";
import { findSession, listSessions } from "./bb84.repository";

export function registerBb84(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "bb84:start", (socket, p) => startSession(deps, socket, p));
  registerCommand(deps, commands, "bb84:relay", (socket, p) => relayFrame(deps, socket, p));
  registerCommand(deps, commands, "bb84:report", (socket, p) => reportOutcome(deps, socket, p));
  registerCommand(deps, commands, "bb84:list", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    return { sessions: await listSessions(deps.prisma, p.roomId, p.limit ?? 100) };
  });
}

async function startSession(deps: Deps, socket: QsecSocket, p: CommandInput<"bb84:start">): Promise<CommandResult<"bb84:start">> {
  const room = deps.presence.requireMember(socket, p.roomId);
  const me = socket.data.userId!;
  const peer = room.members.get(p.peerId);
  if (p.peerId === me || !peer) refuse("UNKNOWN_PEER", "the peer is not another member of this room");
  if (peer.sockets.size === 0) refuse("PEER_OFFLINE", "the peer is offline; BB84 needs both parties connected");
  // The BUSY caps (one session per pair in a room, LIMITS.maxBb84SessionsPerMember per member) are
  // checked by start(), over every node's sessions, in the same step that registers this one.
  return deps.bb84.start({
    roomId: p.roomId,
    aliceId: me,
    bobId: p.peerId,
    qubits: p.qubits,
    cascadeVariant: p.cascadeVariant,
    qberThreshold: DEFAULT_QBER_THRESHOLD,
    channel: room.channel,
  });
}

async function relayFrame(deps: Deps, socket: QsecSocket, p: CommandInput<"bb84:relay">): Promise<CommandResult<"bb84:relay">> {
  const room = deps.presence.requireMember(socket, p.roomId);
  const from = socket.data.userId!;
  const target = room.members.get(p.to);
  if (!target || p.to === from) refuse("UNKNOWN_PEER", "the peer is not another member of this room");
  // Several nodes: the session may be held by the node of the other party.
  const s = deps.bb84.get(p.sessionId) ?? (await deps.bb84.elsewhere(p.sessionId).then((r) => (r && !r.ended ? r : undefined)));
  const between = s && s.roomId === p.roomId && ((s.aliceId === from && s.bobId === p.to) || (s.bobId === from && s.aliceId === p.to));
  if (!between) refuse("UNKNOWN_SESSION", "no running BB84 session between you and that member in this room");
  const frame = p.frame instanceof ArrayBuffer ? new Uint8Array(p.frame) : p.frame;
  if (!socket.data.frameBytes.take(frame.byteLength)) refuse("RATE_LIMITED", "too many BB84 bytes per second; slow down");
  for (const sid of target.sockets) if (backedUp(deps, sid)) refuse("RATE_LIMITED", "the peer is not keeping up; retry shortly");
  deliverFrame(deps, p.to, [...target.sockets], { roomId: p.roomId, from, sessionId: p.sessionId, frame });
  deps.logs.append({
    roomId: p.roomId,
    type: "BB84_RELAYED",
    actorId: from,
    targetId: p.to,
    meta: { sessionId: p.sessionId, bytes: frame.byteLength },
    coalesceKey: `bb84|${p.roomId}|${from}|${p.to}|${p.sessionId}`,
  });
  return {};
}

/** Sends the frame to the recipient's connections in the room (through the test seam's tap when one is set). */
function deliverFrame(deps: Deps, to: string, socketIds: string[], frame: Bb84Frame): void {
  const deliver = (f: Bb84Frame) => void deps.io.to(socketIds).emit("bb84:frame", f);
  if (deps.relayTap) deps.relayTap(to, frame, deliver);
  else deliver(frame);
}

async function reportOutcome(deps: Deps, socket: QsecSocket, p: CommandInput<"bb84:report">): Promise<CommandResult<"bb84:report">> {
  deps.presence.requireMember(socket, p.roomId);
  const summary = deps.bb84.report(socket.data.userId!, p) ?? (await deps.bb84.reportElsewhere(socket.data.userId!, p));
  if (summary) return { ...summary };
  // Already ended (e.g. the peer aborted first): answer with the stored summary if it is ours.
  await deps.bb84.settled();
  const row = await findSession(deps.prisma, p.sessionId);
  if (!row || row.roomId !== p.roomId || (row.aliceId !== socket.data.userId && row.bobId !== socket.data.userId))
    refuse("UNKNOWN_SESSION", "no BB84 session of yours with that id in this room");
  return row;
}
