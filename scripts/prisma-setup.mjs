#!/usr/bin/env node
// Runs the Prisma CLI offline: `generate` (both clients: SQLite and PostgreSQL), `deploy` (SQLite:
// migrate deploy; PostgreSQL: server/pg-migrate.ts), `diff <from-schema-file|--empty>` (a new SQLite
// migration's SQL), or `pg-migration <sqlite migration name> [--schema <sqlite schema file>] [--force]`
// (that migration's PostgreSQL twin, see docs/deploy.md).
// Prisma's CLI tries to download native engines unless PRISMA_QUERY_ENGINE_LIBRARY names an existing
// file; with engine "js" (prisma.config.ts) and engineType "client" no native engine is ever used.
import { spawnSync } from "node:child_process";
import { mkdirSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const env = {
  ...process.env,
  PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? fileURLToPath(import.meta.url),
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
  PRISMA_DISABLE_WARNINGS: "1",
  DATABASE_URL: process.env.DATABASE_URL ?? "file:./data/qsec.db",
};
const prismaBin = path.join(root, "node_modules", "prisma", "build", "index.js");
if (!existsSync(prismaBin)) {
  console.error("prisma CLI not installed yet (run npm install)");
  process.exit(0);
}
function prisma(args, opts = {}) {
  const r = spawnSync(process.execPath, [prismaBin, ...args], {
    cwd: root,
    env: { ...env, ...opts.env },
    stdio: opts.capture ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
}

function ensureDataDir() {
  const url = env.DATABASE_URL;
  if (url.startsWith("file:")) mkdirSync(path.dirname(path.resolve(root, url.slice(5))), { recursive: true });
}

const isPostgres = (url) => /^postgres(ql)?:\/\//.test(url);
// The PostgreSQL schema is generated from the SQLite one; with no server at hand, generating the
// client needs only a URL with the right scheme (prisma.config.ts picks the folder from it).
const PG_PLACEHOLDER = "postgresql://placeholder/qsec";

const [cmd, arg, ...rest] = process.argv.slice(2);
if (cmd === "generate") {
  prisma(["generate", "--no-hints"], { env: { DATABASE_URL: "file:./data/qsec.db" } });
  prisma(["generate", "--no-hints"], { env: { DATABASE_URL: PG_PLACEHOLDER } });
} else if (cmd === "deploy") {
  if (isPostgres(env.DATABASE_URL)) {
    // `prisma migrate deploy` through the pg adapter fails in Prisma 6.19 (prisma/orm#27403): our own runner.
    const tsx = path.join(root, "node_modules", "tsx", "dist", "cli.mjs");
    const r = spawnSync(process.execPath, [tsx, path.join(root, "server", "pg-migrate.ts")], { cwd: root, env, stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
  ensureDataDir();
  prisma(["migrate", "deploy"]);
} else if (cmd === "pg-migration") {
  await pgMigration(arg, rest);
} else if (cmd === "diff") {
  // Writes a new migration's SQL to stdout: from the previous schema (a file, e.g. `git show HEAD:prisma/schema.prisma > /tmp/old.prisma`) or from empty.
  const from = !arg || arg === "--empty" ? ["--from-empty"] : ["--from-schema-datamodel", arg];
  ensureDataDir(); // the driver adapter opens DATABASE_URL even for a schema-only diff
  const sql = prisma(["migrate", "diff", ...from, "--to-schema-datamodel", "prisma/schema.prisma", "--script"], { capture: true });
  // The CLI prints its config notice on stdout too; keep only the SQL.
  process.stdout.write(
    sql
      .split("\n")
      .filter((l) => !l.startsWith("Loaded Prisma config"))
      .join("\n"),
  );
} else {
  console.error(
    "usage: prisma-setup.mjs generate | deploy | diff [<old schema file>|--empty] | pg-migration <sqlite migration name> [--schema <sqlite schema file>] [--force]",
  );
  process.exit(2);
}

/**
 * Writes prisma/postgresql/migrations/<name>/migration.sql with `prisma migrate diff --script` from
 * the PostgreSQL schema after the previous migration (the schema.prisma snapshot kept beside each
 * PostgreSQL migration; empty for the first) to the PostgreSQL schema generated from the SQLite
 * schema as it stands after <name>: prisma/schema.prisma, or --schema for an older one (e.g.
 * `git show <commit>:prisma/schema.prisma`). A pure schema-to-schema diff: no database, no shadow
 * database (`--from-migrations` through the pg adapter fails in Prisma 6.19 like migrate deploy).
 * Prisma's CLI still opens a connection through the adapter, so a PostgreSQL server must answer at
 * QSEC_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres); nothing is written there.
 * Idempotent: a twin with the same SQL and snapshot is left alone; a different one needs --force.
 */
async function pgMigration(name, args) {
  const fail = (msg) => {
    console.error(`pg-migration: ${msg}`);
    process.exit(1);
  };
  if (!name || name.startsWith("-")) fail("name the SQLite migration folder, e.g. `pg-migration 20261128110000_room_default_noise`");
  const sqliteDir = path.join(root, "prisma", "migrations");
  const pgDir = path.join(root, "prisma", "postgresql", "migrations");
  const names = (dir) =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
          .sort()
      : [];
  const sqlite = names(sqliteDir);
  if (!sqlite.includes(name)) fail(`no SQLite migration prisma/migrations/${name}`);
  const earlier = sqlite.slice(0, sqlite.indexOf(name));
  const missing = earlier.filter((m) => !existsSync(path.join(pgDir, m, "migration.sql")) || !existsSync(path.join(pgDir, m, "schema.prisma")));
  if (missing.length) fail(`port the earlier migrations first, in order: ${missing.join(", ")}`);
  const later = names(pgDir).filter((m) => m > name);
  if (later.length && !args.includes("--schema"))
    fail(`PostgreSQL migrations after ${name} exist (${later.join(", ")}): pass --schema with the SQLite schema as it stood after ${name}`);

  const { toPostgres } = await import("./pg-schema.mjs");
  const si = args.indexOf("--schema");
  let target;
  if (si >= 0) {
    if (!args[si + 1] || !existsSync(args[si + 1])) fail("--schema needs a readable SQLite schema file");
    target = toPostgres(readFileSync(args[si + 1], "utf8"));
  } else {
    target = toPostgres(readFileSync(path.join(root, "prisma", "schema.prisma"), "utf8"));
    const committed = path.join(root, "prisma", "postgresql", "schema.prisma");
    if (!existsSync(committed) || readFileSync(committed, "utf8") !== target)
      fail("prisma/postgresql/schema.prisma is stale: run `npm run db:pg-schema` first");
  }

  const url = process.env.QSEC_PG_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  if (!isPostgres(url)) fail("QSEC_PG_ADMIN_URL must be a postgresql:// URL");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-pg-migration-"));
  try {
    const schemaFile = path.join(tmp, "schema.prisma");
    writeFileSync(schemaFile, target);
    const prev = earlier.at(-1);
    const from = prev ? ["--from-schema-datamodel", path.join(pgDir, prev, "schema.prisma")] : ["--from-empty"];
    const r = spawnSync(process.execPath, [prismaBin, "migrate", "diff", ...from, "--to-schema-datamodel", schemaFile, "--script"], {
      cwd: root,
      env: { ...env, DATABASE_URL: url },
      encoding: "utf8",
    });
    if (r.status !== 0)
      fail(`prisma migrate diff failed (it needs PostgreSQL at QSEC_PG_ADMIN_URL=${url.replace(/:[^:@/]*@/, ":***@")}):\n${r.stderr}${r.stdout}`);
    let sql = r.stdout
      .split("\n")
      .filter((l) => !l.startsWith("Loaded Prisma config"))
      .join("\n")
      .trim();
    if (!sql || sql === "-- This is an empty migration.") sql = `-- ${name}: no PostgreSQL change`;
    sql += "\n";
    const out = path.join(pgDir, name);
    const same = (f, text) => existsSync(path.join(out, f)) && readFileSync(path.join(out, f), "utf8") === text;
    if (existsSync(path.join(out, "migration.sql"))) {
      if (same("migration.sql", sql) && same("schema.prisma", target))
        return console.log(`pg-migration: prisma/postgresql/migrations/${name} already up to date`);
      if (!args.includes("--force")) fail(`prisma/postgresql/migrations/${name} exists with different SQL or snapshot (--force overwrites it)`);
    }
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, "migration.sql"), sql);
    writeFileSync(path.join(out, "schema.prisma"), target);
    console.log(`pg-migration: wrote prisma/postgresql/migrations/${name}/migration.sql (and the schema.prisma snapshot after it)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
