/**
 * A fresh database for one test, on the engine of the Jest project that runs it: SQLite (a copy of
 * the migrated template file, global-setup.js) or PostgreSQL (`CREATE DATABASE qsec_test_<random>
 * TEMPLATE <migrated template>`, global-setup-pg.js), dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";

export interface TestDatabase {
  /** DATABASE_URL for it. */
  url: string;
  engine: "sqlite" | "postgresql";
  drop(): Promise<void>;
}

export const testEngine = (): "sqlite" | "postgresql" => (process.env.QSEC_TEST_DB === "postgresql" ? "postgresql" : "sqlite");

/** The maintenance database URL the PostgreSQL test project creates and drops its databases through. */
export const pgAdminUrl = () => process.env.QSEC_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export function pgUrlFor(db: string): string {
  const u = new URL(pgAdminUrl());
  u.pathname = `/${db}`;
  return u.toString();
}

export async function pgAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: pgAdminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testEngine() === "postgresql") {
    const template = process.env.QSEC_TEST_PG_TEMPLATE;
    if (!template) throw new Error("QSEC_TEST_PG_TEMPLATE unset: run through jest's postgresql project (global-setup-pg.js)");
    const name = `qsec_test_${randomBytes(8).toString("hex")}`;
    await pgAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
    return {
      url: pgUrlFor(name),
      engine: "postgresql",
      async drop() {
        if (!process.env.QSEC_KEEP_TEST_DB) await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      },
    };
  }
  const template = process.env.QSEC_TEMPLATE_DB;
  if (!template) throw new Error("QSEC_TEMPLATE_DB unset: run through jest (globalSetup)");
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-test-"));
  const file = path.join(dir, "test.db");
  copyFileSync(template, file);
  return {
    url: `file:${file}`,
    engine: "sqlite",
    async drop() {
      if (!process.env.QSEC_KEEP_TEST_DB) rmSync(dir, { recursive: true, force: true });
    },
  };
}
