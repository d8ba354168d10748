/**
 * Streamed log export (CSV or JSON): a ReadableStream that pulls one keyset page at a time when the
 * consumer asks for more, so a room with millions of rows never sits in memory and a slow download
 * slows the queries down rather than buffering them.
 */
import type { PrismaClient } from "@prisma/client";
import type { LogFilter } from "@/lib/admin/log-filter";
import { csvRow } from "@/lib/admin/csv";
import { iterateLogs, type AdminLogEntry } from "./logs.query";

export type ExportFormat = "csv" | "json";

export const CSV_COLUMNS = ["id", "createdAt", "roomId", "type", "actorId", "actorName", "targetId", "targetName", "meta"] as const;

function csvLine(e: AdminLogEntry): string {
  return csvRow([e.id, e.createdAt, e.roomId, e.type, e.actorId, e.actorName, e.targetId, e.targetName, JSON.stringify(e.meta)]);
}

export function exportLogs(prisma: PrismaClient, filter: LogFilter, format: ExportFormat, batch = 500): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let pages: AsyncGenerator<AdminLogEntry[]> | null = null;
  let first = true;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!pages) {
          pages = iterateLogs(prisma, filter, { batch });
          controller.enqueue(enc.encode(format === "csv" ? csvRow(CSV_COLUMNS) : "["));
        }
        const next = await pages.next();
        if (next.done) {
          if (format === "json") controller.enqueue(enc.encode(first ? "]\n" : "\n]\n"));
          controller.close();
          return;
        }
        let chunk = "";
        for (const e of next.value) {
          if (format === "csv") chunk += csvLine(e);
          else {
            chunk += (first ? "\n" : ",\n") + JSON.stringify(e);
            first = false;
          }
        }
        controller.enqueue(enc.encode(chunk));
      },
      async cancel() {
        await pages?.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

export function exportFileName(roomId: string, format: ExportFormat, now = new Date()): string {
  return `qsec-${roomId}-logs-${now.toISOString().replace(/[:.]/g, "-")}.${format}`;
}
