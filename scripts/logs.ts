/**
 * npm run logs -- --room R [--type T[,T…]] [--actor A] [--since ISO] [--until ISO] [--text S]
 *                 [--follow] [--interval MS] [--json]
 *
 * Prints a room's structured log straight from the database (DATABASE_URL), oldest first, with the
 * admin console's filter and query code (lib/admin/log-filter.ts, server/admin/logs.query.ts).
 * --follow keeps polling for rows with a higher id until Ctrl-C. The successor of the
 * prototype's room_logs.py.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { logFilterSchema, type LogFilter } from "../lib/admin/log-filter";
import type { AdminLogEntry } from "../lib/admin/events";
import { LOG_EVENT_TYPES } from "../lib/protocol/log-events";
import { iterateLogs } from "../server/admin/logs.query";
import { createPrisma } from "../server/db";

const USAGE = `usage: npm run logs -- --room R [options]
  --room R          room id (required)
  --type T[,T…]     only these event types (repeatable): ${LOG_EVENT_TYPES.join(", ")}
  --actor A         actor: a user id (or its first 4+ hex characters) or part of a display name
  --since ISO       rows at or after this time (e.g. 2026-11-28T10:00:00Z)
  --until ISO       rows before this time
  --text S          text to find in the row's metadata
  --follow          keep printing new rows until Ctrl-C
  --interval MS     --follow polling interval (default 1000)
  --json            one JSON object per line instead of text
environment: DATABASE_URL (default file:./data/qsec.db; a postgresql:// URL reads PostgreSQL)`;

class UsageError extends Error {}

interface Cli {
  filter: LogFilter;
  follow: boolean;
  json: boolean;
  intervalMs: number;
}

export function parseArgs(argv: string[]): Cli {
  const raw: { roomId?: string; types: string[]; actor?: string; from?: string; to?: string; text?: string } = { types: [] };
  let follow = false;
  let json = false;
  let intervalMs = 1000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--room":
        raw.roomId = value();
        break;
      case "--type":
        raw.types.push(
          ...value()
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean),
        );
        break;
      case "--actor":
        raw.actor = value();
        break;
      case "--since":
        raw.from = value();
        break;
      case "--until":
        raw.to = value();
        break;
      case "--text":
        raw.text = value();
        break;
      case "--follow":
        follow = true;
        break;
      case "--json":
        json = true;
        break;
      case "--interval": {
        const v = value();
        intervalMs = Number(v);
        if (!Number.isInteger(intervalMs) || intervalMs < 50 || intervalMs > 60_000)
          throw new UsageError(`--interval: expected milliseconds from 50 to 60000, got "${v}"`);
        break;
      }
      case "--help":
      case "-h":
        throw new UsageError("");
      default:
        throw new UsageError(`unknown option "${a}"`);
    }
  }
  if (raw.roomId === undefined) throw new UsageError("--room is required");
  for (const t of raw.types)
    if (!(LOG_EVENT_TYPES as readonly string[]).includes(t)) throw new UsageError(`--type: unknown event type "${t}" (one of ${LOG_EVENT_TYPES.join(", ")})`);
  const parsed = logFilterSchema.safeParse(raw);
  if (!parsed.success) {
    const names: Record<string, string> = { roomId: "--room", from: "--since", to: "--until", actor: "--actor", text: "--text", types: "--type" };
    const issue = parsed.error.issues[0];
    throw new UsageError(`${names[String(issue.path[0])] ?? issue.path.join(".")}: ${issue.message}`);
  }
  return { filter: parsed.data, follow, json, intervalMs };
}

// Names and metadata are user data: never let them move the terminal's cursor or colours.
const clean = (s: string) => s.replace(/[\p{Cc}\p{Cf}]/gu, "\uFFFD");
const who = (id: string | null, name: string | null) => (id === null ? "-" : `${name === null ? "?" : clean(name)} (${id.slice(0, 8)})`);

export function formatEntry(e: AdminLogEntry, json: boolean): string {
  if (json) return JSON.stringify(e);
  return `${e.createdAt}  #${e.id}  ${e.type}  actor=${who(e.actorId, e.actorName)}  target=${who(e.targetId, e.targetName)}  ${clean(JSON.stringify(e.meta))}`;
}

async function main() {
  let cli: Cli;
  try {
    cli = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) console.error(`logs: ${e.message}`);
      console.error(USAGE);
      process.exit(e.message ? 2 : 0);
    }
    throw e;
  }
  const url = process.env.DATABASE_URL || "file:./data/qsec.db";
  if (!/^(file:|postgres(ql)?:\/\/)/.test(url)) {
    console.error("logs: DATABASE_URL must be a SQLite file: URL or a postgresql:// URL");
    process.exit(2);
  }
  if (url.startsWith("file:")) {
    const file = path.resolve(url.slice("file:".length));
    if (!existsSync(file)) {
      console.error(`logs: no database at ${file} (set DATABASE_URL, or start the server once)`);
      process.exit(1);
    }
  }
  const prisma = await createPrisma(url);
  let stopping = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // `npm run logs … | head` closes the pipe early: that is a normal end.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") stop();
  });

  let lastId: number | undefined;
  let noRowsSaid = false;
  try {
    do {
      for await (const page of iterateLogs(prisma, cli.filter, { afterId: lastId })) {
        // Wait for each page to reach stdout: backpressure for a slow reader, and nothing still
        // queued when the process exits (a pipe that fills up makes writes asynchronous).
        await writeOut(page.map((e) => formatEntry(e, cli.json) + "\n").join(""));
        lastId = page[page.length - 1].id;
        if (stopping) break;
      }
      if (lastId === undefined && !noRowsSaid) {
        // Nothing printed: say why on stderr (stdout stays clean for pipes), so a mistyped room id
        // is not mistaken for a quiet room.
        noRowsSaid = true;
        const room = cli.filter.roomId;
        const exists = (await prisma.room.count({ where: { id: room } })) > 0;
        // The SQLite file's path, never a PostgreSQL URL (it may hold a password).
        const where = url.startsWith("file:") ? path.resolve(url.slice("file:".length)) : "DATABASE_URL";
        console.error(exists ? `logs: no rows of room "${room}" match` : `logs: no room "${room}" in this database (${where})`);
      }
      if (!cli.follow || stopping) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, cli.intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    } while (!stopping);
  } finally {
    await prisma.$disconnect();
  }
  process.exit(0);
}

function writeOut(chunk: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.destroyed) return resolve();
    process.stdout.write(chunk, () => resolve()); // an EPIPE error resolves too (the reader left)
  });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`logs: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
