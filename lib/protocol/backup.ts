/**
 * Key backup commands (issue 12, item 5). The server files an opaque, client-sealed blob under a
 * backup id the client derives (lib/crypto/backup.ts) and never sees inside it.
 */
import { z } from "./zod";

export const BACKUP_LIMITS = {
  /** Largest sealed blob (identity + a few thousand epoch keys + the room list fit easily). */
  maxBlobBytes: 512 * 1024,
  /** backup:fetch per remote address: tokens per minute, and burst. */
  fetchPerAddressPerMinute: 12,
  fetchPerAddressBurst: 10,
  /** backup:fetch per backup id, whoever asks: tokens per minute, and burst. */
  fetchPerIdPerMinute: 6,
  fetchPerIdBurst: 5,
} as const;

/** 16 bytes as 32 lowercase hex characters. */
export const backupIdSchema = z.string().regex(/^[0-9a-f]{32}$/, "a backup id is 32 lowercase hex characters");

export const backupFetchSchema = z.object({ backupId: backupIdSchema }).strict();

export const backupPutSchema = z
  .object({
    backupId: backupIdSchema,
    /** 0 to create; otherwise the version this update replaces (compare-and-swap). */
    expectedVersion: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
    // events.ts's b64url() is not imported here: events.ts imports this file.
    blob: z
      .string()
      .min(1, "empty blob")
      .max(Math.ceil((BACKUP_LIMITS.maxBlobBytes * 4) / 3), "too large")
      .regex(/^[A-Za-z0-9_-]*$/, "not base64url"),
  })
  .strict();

export interface BackupBlob {
  backupId: string;
  version: number;
  blob: string;
  updatedAt: string;
}
