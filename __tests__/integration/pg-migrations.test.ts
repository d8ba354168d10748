/**
 * PostgreSQL migrations (postgresql Jest project only): the committed prisma/postgresql/migrations,
 * applied by QSEC's runner, produce exactly the schema prisma/postgresql/schema.prisma describes (no
 * drift), and the runner applies each migration once, atomically, even when two processes start
 * together.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { migratePostgres, PG_MIGRATIONS_DIR } from "@/server/pg-migrate";
import { pgAdmin, pgUrlFor } from "../helpers/test-db";

const ROOT = path.resolve(__dirname, "../..");
const made: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `qsec_test_${randomBytes(8).toString("hex")}`;
  await pgAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  made.push(name);
  return pgUrlFor(name);
}

afterAll(async () => {
  await pgAdmin(async (c) => {
    for (const n of made) await c.query(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
  });
});

async function query<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** Tables, columns, indexes and constraints of the public schema, without the runner's own table. */
async function catalog(url: string) {
  const columns = await query(
    url,
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> '_qsec_migrations' ORDER BY 1, 2`,
  );
  const indexes = await query(url, `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_qsec_migrations' ORDER BY 1`);
  const constraints = await query(
    url,
    `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE '\\_qsec%' ORDER BY 1`,
  );
  return { columns, indexes, constraints };
}

test("the migrations produce exactly the schema prisma/postgresql/schema.prisma describes", async () => {
  const migrated = await emptyDatabase();
  const r = await migratePostgres(migrated);
  expect(r.applied.length).toBeGreaterThan(0);

  // The same schema straight from the datamodel, as Prisma would create it.
  const direct = await emptyDatabase();
  const diff = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules/prisma/build/index.js"),
      "migrate",
      "diff",
      "--from-empty",
      "--to-schema-datamodel",
      "prisma/postgresql/schema.prisma",
      "--script",
    ],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: direct, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" }, encoding: "utf8" },
  );
  expect(diff.status).toBe(0);
  const sql = diff.stdout
    .split("\n")
    .filter((l) => !l.startsWith("Loaded Prisma config"))
    .join("\n");
  await query(direct, sql);

  const [a, b] = [await catalog(migrated), await catalog(direct)];
  expect(a.columns.length).toBeGreaterThan(30);
  expect(a).toEqual(b);
});

test("a second run applies nothing, and two runners started together apply each migration once", async () => {
  const url = await emptyDatabase();
  const [x, y] = await Promise.all([migratePostgres(url), migratePostgres(url)]);
  const all = [...x.applied, ...y.applied].sort();
  expect(new Set(all).size).toBe(all.length); // nothing applied twice
  expect(all.length).toBe(x.applied.length + x.skipped.length); // everything applied by one of them
  const again = await migratePostgres(url);
  expect(again.applied).toEqual([]);
  const rows = await query<{ name: string }>(url, `SELECT "name" FROM "_qsec_migrations" ORDER BY 1`);
  expect(rows.map((r) => r.name)).toEqual(all);
});

test("a failing migration is rolled back and not recorded; an edited one is refused", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-pgmig-"));
  try {
    cpSync(PG_MIGRATIONS_DIR, dir, { recursive: true });
    const bad = path.join(dir, "99999999999999_bad");
    cpSync(path.join(dir, "20261128000000_init"), bad, { recursive: true });
    writeFileSync(path.join(bad, "migration.sql"), `CREATE TABLE "Half" ("id" int);\nSELECT no_such_function();\n`);
    const url = await emptyDatabase();
    await expect(migratePostgres(url, { dir })).rejects.toThrow(/99999999999999_bad failed and was rolled back/);
    expect(await query(url, `SELECT 1 FROM information_schema.tables WHERE table_name = 'Half'`)).toEqual([]);
    const names = (await query<{ name: string }>(url, `SELECT "name" FROM "_qsec_migrations"`)).map((r) => r.name);
    expect(names).not.toContain("99999999999999_bad");
    expect(names).toContain("20261128000000_init");

    rmSync(bad, { recursive: true });
    appendFileSync(path.join(dir, "20261128000000_init", "migration.sql"), "\n-- edited\n");
    await expect(migratePostgres(url, { dir })).rejects.toThrow(/20261128000000_init was edited after it was applied/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
