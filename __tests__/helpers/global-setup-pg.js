// The postgresql Jest project: one migrated template database (server/pg-migrate.ts, the runner the
// server uses), which each test clones with CREATE DATABASE … TEMPLATE (see test-db.ts); dropped in
// global-teardown-pg.js.
const { execFileSync } = require("node:child_process");
const { randomBytes } = require("node:crypto");
const path = require("node:path");
const { Client } = require("pg");

module.exports = async () => {
  const adminUrl = process.env.QSEC_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const c = new Client({ connectionString: adminUrl });
  try {
    await c.connect();
  } catch (e) {
    throw new Error(
      `The postgresql test project needs PostgreSQL at ${adminUrl} (set QSEC_TEST_PG_URL): ${e.message}. ` +
        "Start it, or run the SQLite suites alone with `npm run test:sqlite`.",
    );
  }
  const name = `qsec_test_tpl_${randomBytes(6).toString("hex")}`;
  try {
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const root = path.join(__dirname, "..", "..");
  execFileSync(process.execPath, ["--import", "tsx", path.join(root, "server", "pg-migrate.ts")], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: u.toString() },
    stdio: ["ignore", "ignore", "pipe"], // quiet; a failure's message carries the runner's stderr
  });
  process.env.QSEC_TEST_PG_TEMPLATE = name;
};
