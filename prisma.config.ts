import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";

// The JavaScript schema engine runs through a driver adapter, so the Prisma CLI never needs its
// native engines (which it cannot download on an offline machine). DATABASE_URL's scheme picks the
// provider's folder: prisma/ for SQLite (file:), prisma/postgresql/ for PostgreSQL (its schema is
// generated from prisma/schema.prisma by scripts/pg-schema.mjs). PostgreSQL migrations are applied
// by server/pg-migrate.ts, not by `prisma migrate deploy` (prisma/orm#27403); the CLI only diffs.
const url = process.env.DATABASE_URL ?? "file:./data/qsec.db";
const postgres = /^postgres(ql)?:\/\//.test(url);
const dir = postgres ? path.join("prisma", "postgresql") : "prisma";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join(dir, "schema.prisma"),
  migrations: { path: process.env.QSEC_PRISMA_MIGRATIONS ?? path.join(dir, "migrations") },
  async adapter() {
    return postgres ? new PrismaPg({ connectionString: url }) : new PrismaBetterSQLite3({ url });
  },
});
