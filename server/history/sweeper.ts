/**
 * The scheduled sweep (at start, then hourly): members away longer than the membership TTL are
 * removed (MEMBER_EXPIRED, a new epoch), and retention deletes stored envelopes and key blobs older
 * than each room's history days (HISTORY_PURGED with counts only). In ephemeral rooms, key blobs
 * older than the membership TTL go too. Logged on the server logger with counts, never content.
 */
import type { Deps } from "../context";
import { endMembership } from "../rooms/membership";
import { findExpiredMembers } from "../rooms/rooms.repository";
import { deleteBlobsOlderThan } from "../keys/keyblob.repository";
import { deleteEnvelopesOlderThan, ephemeralRoomsWithBlobs, roomsWithHistory } from "./history.repository";
import { attachmentsOlderThan, roomsWithAttachments, unfinishedOlderThan } from "../attachments/attachments.repository";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SweepResult {
  expiredMembers: number;
  purgedEnvelopes: number;
  purgedKeyBlobs: number;
  /** Attachments deleted (row and ciphertext): by retention, as unfinished uploads, or left by a deleted room. */
  purgedAttachments: number;
}

export async function sweep(deps: Deps, now = Date.now()): Promise<SweepResult> {
  const result: SweepResult = { expiredMembers: 0, purgedEnvelopes: 0, purgedKeyBlobs: 0, purgedAttachments: 0 };
  const ttlDays = deps.config.memberTtlDays;
  const cutoff = new Date(now - ttlDays * DAY_MS);
  for (const m of await findExpiredMembers(deps.prisma, cutoff)) {
    const expired = await deps.presence.withRoom(m.roomId, async () => {
      // Re-checked under the room's lock: the member may have come back meanwhile.
      const live = deps.presence.member(m.roomId, m.userId);
      if (live && (live.sockets.size > 0 || live.lastSeenAt.getTime() >= cutoff.getTime())) return false;
      return endMembership(deps, m.roomId, m.userId, "expired", null, ttlDays);
    });
    if (expired) result.expiredMembers += 1;
  }
  await deps.envelopes.flush();
  for (const r of await roomsWithHistory(deps.prisma)) {
    const before = new Date(now - (r.historyDays ?? 0) * DAY_MS);
    const envelopes = await deleteEnvelopesOlderThan(deps.prisma, r.id, before);
    const keyBlobs = await deleteBlobsOlderThan(deps.prisma, r.id, before);
    if (envelopes + keyBlobs > 0) {
      deps.logs.append({ roomId: r.id, type: "HISTORY_PURGED", meta: { envelopes, keyBlobs, olderThanDays: r.historyDays } });
      result.purgedEnvelopes += envelopes;
      result.purgedKeyBlobs += keyBlobs;
    }
  }
  for (const roomId of await ephemeralRoomsWithBlobs(deps.prisma, cutoff)) {
    const keyBlobs = await deleteBlobsOlderThan(deps.prisma, roomId, cutoff);
    if (keyBlobs > 0) {
      deps.logs.append({ roomId, type: "HISTORY_PURGED", meta: { envelopes: 0, keyBlobs, olderThanDays: ttlDays } });
      result.purgedKeyBlobs += keyBlobs;
    }
  }
  result.purgedAttachments = await sweepAttachments(deps, now);
  if (result.expiredMembers + result.purgedEnvelopes + result.purgedKeyBlobs + result.purgedAttachments > 0) deps.logger.info("room sweep", { ...result });
  return result;
}

/**
 * Attachments live as long as the history that announces them: in a room with history, those older
 * than its history days go with its envelopes; in an ephemeral room (nothing stored, so only members
 * online then could have read the announcement) after the membership TTL, like its key blobs.
 * Unfinished uploads go after ATTACHMENT_DEFAULTS.orphanAfterMs, and store files with no row (a
 * deleted room's: its rows went by cascade) on every sweep.
 */
async function sweepAttachments(deps: Deps, now: number): Promise<number> {
  const service = deps.attachments;
  if (!service) return 0;
  let total = 0;
  const purge = async (roomId: string, rows: { id: string; size: number }[], reason: string) => {
    if (rows.length === 0) return;
    const count = await service.remove(rows.map((r) => r.id));
    const bytes = rows.reduce((a, r) => a + r.size, 0);
    deps.logs.append({ roomId, type: "ATTACHMENTS_PURGED", meta: { count, bytes, reason } });
    total += count;
  };
  for (const r of await roomsWithAttachments(deps.prisma)) {
    const days = r.historyDays ?? deps.config.memberTtlDays;
    await purge(r.id, await attachmentsOlderThan(deps.prisma, r.id, new Date(now - days * DAY_MS)), "retention");
  }
  const unfinished = await unfinishedOlderThan(deps.prisma, new Date(now - service.settings.orphanAfterMs));
  const byRoom = new Map<string, { id: string; size: number }[]>();
  for (const a of unfinished) byRoom.set(a.roomId, [...(byRoom.get(a.roomId) ?? []), a]);
  for (const [roomId, rows] of byRoom) await purge(roomId, rows, "unfinished");
  const stray = await service.purgeStrayFiles();
  if (stray.files > 0) deps.logger.info("attachment store: removed files with no attachment row", stray);
  return total;
}

/** Sweeps now and every intervalMs; the returned stop function waits for a sweep in progress. */
export function scheduleSweep(deps: Deps, intervalMs: number): () => Promise<void> {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    if (stopped) return;
    running = running.then(() =>
      stopped ? undefined : sweep(deps).catch((e: unknown) => deps.logger.error("room sweep failed", { error: e instanceof Error ? e.message : String(e) })),
    );
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
