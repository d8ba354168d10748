/**
 * attachment:create reserves an attachment (size cap and quotas checked here, before a byte moves)
 * and returns its id with an upload capability; attachment:grant hands a member a fresh download
 * capability (or the uploader a fresh upload one, to resume). The HTTP requests that follow are
 * checked again, each one (attachment-service.ts).
 */
import { randomBytes } from "node:crypto";
import { ciphertextSize } from "@/lib/crypto/attachment-stream";
import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import { refuse } from "../refuse";
import type { AttachmentService } from "./attachment-service";
import { findAttachment, mayRead, mayUpload, reserveAttachment } from "./attachments.repository";

const MB = 1024 * 1024;

export function registerAttachments(deps: Deps, commands: CommandTable, service: AttachmentService | null): void {
  registerCommand(deps, commands, "attachment:create", async (socket, p) => {
    const room = deps.presence.requireMember(socket, p.roomId);
    if (!service) refuse("FORBIDDEN", "attachments are not enabled on this server");
    const userId = socket.data.userId!;
    const { maxBytes, roomQuotaBytes, memberQuotaBytes } = service.settings;
    // The cap is on the file (plaintext); the ciphertext adds a 24-byte header and a 16-byte tag per 64 KiB segment.
    if (p.size > ciphertextSize(maxBytes)) refuse("TOO_LARGE", `attachments are limited to ${Math.floor(maxBytes / MB)} MB`);
    if (p.to !== undefined && (p.to === userId || !room.members.has(p.to))) refuse("UNKNOWN_PEER", "that member is not in this room");
    const id = randomBytes(16).toString("base64url");
    const reserved = await reserveAttachment(
      deps.prisma,
      { id, roomId: p.roomId, uploaderId: userId, kind: p.to === undefined ? "room" : "dm", recipientId: p.to ?? null, epoch: room.epoch, size: p.size },
      { roomBytes: roomQuotaBytes, memberBytes: memberQuotaBytes },
    );
    if (reserved === "room-quota")
      refuse("QUOTA_EXCEEDED", `this room's attachment quota (${Math.floor(roomQuotaBytes / MB)} MB) is full; older attachments leave with retention`);
    if (reserved === "member-quota") refuse("QUOTA_EXCEEDED", `your attachment quota in this room (${Math.floor(memberQuotaBytes / MB)} MB) is full`);
    return { id, size: p.size, ...service.issue("upload", userId, p.roomId, id) };
  });

  registerCommand(deps, commands, "attachment:grant", async (socket, p) => {
    deps.presence.requireMember(socket, p.roomId);
    if (!service) refuse("FORBIDDEN", "attachments are not enabled on this server");
    const userId = socket.data.userId!;
    const att = await findAttachment(deps.prisma, p.id);
    // One answer for "no such attachment" and "not yours": ids of others' attachments stay unconfirmed.
    if (!att || att.roomId !== p.roomId) refuse("NO_ATTACHMENT", "no such attachment in this room (it may have expired with the room's history)");
    const allowed =
      p.op === "upload" ? !att.complete && (await mayUpload(deps.prisma, att, userId)) : att.complete && (await mayRead(deps.prisma, att, userId));
    if (!allowed) refuse("NO_ATTACHMENT", "no such attachment in this room (it may have expired with the room's history)");
    return { id: att.id, size: att.size, ...service.issue(p.op, userId, p.roomId, att.id) };
  });
}
