/**
 * Applies prisma/postgresql/migrations to a PostgreSQL database: QSEC's own runner, because
 * `prisma migrate deploy` through the pg driver adapter fails in Prisma 6.19 (prisma/orm#27403).
 * Each migration runs in its own transaction and is recorded in "_qsec_migrations" with its SHA-256,
 * so a re-run applies only what is new and refuses a committed migration that was edited since.
 * A session-level advisory lock serialises processes that start together (the second waits, then
 * finds nothing left to do). Run directly: `DATABASE_URL=postgresql://… tsx server/pg-migrate.ts`.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";

export const PG_MIGRATIONS_DIR = path.resolve(__dirname, "..", "prisma", "postgresql", "migrations");
// Any constant both sides agree on; pg_advisory_lock takes a bigint ("QSECMIGR" in ASCII).
const LOCK_KEY = "5787396174633436498";

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export async function migratePostgres(url: string, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const dir = opts.dir ?? PG_MIGRATIONS_DIR;
  if (!existsSync(dir)) throw new Error(`pg-migrate: no migrations folder at ${dir}`);
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort();
  const client = new Client({ connectionString: url });
  await client.connect();
  const result: MigrateResult = { applied: [], skipped: [] };
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "_qsec_migrations" ("name" text PRIMARY KEY, "checksum" text NOT NULL, "appliedAt" timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Map(
      (await client.query<{ name: string; checksum: string }>(`SELECT "name", "checksum" FROM "_qsec_migrations"`)).rows.map((r) => [r.name, r.checksum]),
    );
    for (const name of names) {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      const checksum = createHash("sha256").update(sql).digest("hex");
      const recorded = done.get(name);
      if (recorded !== undefined) {
        if (recorded !== checksum)
          throw new Error(`pg-migrate: migration ${name} was edited after it was applied (checksum differs); add a new migration instead`);
        result.skipped.push(name);
        continue;
      }
      try {
        await client.query("BEGIN");
        await client.query(sql);
        await client.query(`INSERT INTO "_qsec_migrations" ("name", "checksum") VALUES ($1, $2)`, [name, checksum]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw new Error(`pg-migrate: migration ${name} failed and was rolled back: ${(e as Error).message}`);
      }
      result.applied.push(name);
      opts.log?.(`applied ${name}`);
    }
    const unknown = [...done.keys()].filter((n) => !names.includes(n));
    if (unknown.length) opts.log?.(`the database has migrations this code does not know (a newer version ran here?): ${unknown.join(", ")}`);
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => {});
    await client.end();
  }
  return result;
}

if (require.main === module) {
  const url = process.env.DATABASE_URL ?? "";
  if (!/^postgres(ql)?:\/\//.test(url)) {
    console.error("pg-migrate: DATABASE_URL must be a postgresql:// URL");
    process.exit(2);
  }
  migratePostgres(url, { log: (l) => console.error(`pg-migrate: ${l}`) }).catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
