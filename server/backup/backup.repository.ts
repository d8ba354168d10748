/**
 * KeyBackup rows: opaque blobs with a version for compare-and-swap. Only this file touches the
 * table, so a PostgreSQL repository can stand in for it beside the SQLite one.
 */
import type { PrismaClient } from "@prisma/client";

export interface StoredBackup {
  id: string;
  ownerId: string;
  version: number;
  blob: Uint8Array;
  updatedAt: Date;
}

export async function findBackup(prisma: PrismaClient, id: string): Promise<StoredBackup | null> {
  return prisma.keyBackup.findUnique({ where: { id }, select: { id: true, ownerId: true, version: true, blob: true, updatedAt: true } });
}

export type PutOutcome = { ok: true; version: number } | { ok: false; reason: "exists" | "missing" | "owner" | "version"; current?: number };

/**
 * Creates (expectedVersion 0) or replaces (expectedVersion = the stored version) a backup in one
 * conditional statement: of two concurrent updates from the same version, exactly one wins.
 */
export async function putBackup(prisma: PrismaClient, id: string, ownerId: string, expectedVersion: number, blob: Uint8Array): Promise<PutOutcome> {
  const bytes = new Uint8Array(blob);
  if (expectedVersion === 0) {
    try {
      await prisma.keyBackup.create({ data: { id, ownerId, version: 1, blob: bytes } });
      return { ok: true, version: 1 };
    } catch (e) {
      if ((e as { code?: string }).code !== "P2002") throw e; // unique violation: it exists
      const cur = await findBackup(prisma, id);
      return { ok: false, reason: cur && cur.ownerId !== ownerId ? "owner" : "exists", current: cur?.version };
    }
  }
  const res = await prisma.keyBackup.updateMany({
    where: { id, ownerId, version: expectedVersion },
    data: { version: expectedVersion + 1, blob: bytes },
  });
  if (res.count === 1) return { ok: true, version: expectedVersion + 1 };
  const cur = await findBackup(prisma, id);
  if (!cur) return { ok: false, reason: "missing" };
  if (cur.ownerId !== ownerId) return { ok: false, reason: "owner" };
  return { ok: false, reason: "version", current: cur.version };
}
