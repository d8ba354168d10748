/**
 * The real server process (server/main.ts, relay only) and its log durability: a clean SIGTERM
 * stores every row it queued and exits 0; a hard kill loses at most the last ~100 ms of rows.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPrisma } from "@/server/db";
import { b64 } from "../helpers/bytes";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { sleep } from "../helpers/waits";

const ROOT = path.resolve(__dirname, "..", "..");

async function startProcess(dbFile: string): Promise<{ child: ChildProcess; url: string; exit: Promise<{ code: number | null; signal: string | null }> }> {
  // `node --import tsx` keeps it one process, so signals reach the server itself.
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", QSEC_PAGES: "0", NODE_ENV: "production", DATABASE_URL: `file:${dbFile}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("server did not start:\n" + out)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /QSEC ready at (http:\/\/localhost:\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1].replace("localhost", "127.0.0.1"));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => reject(new Error("server exited:\n" + out)));
  });
  return { child, url, exit };
}

async function relayedCount(dbFile: string, roomId: string): Promise<number> {
  const prisma = await createPrisma(`file:${dbFile}`);
  try {
    const rows = await prisma.roomLog.findMany({ where: { roomId, type: "MESSAGE_RELAYED" } });
    return rows.reduce((n, r) => n + (JSON.parse(r.meta).count as number), 0);
  } finally {
    await prisma.$disconnect();
  }
}

async function pair(url: string, roomId: string): Promise<{ a: RawClient; b: RawClient; epoch: number }> {
  const a = await connectRaw(url);
  const b = await connectRaw(url);
  await a.call("room:join", { roomId, displayName: "a" });
  const j = (await b.call("room:join", { roomId, displayName: "b" })) as any;
  return { a, b, epoch: j.data.epoch };
}

const send = (c: RawClient, roomId: string, epoch: number, counter: number) =>
  c.call("message:send", { roomId, epoch, counter, iv: b64(12), ciphertext: b64(100), signature: b64(64) });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "qsec-durable-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("SIGTERM: every queued log row is stored, memberships end offline, exit code 0", async () => {
  const db = path.join(dir, "term.db");
  const srv = await startProcess(db);
  const { a, b, epoch } = await pair(srv.url, "term");
  const acks = await Promise.all(Array.from({ length: 80 }, (_, i) => send(a, "term", epoch, i + 1)));
  expect(acks.every((r) => r !== "no-ack" && r.ok)).toBe(true);
  srv.child.kill("SIGTERM"); // right away: rows are still queued in memory
  expect(await srv.exit).toEqual({ code: 0, signal: null });
  a.close();
  b.close();
  expect(await relayedCount(db, "term")).toBe(80);
  const prisma = await createPrisma(`file:${db}`);
  expect(await prisma.membership.count({ where: { online: true } })).toBe(0);
  expect(await prisma.roomLog.count({ where: { roomId: "term", type: "MEMBER_JOINED" } })).toBe(2);
  await prisma.$disconnect();
});

test("SIGTERM does not wait for an idle or half-sent HTTP connection", async () => {
  const db = path.join(dir, "idle.db");
  const srv = await startProcess(db);
  const { connect } = await import("node:net");
  const port = Number(new URL(srv.url).port);
  const idle = connect(port, "127.0.0.1");
  await new Promise((r) => idle.once("connect", r));
  idle.write("GET / HTTP/1.1\r\nHost: x\r\n"); // never finished
  idle.on("error", () => {});
  await sleep(100);
  const t = Date.now();
  srv.child.kill("SIGTERM");
  expect(await srv.exit).toEqual({ code: 0, signal: null });
  expect(Date.now() - t).toBeLessThan(5000);
  idle.destroy();
});

test("hard kill: rows for messages acknowledged more than 100 ms before the kill survive", async () => {
  const db = path.join(dir, "kill.db");
  const srv = await startProcess(db);
  const { a, b, epoch } = await pair(srv.url, "kill");
  const ackedAt: number[] = [];
  let stop = false;
  const sender = (async () => {
    for (let i = 1; !stop; i++) {
      const r = await send(a, "kill", epoch, i);
      if (r !== "no-ack" && r.ok) ackedAt.push(Date.now());
      await sleep(25); // ~40/s, under the per-socket rate limit
    }
  })();
  await sleep(1500);
  const killedAt = Date.now();
  srv.child.kill("SIGKILL");
  stop = true;
  expect((await srv.exit).signal).toBe("SIGKILL");
  await sender;
  a.close();
  b.close();
  const mustSurvive = ackedAt.filter((t) => t <= killedAt - 100).length;
  expect(mustSurvive).toBeGreaterThan(20);
  const stored = await relayedCount(db, "kill");
  expect(stored).toBeGreaterThanOrEqual(mustSurvive);
  expect(stored).toBeLessThanOrEqual(ackedAt.length + 1);
});
