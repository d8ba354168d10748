/**
 * Log retention: delete RoomLog rows older than N days. Runs from the console (on demand) and,
 * when QSEC_LOG_RETENTION_DAYS is set, at start and then daily on an unref'd timer that close()
 * clears. Each run is reported on the server logger (counts and cut-off only).
 */
import type { PrismaClient } from "@prisma/client";
import type { Logger } from "@/server/logger";

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionResult {
  days: number;
  cutoff: string;
  deleted: number;
}

export async function deleteLogsOlderThan(prisma: PrismaClient, days: number, now = Date.now()): Promise<RetentionResult> {
  if (!Number.isFinite(days) || days < 0) throw new Error("retention days must be a number ≥ 0");
  const cutoff = new Date(now - days * DAY_MS);
  const { count } = await prisma.roomLog.deleteMany({ where: { createdAt: { lt: cutoff } } });
  return { days, cutoff: cutoff.toISOString(), deleted: count };
}

export async function runRetention(prisma: PrismaClient, logger: Logger, days: number, trigger: "start" | "daily" | "console"): Promise<RetentionResult> {
  try {
    const r = await deleteLogsOlderThan(prisma, days);
    logger.info("log retention run", { trigger, days: r.days, cutoff: r.cutoff, deleted: r.deleted });
    return r;
  } catch (e) {
    logger.error("log retention failed", { trigger, days, error: e instanceof Error ? e.message : String(e) });
    throw e;
  }
}

/** Applies the env retention now and every day after; returns the stop function. */
export function scheduleRetention(prisma: PrismaClient, logger: Logger, days: number | undefined, intervalMs = DAY_MS): () => Promise<void> {
  if (days === undefined) return async () => {};
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const tick = (trigger: "start" | "daily") => {
    if (!stopped) running = runRetention(prisma, logger, days, trigger).catch(() => {});
  };
  tick("start");
  const timer = setInterval(() => tick("daily"), intervalMs);
  timer.unref();
  // Stopping waits for a run in progress, so the database is not closed under it.
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
