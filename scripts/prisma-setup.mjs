#!/usr/bin/env node
// Runs the Prisma CLI offline: `generate` or `deploy` (migrate deploy), or `diff <from-schema-file|--empty>`.
// Prisma's CLI tries to download native engines unless PRISMA_QUERY_ENGINE_LIBRARY names an existing
// file; with engine "js" (prisma.config.ts) and engineType "client" no native engine is ever used.
import { spawnSync } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
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
    env,
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

const [cmd, arg] = process.argv.slice(2);
if (cmd === "generate") {
  prisma(["generate", "--no-hints"]);
} else if (cmd === "deploy") {
  ensureDataDir();
  prisma(["migrate", "deploy"]);
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
  console.error("usage: prisma-setup.mjs generate | deploy | diff [<old schema file>|--empty]");
  process.exit(2);
}
