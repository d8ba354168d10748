/**
 * Where an idle authenticated connection's heap goes: a QSEC node (bench/lib/qsec-server.ts, one
 * process, PostgreSQL) with 10 connections, a heap snapshot, 1,000 more authenticated connections,
 * another snapshot; prints the difference per connection by V8 node type / constructor (bytes,
 * count). A probe for bench:cluster's "memory per idle connection" figure, not a benchmark.
 * Run: npx tsx bench/heap-probe.ts  (needs PostgreSQL at 127.0.0.1:5432; writes two snapshots to
 * the OS temp folder and removes them)
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { connectRaw, type RawClient } from "@/__tests__/helpers/raw-client";
import { pgAdmin, pgUrlFor } from "@/__tests__/helpers/test-db";
import { spawnServer } from "./lib/child";
const dbName = `qsec_heap_${process.pid}`;
const h1 = path.join(os.tmpdir(), `qsec-heap-${process.pid}-1.heapsnapshot`);
const h2 = path.join(os.tmpdir(), `qsec-heap-${process.pid}-2.heapsnapshot`);
function summarize(file: string) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const f = snap.snapshot.meta.node_fields as string[];
  const nf = f.length;
  const types = snap.snapshot.meta.node_types[0] as string[];
  const it = f.indexOf("type"),
    in_ = f.indexOf("name"),
    is = f.indexOf("self_size");
  const by = new Map<string, { n: number; size: number }>();
  const nodes = snap.nodes as number[];
  const strings = snap.strings as string[];
  for (let i = 0; i < nodes.length; i += nf) {
    const t = types[nodes[i + it]];
    const name = t === "object" || t === "closure" ? `${t}:${strings[nodes[i + in_]]}` : t;
    const e = by.get(name) ?? { n: 0, size: 0 };
    e.n++;
    e.size += nodes[i + is];
    by.set(name, e);
  }
  return by;
}
async function main() {
  await pgAdmin((c) => c.query(`CREATE DATABASE "${dbName}"`));
  execFileSync(process.execPath, ["--import", "tsx", path.join(process.cwd(), "server", "pg-migrate.ts")], {
    env: { ...process.env, DATABASE_URL: pgUrlFor(dbName) },
    stdio: "inherit",
  });
  const node = await spawnServer("qsec-server.ts", { exposeGc: true, env: { BENCH_DATABASE_URL: pgUrlFor(dbName), BENCH_MAX_PER_ADDRESS: "2000" } });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 10; i++) clients.push(await connectRaw(node.url));
    await new Promise((r) => setTimeout(r, 500));
    await node.heapSnapshot(h1);
    const n = 1000;
    for (let i = 0; i < n; i += 25) clients.push(...(await Promise.all(Array.from({ length: 25 }, () => connectRaw(node.url)))));
    for (const c of clients) c.socket.offAny();
    await new Promise((r) => setTimeout(r, 2000));
    await node.heapSnapshot(h2);
    const a = summarize(h1),
      b = summarize(h2);
    const rows = [...b]
      .map(([k, v]) => ({ k, dn: v.n - (a.get(k)?.n ?? 0), ds: v.size - (a.get(k)?.size ?? 0) }))
      .sort((x, y) => y.ds - x.ds)
      .slice(0, 45);
    let tot = 0;
    for (const [k, v] of b) tot += v.size - (a.get(k)?.size ?? 0);
    console.log("total bytes/conn", (tot / n).toFixed(0));
    for (const r of rows) console.log((r.ds / n).toFixed(0).padStart(6), (r.dn / n).toFixed(2).padStart(7), r.k);
  } finally {
    for (const c of clients) c.close();
    await node.stop();
    rmSync(h1, { force: true });
    rmSync(h2, { force: true });
    await pgAdmin((c) => c.query(`DROP DATABASE "${dbName}" WITH (FORCE)`));
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
