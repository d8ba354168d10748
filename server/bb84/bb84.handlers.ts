/**
 * BB84 between two online members of a room. The server starts a session (chooses its id,
 * snapshots the room's channel settings, tells the room), relays opaque binary frames only between
 * the session's two parties, and stores the non-secret summary the parties report. The frames are
 * encrypted and authenticated by the pair, so the relay sees neither the simulated photons nor the
 * classical discussion, only their sizes.
 */
import { LIMITS, type Bb84Frame } from "@/lib/protocol";
import { fromB64url } from "@/lib/crypto/encoding";
import { DEFAULT_QBER_THRESHOLD } from "@/lib/qkd/finite-key";
import { registerCommand, type CommandTable } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { backedUp } from "../backpressure";
import { findSession, listSessions } from "./bb84.repository";
import { refuseElsewhere } from "./sessions";

export function registerBb84(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "bb84:start", (socket, p) => startSession(deps, socket, p));
  registerCommand(deps, commands, "bb84:relay", (socket, p) => relayFrame(deps, socket, p));
  registerCommand(deps, commands, "bb84:report", (socket, p) => reportOutcome(deps, socket, p));
  registerCommand(deps, commands, "bb84:claim", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    const claimed = await deps.bb84.claim(p.sessionId, socket.data.userId!, p.roomId, socket.id);
    if (claimed === null) refuse("UNKNOWN_SESSION", "no running BB84 session of yours with that id in this room");
    return { claimed };
  });
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
  // This connection runs the session for Alice (her claim); her other tabs follow it.
  return deps.bb84.start(
    {
      roomId: p.roomId,
      aliceId: me,
      bobId: p.peerId,
      qubits: p.qubits,
      cascadeVariant: p.cascadeVariant,
      qberThreshold: DEFAULT_QBER_THRESHOLD,
      channel: room.channel,
    },
    socket.id,
  );
}

async function relayFrame(deps: Deps, socket: QsecSocket, p: CommandInput<"bb84:relay">): Promise<CommandResult<"bb84:relay">> {
  const link = socket.data.kind === "bb84";
  // A BB84 worker connection (server/bb84/links.ts) is in no room: its member connection must be.
  const room = link ? linkRoom(deps, socket, p.roomId) : deps.presence.requireMember(socket, p.roomId);
  const from = socket.data.userId!;
  const target = room.members.get(p.to);
  if (!target || p.to === from) refuse("UNKNOWN_PEER", "the peer is not another member of this room");
  // Several nodes: the session may be held by the node of the other party.
  const s = deps.bb84.get(p.sessionId) ?? (await deps.bb84.elsewhere(p.sessionId).then((r) => (r && !r.ended ? r : undefined)));
  const between = s && s.roomId === p.roomId && ((s.aliceId === from && s.bobId === p.to) || (s.bobId === from && s.aliceId === p.to));
  if (!between) refuse("UNKNOWN_SESSION", "no running BB84 session between you and that member in this room");
  // Of a party's connections only the one that runs the session for it (its claim: Alice's is the
  // one that started it, Bob's the first to claim it; a first relay claims it) relays its frames...
  if (!link && !(await deps.bb84.claim(p.sessionId, from, p.roomId, socket.id))) refuseElsewhere();
  // ...and once it routed the session to a worker connection, through that connection only.
  const mine = deps.bb84.routeOf(p.sessionId, from);
  if (link ? mine !== socket.id : mine !== undefined) refuse("UNKNOWN_SESSION", "this session's frames go through another connection of yours");
  const frame = frameBytes(p.frame);
  if (!socket.data.frameBytes.take(frame.byteLength)) refuse("RATE_LIMITED", "too many BB84 bytes per second; slow down");
  // The peer's worker connection when it routed the session there, else the connection that runs the
  // session for it (its claim), else (Bob before he claimed it) all its connections in the room.
  const routed = deps.bb84.routeOf(p.sessionId, p.to);
  const holder = routed ? undefined : deps.bb84.holderOf(p.sessionId, p.to);
  const to = routed ? [routed] : holder ? [holder.socket] : [...target.sockets];
  for (const sid of to) if (backedUp(deps, sid)) refuse("RATE_LIMITED", "the peer is not keeping up; retry shortly");
  // A worker connection that asked for text frames gets the small ones as base64url (one WebSocket message).
  const text = routed !== undefined && frame.byteLength <= LIMITS.maxBb84TextFrameBytes && deps.io.sockets.sockets.get(routed)?.data.textFrames === true;
  deliverFrame(deps, p.to, to, { roomId: p.roomId, from, sessionId: p.sessionId, frame }, text);
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

/** A BB84 worker connection's room: its member connection must be in it, online. */
function linkRoom(deps: Deps, socket: QsecSocket, roomId: string) {
  const owner = socket.data.owner ? deps.io.sockets.sockets.get(socket.data.owner) : undefined;
  if (!owner) refuse("NOT_A_MEMBER", "you are not in this room");
  return deps.presence.requireMember(owner, roomId);
}

/** The frame's bytes: binary as sent, or base64url text decoded (strictly: one encoding per byte string). */
function frameBytes(frame: Uint8Array | ArrayBuffer | string): Uint8Array {
  if (frame instanceof ArrayBuffer) return new Uint8Array(frame);
  if (typeof frame !== "string") return frame;
  try {
    return fromB64url(frame);
  } catch {
    refuse("INVALID_PAYLOAD", "frame: not canonical base64url");
  }
}

/** Base64url text of a binary frame (for a worker connection that asked for text frames). */
function asText(f: Bb84Frame): Bb84Frame {
  if (typeof f.frame === "string") return f;
  const b = f.frame instanceof ArrayBuffer ? new Uint8Array(f.frame) : f.frame;
  return { ...f, frame: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url") };
}

/** Sends the frame to the recipient's connections in the room (through the test seam's tap when one is set). */
function deliverFrame(deps: Deps, to: string, socketIds: string[], frame: Bb84Frame, text = false): void {
  const deliver = (f: Bb84Frame) => void deps.io.to(socketIds).emit("bb84:frame", text ? asText(f) : f);
  if (deps.relayTap) deps.relayTap(to, frame, deliver);
  else deliver(frame);
}

async function reportOutcome(deps: Deps, socket: QsecSocket, p: CommandInput<"bb84:report">): Promise<CommandResult<"bb84:report">> {
  deps.presence.requireMember(socket, p.roomId);
  const conn = { node: deps.bb84.nodeName, socket: socket.id };
  const summary = deps.bb84.report(socket.data.userId!, p, conn) ?? (await deps.bb84.reportElsewhere(socket.data.userId!, p, socket.id));
  if (summary) return { ...summary };
  // Already ended (e.g. the peer aborted first): answer with the stored summary if it is ours.
  await deps.bb84.settled();
  const row = await findSession(deps.prisma, p.sessionId);
  if (!row || row.roomId !== p.roomId || (row.aliceId !== socket.data.userId && row.bobId !== socket.data.userId))
    refuse("UNKNOWN_SESSION", "no BB84 session of yours with that id in this room");
  return row;
}
