/**
 * Attachment commands (issue 16). The socket only reserves an attachment and hands out short-lived
 * capabilities; the ciphertext itself moves over HTTP (tus uploads at ATTACHMENT_HTTP_PATH, ranged
 * GET downloads), each request carrying its capability as `Authorization: Bearer <token>`. The
 * server learns a ciphertext size and who may read it; name, type, key and hash travel only inside
 * the end-to-end encrypted message that announces the attachment (AttachmentRef, lib/crypto).
 */
import { z } from "./zod";
import { ROOM_ID_RE } from "./limits";

/** Where the HTTP side lives: POST here creates an upload; /attachments/<id> is one attachment. */
export const ATTACHMENT_HTTP_PATH = "/attachments/";

export const ATTACHMENT_DEFAULTS = {
  /** QSEC_MAX_ATTACHMENT_MB: the largest attachment (the file's bytes; its ciphertext is slightly larger). */
  maxAttachmentMb: 100,
  /** QSEC_ROOM_ATTACHMENT_QUOTA_MB: all attachments of one room together. */
  roomQuotaMb: 2048,
  /** QSEC_MEMBER_ATTACHMENT_QUOTA_MB: one member's attachments in one room together. */
  memberQuotaMb: 512,
  /** A capability is good for this long (a longer transfer asks for a fresh one and resumes). */
  capabilityTtlMs: 15 * 60 * 1000,
  /** An upload not finished within this long is purged with its bytes. */
  orphanAfterMs: 24 * 60 * 60 * 1000,
} as const;

/** 16 random bytes, base64url (22 characters). */
export const attachmentIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, "an attachment id is 22 base64url characters");

const roomId = z.string().regex(ROOM_ID_RE, "room id: 1-32 characters of A-Z a-z 0-9 _ -");

/** Reserve an attachment of `size` ciphertext bytes in a room (or for a direct message to `to`). */
export const attachmentCreateSchema = z
  .object({
    roomId,
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    to: z
      .string()
      .regex(/^[0-9a-f]{32}$/, "user id: 32 hex characters")
      .optional(),
  })
  .strict();

/** A fresh capability for an attachment: `download` (any reader) or `upload` (its uploader, to resume). */
export const attachmentGrantSchema = z
  .object({
    roomId,
    id: attachmentIdSchema,
    op: z.enum(["download", "upload"]).default("download"),
  })
  .strict();

export interface AttachmentCapability {
  id: string;
  /** The bearer token for the HTTP requests of this attachment (until expiresAt). */
  token: string;
  expiresAt: string;
  /** Ciphertext bytes. */
  size: number;
}
