/**
 * Encrypted messages. The server relays the envelope as opaque bytes (it never parses inside it),
 * stamps the sender id and time itself, and sends a direct message to its one recipient's
 * connections only. In a room with history it also stores the envelope exactly as relayed
 * (server/history); what it logs is the size, never the content. A room message may name the
 * attachment it announces (its id, nothing else): that widens who may read the file to the members
 * of the message's epoch.
 */
import { randomBytes } from "node:crypto";
import type { MessageReceived } from "@/lib/protocol";
import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import { refuse } from "../refuse";
import { backedUp } from "../backpressure";
import { announceAttachment } from "../attachments/attachments.repository";

// Message ids only need to be unique, not secret: a random per-process prefix and a counter.
const idPrefix = randomBytes(6).toString("base64url");
let idCounter = 0;
function nextMessageId(): string {
  return `${idPrefix}${(idCounter++).toString(36)}`;
}

export function registerMessaging(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "message:send", async (socket, p) => {
    const room = deps.presence.requireMember(socket, p.roomId);
    const from = socket.data.userId!;
    const id = nextMessageId();
    const ts = new Date().toISOString();
    const bytes = Math.floor((p.ciphertext.length * 3) / 4);
    const base = { id, roomId: p.roomId, from, epoch: p.epoch, counter: p.counter, iv: p.iv, ciphertext: p.ciphertext, signature: p.signature, ts };
    if (p.to !== undefined) {
      const target = room.members.get(p.to);
      if (!target || p.to === from) refuse("UNKNOWN_PEER", "the recipient is not another member of this room");
      if (p.epoch !== 0) refuse("INVALID_PAYLOAD", "direct messages use epoch 0 (the pair key has no epoch)");
      if (target.sockets.size === 0 && room.historyDays === null)
        refuse("PEER_OFFLINE", "the recipient is offline and this room keeps no history to deliver it later");
      for (const sid of target.sockets) if (backedUp(deps, sid)) refuse("RATE_LIMITED", "the recipient is not keeping up; retry shortly");
      const envelope: MessageReceived = { ...base, to: p.to };
      for (const sid of target.sockets) deps.io.to(sid).emit("message:received", envelope);
      if (room.historyDays !== null) deps.envelopes.append({ roomId: p.roomId, epoch: room.epoch, senderId: from, kind: "dm", recipientId: p.to, envelope });
      deps.logs.append({
        roomId: p.roomId,
        type: "DIRECT_MESSAGE_RELAYED",
        actorId: from,
        targetId: p.to,
        meta: { bytes },
        coalesceKey: `dm|${p.roomId}|${from}|${p.to}`,
      });
    } else {
      if (p.epoch !== room.epoch) refuse("STALE_EPOCH", `epoch ${p.epoch} is not current (${room.epoch}); wait for the new room key`);
      if (p.attachment !== undefined) {
        // Whoever can read this message (the members of its epoch) may fetch the file it announces.
        if (!(await announceAttachment(deps.prisma, p.attachment, p.roomId, from, p.epoch)))
          refuse("NO_ATTACHMENT", "that attachment is not a finished upload of yours in this room");
        if (p.epoch !== room.epoch) refuse("STALE_EPOCH", `epoch ${p.epoch} is not current (${room.epoch}); wait for the new room key`);
      }
      // A connection that stopped reading would make the server queue every room message for it.
      let recipients = 0;
      for (const m of room.members.values()) {
        if (m.userId !== from && m.sockets.size > 0) recipients += 1;
        for (const sid of m.sockets) if (sid !== socket.id && backedUp(deps, sid)) deps.io.sockets.sockets.get(sid)?.disconnect(true);
      }
      const envelope: MessageReceived = { ...base, to: null };
      socket.to(p.roomId).emit("message:received", envelope);
      if (room.historyDays !== null) deps.envelopes.append({ roomId: p.roomId, epoch: room.epoch, senderId: from, kind: "room", recipientId: null, envelope });
      deps.logs.append({
        roomId: p.roomId,
        type: "MESSAGE_RELAYED",
        actorId: from,
        meta: { epoch: p.epoch, bytes, recipients },
        coalesceKey: `msg|${p.roomId}|${from}|${p.epoch}|${recipients}`,
      });
    }
    deps.logs.touchRoom(p.roomId, 1);
    return { id, ts };
  });
}
