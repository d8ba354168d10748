/**
 * Key backup commands (issue 12, item 5). The blob is sealed in the browser; the server checks
 * sizes, who may overwrite, and versions, and never looks inside.
 *   backup:fetch — public (a fresh browser has no identity yet), rate limited per address and id.
 *   backup:put   — authenticated; the identity that created a backup is the only one that may
 *                  replace it, and only from the version it last saw (compare-and-swap).
 */
import { fromB64url, toB64url } from "@/lib/crypto";
import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import { refuse } from "../refuse";
import { findBackup, putBackup } from "./backup.repository";
import type { BackupLookupLimiter } from "./lookup-limiter";

export function registerBackup(deps: Deps, commands: CommandTable, limiter: BackupLookupLimiter): void {
  registerCommand(deps, commands, "backup:fetch", async (socket, p) => {
    const address = socket.data.address;
    const limited = await limiter.take(address, p.backupId);
    if (limited === "address") refuse("RATE_LIMITED", "too many backup look-ups from this address; try again in a minute");
    if (limited === "id") refuse("RATE_LIMITED", "too many look-ups of this backup; try again in a minute");
    const row = await findBackup(deps.prisma, p.backupId);
    if (!row) refuse("NO_BACKUP", "no key backup under this name or recovery code");
    return { backupId: row.id, version: row.version, blob: toB64url(row.blob), updatedAt: row.updatedAt.toISOString() };
  });

  registerCommand(deps, commands, "backup:put", async (socket, p) => {
    const userId = socket.data.userId!;
    const blob = fromB64url(p.blob);
    const res = await putBackup(deps.prisma, p.backupId, userId, p.expectedVersion, blob);
    if (res.ok) return { version: res.version };
    if (res.reason === "owner") refuse("BACKUP_CONFLICT", "this backup name is taken by another identity; choose another name");
    if (res.reason === "exists") refuse("BACKUP_CONFLICT", `a backup already exists here (version ${res.current}); fetch it and update from that version`);
    if (res.reason === "missing") refuse("NO_BACKUP", "no key backup to update here; create it with expectedVersion 0");
    refuse("BACKUP_CONFLICT", `the backup changed since version ${p.expectedVersion} (it is now version ${res.current}); fetch and retry`);
  });
}
