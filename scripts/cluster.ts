/**
 * `npm run cluster [-- --nodes 3 --port 8080 --relay-only]`: a demo of QSEC as several processes
 * behind one address, all on loopback (docs/deploy.md). Starts N nodes (server/main.ts) sharing
 * state through Redis (QSEC_REDIS_URL, default redis://127.0.0.1:6379) and one PostgreSQL database
 * (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/qsec_cluster, created when missing),
 * then nginx (Debian's /usr/sbin/nginx, unprivileged, config from deploy/nginx.conf.template) in
 * front of them. Ctrl-C stops nginx and the nodes (SIGTERM: each finishes its writes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";

const ROOT = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const nodes = Number(opt("nodes", process.env.QSEC_CLUSTER_NODES ?? "2"));
const port = Number(opt("port", process.env.PORT ?? "8080"));
const relayOnly = args.includes("--relay-only");
const nginxBin = process.env.NGINX ?? "/usr/sbin/nginx";
const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/qsec_cluster";
const redisUrl = process.env.QSEC_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = process.env.QSEC_REDIS_PREFIX ?? "qsec_cluster:";
// Every node must share one admin token (sessions are signed with a key derived from it).
const adminToken = process.env.ADMIN_TOKEN ?? randomBytes(24).toString("base64url");

if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) throw new Error("--nodes: 1 to 16");
if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("--port: 1 to 65535");
if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new Error("npm run cluster needs a postgresql:// DATABASE_URL (one SQLite file is for one process)");

async function ensureDatabase(url: string) {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name ${name}: letters, digits and _ only`);
  u.pathname = "/postgres";
  const c = new Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const { rowCount } = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) {
      await c.query(`CREATE DATABASE "${name}"`);
      console.log(`cluster: created database ${name}`);
    }
  } finally {
    await c.end();
  }
}

function waitReady(child: ChildProcess, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let log = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      for (const line of text.split("\n")) if (line.trim()) process.stdout.write(`[${label}] ${line}\n`);
      log += text;
      const m = /QSEC ready at (https?:\/\/localhost:\d+)/.exec(log);
      if (m) resolve(m[1]);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${label} exited (${code}) before it was ready`)));
  });
}

async function main() {
  await ensureDatabase(databaseUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-cluster-"));
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of [...children].reverse()) if (c.pid && c.exitCode === null) process.kill(-c.pid, "SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : Promise.resolve())));
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  const nodePorts = Array.from({ length: nodes }, (_, i) => port + 1 + i);
  // One after the other: the first migrates the database (the others would wait on its lock anyway).
  for (let i = 0; i < nodes; i++) {
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules", ".bin", "tsx"), "server/main.ts"], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PORT: String(nodePorts[i]),
        HOST: "127.0.0.1",
        DATABASE_URL: databaseUrl,
        QSEC_REDIS_URL: redisUrl,
        QSEC_REDIS_PREFIX: prefix,
        QSEC_NODE_ID: `node${i + 1}`,
        QSEC_TRUST_PROXY: "1",
        ADMIN_TOKEN: adminToken,
        QSEC_DATA_DIR: path.join(dir, `node${i + 1}`),
        // Next allows one dev server per build folder.
        QSEC_NEXT_DIST_DIR: process.env.NODE_ENV === "production" ? (process.env.QSEC_NEXT_DIST_DIR ?? ".next") : `.next-cluster-${i + 1}`,
        ...(relayOnly && { QSEC_PAGES: "0" }),
      },
    });
    children.push(child);
    mkdirSync(path.join(dir, `node${i + 1}`), { recursive: true });
    await waitReady(child, `node${i + 1}`);
  }

  const conf = readFileSync(path.join(ROOT, "deploy", "nginx.conf.template"), "utf8")
    .replaceAll("@PREFIX@", dir)
    .replaceAll("@LISTEN@", `127.0.0.1:${port}`)
    .replace("@UPSTREAMS@", nodePorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join("\n"));
  writeFileSync(path.join(dir, "nginx.conf"), conf);
  const nginx = spawn(nginxBin, ["-p", dir, "-c", path.join(dir, "nginx.conf")], { detached: true, stdio: ["ignore", "inherit", "inherit"] });
  children.push(nginx);
  nginx.once("exit", (code) => {
    if (!stopping) {
      console.error(`cluster: nginx exited (${code})`);
      void stop(1);
    }
  });
  for (const c of children.slice(0, nodes))
    c.once("exit", (code, signal) => {
      if (!stopping) console.error(`cluster: a node exited (${code ?? signal}); nginx sends its clients to the others`);
    });
  for (let i = 0; i < 50; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`\nQSEC cluster: ${nodes} nodes (ports ${nodePorts.join(", ")}) behind nginx at http://localhost:${port}`);
  console.log(`  database ${databaseUrl.replace(/:[^:@/]*@/, ":***@")}, Redis ${redisUrl} (prefix ${prefix})`);
  if (!process.env.ADMIN_TOKEN) console.log(`  admin console: http://localhost:${port}/admin/login#token=${adminToken}`);
  console.log("  Ctrl-C stops everything.");
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
