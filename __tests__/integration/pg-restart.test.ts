/**
 * PostgreSQL restarted under the room-log writer. The test runs its own PostgreSQL 15 (initdb in a
 * temporary directory, its own port; never the machine's server, which other suites share): rows
 * appended while it is down are kept and written once it is back, none lost while the queue has
 * room; past the bound (QSEC_LOG_QUEUE_MAX) new rows are dropped, counted, and reported once.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { createPrisma } from "@/server/db";
import { migratePostgres } from "@/server/pg-migrate";
import { LogWriter } from "@/server/logs/log-writer";
import { until } from "../helpers/waits";
import { freePort } from "../helpers/free-port";

const BIN = "/usr/lib/postgresql/15/bin";
const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-pg-"));
const data = path.join(dir, "data");
let port = 0;
let prisma: PrismaClient | null = null;
let writer: LogWriter | null = null;

// initdb refuses root: run the server as the postgres user, owner of the temporary directory.
const asUser = (cmd: string, args: string[]) =>
  process.getuid?.() === 0 ? execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" }) : execFileSync(cmd, args, { stdio: "pipe" });
const pgCtl = (...args: string[]) => asUser(path.join(BIN, "pg_ctl"), ["-D", data, ...args]);
const start = () => pgCtl("-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "-l", path.join(dir, "log"), "-w", "start");
const stop = () => pgCtl("-m", "fast", "-w", "stop");

beforeAll(async () => {
  for (const bin of ["initdb", "pg_ctl"])
    if (!existsSync(path.join(BIN, bin)))
      throw new Error(`${path.join(BIN, bin)} is missing: this test runs its own PostgreSQL 15 (Debian: apt-get install postgresql-15)`);
  if (process.getuid?.() === 0)
    chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), Number(execFileSync("id", ["-g", "postgres"]).toString()));
  chmodSync(dir, 0o700);
  port = await freePort();
  asUser(path.join(BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  start();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  await migratePostgres(url);
  prisma = await createPrisma(url);
  await prisma.room.create({ data: { id: "outage" } });
}, 60_000);

afterAll(async () => {
  await writer?.close().catch(() => {});
  await prisma?.$disconnect().catch(() => {});
  try {
    stop();
  } catch {
    /* already stopped */
  }
  rmSync(dir, { recursive: true, force: true });
});

test("PostgreSQL restarted: the log writer keeps rows while it is down and writes them after, drops past its bound and says so", async () => {
  const errors: unknown[] = [];
  const drops: number[] = [];
  writer = new LogWriter(
    prisma!,
    20,
    (e) => errors.push(e),
    50,
    (n) => drops.push(n),
  );
  const rows = () => prisma!.roomLog.count({ where: { roomId: "outage" } });
  const append = (n: number, from: number) => {
    for (let i = 0; i < n; i++) writer!.append({ roomId: "outage", type: "MESSAGE_RELAYED", actorId: `u${from + i}`, meta: { bytes: from + i } });
  };
  append(10, 0);
  await until(() => writer!.pending === 0, 5000, "the first rows written");
  expect(await rows()).toBe(10);

  // Down: 30 rows wait in the queue (flushes fail and are retried), none dropped.
  stop();
  append(30, 10);
  await until(() => errors.length >= 2, 10_000, "failed flushes while the database is down");
  expect(writer.pending).toBe(30);
  expect(writer.dropped).toBe(0);
  start();
  await until(() => writer!.pending === 0, 20_000, "the queued rows written after the restart");
  expect(await rows()).toBe(40);
  expect(drops).toEqual([]);

  // Down again, past the bound (50): the 10 rows beyond it are dropped, counted and reported once.
  stop();
  append(60, 40);
  expect(writer.dropped).toBe(10);
  expect(drops).toEqual([1]);
  start();
  await until(() => writer!.pending === 0, 20_000, "the queued rows written after the second restart");
  const stored = await prisma!.roomLog.findMany({ where: { roomId: "outage" }, orderBy: { id: "asc" } });
  expect(stored).toHaveLength(90);
  // Order kept, and exactly the rows past the bound are missing (u90..u99).
  expect(stored.map((r) => r.actorId)).toEqual(Array.from({ length: 90 }, (_, i) => `u${i}`));
});
