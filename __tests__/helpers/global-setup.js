// Applies the committed Prisma migrations once to a template SQLite file; each integration test
// copies it to its own temporary database (see __tests__/helpers/server.ts).
const { execFileSync } = require("node:child_process");
const { mkdtempSync } = require("node:fs");
const os = require("node:os");
const path = require("node:path");

module.exports = async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-template-"));
  const file = path.join(dir, "template.db");
  execFileSync(process.execPath, [path.join(__dirname, "..", "..", "scripts", "prisma-setup.mjs"), "deploy"], {
    env: { ...process.env, DATABASE_URL: `file:${file}` },
    stdio: ["ignore", "ignore", "inherit"],
  });
  process.env.QSEC_TEMPLATE_DB = file;
};
