#!/usr/bin/env node
// prisma/schema.prisma (SQLite) is the one schema anyone edits; prisma/postgresql/schema.prisma is
// generated from it, because Prisma reads a datasource's provider only as a literal, never from an
// environment variable (one folder per provider, as Umami does).
//   node scripts/pg-schema.mjs          writes prisma/postgresql/schema.prisma
//   node scripts/pg-schema.mjs --check  exits 1 when the committed copy differs from what it would write,
//                                       or when a SQLite migration has no PostgreSQL counterpart (or the reverse)
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SQLITE_SCHEMA = path.join(root, "prisma", "schema.prisma");
const PG_DIR = path.join(root, "prisma", "postgresql");
const PG_SCHEMA = path.join(PG_DIR, "schema.prisma");

/** The PostgreSQL schema for a SQLite schema's text (exported for prisma-setup.mjs, which converts historical schemas too). */
export function toPostgres(sqlite) {
  const header =
    "// GENERATED from prisma/schema.prisma by scripts/pg-schema.mjs: do not edit; edit prisma/schema.prisma and run\n" +
    "// `npm run db:pg-schema`. Checked by `npm run db:pg-schema-check`.\n";
  let out = sqlite;
  const swaps = [
    // The datasource: provider and a placeholder URL (the real one reaches the driver adapter from DATABASE_URL).
    [/(datasource db \{[^}]*?provider\s*=\s*)"sqlite"/, '$1"postgresql"'],
    [/(datasource db \{[^}]*?url\s*=\s*)"file:[^"]*"/, '$1"postgresql://placeholder/qsec"'],
    // A second generated client beside the SQLite one (node_modules/.prisma/client).
    [/(generator client \{[^}]*?provider\s*=\s*"prisma-client-js")/, '$1\n  output          = "../../node_modules/.prisma/client-pg"'],
  ];
  for (const [re, to] of swaps) {
    if (!re.test(out)) throw new Error(`pg-schema: prisma/schema.prisma no longer matches ${re} (update scripts/pg-schema.mjs)`);
    out = out.replace(re, to);
  }
  // Type mapping: every scalar the schema uses (String, Int, Float, Boolean, DateTime, Bytes) has a
  // PostgreSQL column type Prisma picks by default (text, integer, double precision, boolean,
  // timestamp(3), bytea), so no @db attribute is needed. Refuse what would map differently.
  if (/@db\.|\bDecimal\b|\bJson\b|\bBigInt\b/.test(sqlite.replace(/\/\/.*$/gm, "")))
    throw new Error("pg-schema: the schema uses @db.*, Decimal, Json or BigInt: add their PostgreSQL mapping to scripts/pg-schema.mjs");
  return header + out;
}

function migrationNames(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const want = toPostgres(readFileSync(SQLITE_SCHEMA, "utf8"));
  if (process.argv.includes("--check")) {
    const problems = [];
    const have = existsSync(PG_SCHEMA) ? readFileSync(PG_SCHEMA, "utf8") : null;
    if (have !== want) problems.push("prisma/postgresql/schema.prisma is not what prisma/schema.prisma generates: run `npm run db:pg-schema`");
    const sqlite = migrationNames(path.join(root, "prisma", "migrations"));
    const pg = migrationNames(path.join(PG_DIR, "migrations"));
    for (const m of sqlite.filter((m) => !pg.includes(m)))
      problems.push(`SQLite migration ${m} has no PostgreSQL counterpart: run \`node scripts/prisma-setup.mjs pg-migration ${m}\``);
    for (const m of pg.filter((m) => !sqlite.includes(m))) problems.push(`PostgreSQL migration ${m} has no SQLite counterpart`);
    // Each PostgreSQL migration keeps the schema it leads to; the last one must be today's schema.
    const last = pg.at(-1);
    const snapshot = last && path.join(PG_DIR, "migrations", last, "schema.prisma");
    if (last && (!existsSync(snapshot) || readFileSync(snapshot, "utf8") !== want))
      problems.push(`the PostgreSQL migrations end at a different schema than prisma/schema.prisma (${last}): port the new SQLite migration`);
    if (problems.length) {
      for (const p of problems) console.error(`db:pg-schema-check: ${p}`);
      process.exit(1);
    }
    console.log("db:pg-schema-check: prisma/postgresql matches prisma/schema.prisma and its migrations");
  } else {
    const before = existsSync(PG_SCHEMA) ? readFileSync(PG_SCHEMA, "utf8") : null;
    if (before !== want) writeFileSync(PG_SCHEMA, want);
    console.log(before === want ? "prisma/postgresql/schema.prisma already up to date" : "wrote prisma/postgresql/schema.prisma");
  }
}
