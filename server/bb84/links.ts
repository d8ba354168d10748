/**
 * BB84 worker connections ("links"): a browser runs each BB84 party in a Web Worker, and the worker
 * may carry the session's frames over a Socket.IO connection of its own, so a frame never waits for
 * either page's main thread. Three commands (docs/protocol.md, docs/security.md):
 *
 * - `bb84:ticket` (an authenticated member connection): a one-time ticket, 32 random bytes, valid
 *   LIMITS.bb84TicketTtlMs, bound to that connection. At most LIMITS.maxBb84LinksPerConnection
 *   tickets and links per member connection.
 * - `bb84:attach { ticket }` (a fresh connection, instead of auth:hello / auth:prove): the ticket is
 *   consumed and the connection becomes a link of the ticket's connection and identity. A link is
 *   in no room, so it gets no room traffic; it may send `bb84:relay` only, for a session routed to
 *   it, and it shares its member connection's frame and byte budgets. It closes with its member
 *   connection; it does not count as one of the identity's connections (the per-address transport
 *   caps apply to it as to any connection).
 * - `bb84:route { roomId, sessionId, ticket }` (the member connection that got the ticket, a
 *   member of the room, a party of the running session): from now on the session's frames to this
 *   party go to that link only, and only that link relays this party's frames. Once per party and
 *   session. The ack comes after every frame relayed to the member connection before the switch,
 *   so the client knows which frames came which way.
 *
 * A link closing ends the sessions routed to it. Several nodes, or QSEC_BB84_WORKER_LINKS=0:
 * bb84:ticket answers UNAVAILABLE and the client keeps the session on its member connection.
 */
import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { refuseElsewhere } from "./sessions";

export function registerBb84Links(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "bb84:ticket", async (socket) => {
    if (!deps.bb84Links.enabled) refuse("UNAVAILABLE", "BB84 worker connections are turned off on this server");
    if (deps.bb84.clustered) refuse("UNAVAILABLE", "BB84 worker connections are not available with several server nodes");
    return { ticket: deps.bb84Links.issue(socket) };
  });

  registerCommand(deps, commands, "bb84:attach", async (socket, p) => {
    if (socket.data.userId) refuse("ALREADY_AUTHENTICATED", "this connection is already authenticated");
    const t = deps.bb84Links.take(p.ticket);
    const owner = t ? deps.io.sockets.sockets.get(t.owner) : undefined;
    if (!t || !owner || !owner.connected || owner.data.userId !== t.userId || !owner.data.links.has(p.ticket))
      refuse("AUTH_FAILED", "unknown, used or expired BB84 ticket");
    if (!socket.connected) refuse("AUTH_FAILED", "connection closed");
    socket.data.userId = t.userId;
    socket.data.kind = "bb84";
    socket.data.owner = owner.id;
    socket.data.textFrames = p.textFrames === true;
    // One budget for the member's frames, whichever of its connections relays them.
    socket.data.frames = owner.data.frames;
    socket.data.frameBytes = owner.data.frameBytes;
    owner.data.links.set(p.ticket, socket.id);
    return { userId: t.userId };
  });

  registerCommand(deps, commands, "bb84:route", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    const me = socket.data.userId!;
    const linkId = socket.data.links.get(p.ticket);
    const link = linkId ? deps.io.sockets.sockets.get(linkId) : undefined;
    if (!link || !link.connected || link.data.owner !== socket.id) refuse("UNKNOWN_SESSION", "no BB84 worker connection of this connection with that ticket");
    const s = deps.bb84.get(p.sessionId);
    if (!s || s.roomId !== p.roomId || (s.aliceId !== me && s.bobId !== me))
      refuse("UNKNOWN_SESSION", "no running BB84 session of yours with that id in this room (on this server node)");
    const routed = deps.bb84.route(p.sessionId, me, link.id, socket.id);
    if (routed === "elsewhere") refuseElsewhere();
    if (routed !== "ok") refuse("BUSY", "this session's frames are already routed");
    return {};
  });
}

/** What happens when a connection closes, for links: a link's sessions end; a member connection's links close. */
export function linksOnDisconnect(deps: Deps, socket: QsecSocket): void {
  if (socket.data.kind === "bb84") {
    const owner = socket.data.owner ? deps.io.sockets.sockets.get(socket.data.owner) : undefined;
    if (owner) for (const [t, sid] of owner.data.links) if (sid === socket.id) owner.data.links.delete(t);
    deps.bb84.linkClosed(socket.id);
    return;
  }
  deps.bb84Links.dropTickets(socket);
  for (const sid of socket.data.links.values()) if (sid) deps.io.sockets.sockets.get(sid)?.disconnect(true);
  socket.data.links.clear();
}
