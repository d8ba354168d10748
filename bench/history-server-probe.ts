/**
 * A probe (not an npm script): where the server's time goes in one history:fetch of 1,000 rows,
 * on a temporary SQLite database holding 10,000 envelopes of the bench's size. Prints JSON:
 * fetchHistoryPage as the handler runs it, its parts (the raw query through Prisma, in one query
 * and in 200-row queries; the same through better-sqlite3 directly; JSON.parse of the bodies;
 * Socket.IO's encoding of the ack), each the median of a few rounds of 10 pages.
 * Run: npx tsx bench/history-server-probe.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import * as parser from "socket.io-parser";
import { createPrisma } from "@/server/db";
import { fetchHistoryPage } from "@/server/history/history.repository";
import { median, round } from "./lib/stats";

const ROOT = path.resolve(__dirname, "..");
const TOTAL = 10_000;
const PAGE = 1000;
const ROUNDS = 5;

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-history-probe-"));
  const url = `file:${path.join(tmp, "probe.db")}`;
  try {
    execFileSync(process.execPath, [path.join(ROOT, "scripts", "prisma-setup.mjs"), "deploy"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const prisma = await createPrisma(url);
    const room = "probe";
    const sender = randomBytes(16).toString("hex");
    await prisma.room.create({ data: { id: room, historyDays: 30, epoch: 2 } });
    const db = new Database(path.join(tmp, "probe.db"));
    const insert = db.prepare("INSERT INTO Envelope (roomId, epoch, senderId, kind, recipientId, body, createdAt) VALUES (?, 2, ?, 'room', NULL, ?, ?)");
    const b64 = (n: number) => randomBytes(n).toString("base64url");
    db.transaction(() => {
      for (let i = 0; i < TOTAL; i++) {
        const env = {
          id: b64(9),
          roomId: room,
          from: sender,
          to: null,
          epoch: 2,
          counter: i,
          iv: b64(12),
          ciphertext: b64(144),
          signature: b64(64),
          ts: new Date(Date.now() + i).toISOString(),
        };
        insert.run(room, sender, JSON.stringify(env), Date.now() + i);
      }
    })();
    const periods = [{ fromEpoch: 1, toEpoch: null }];
    const sql = `SELECT "id", "body", "kind", "epoch", "senderId", "recipientId" FROM "Envelope" WHERE "roomId" = ? AND "epoch" >= ? AND "id" < ? ORDER BY "id" DESC LIMIT ?`;
    const direct = db.prepare(sql);
    const encoder = new parser.Encoder();

    /** Ms for 10 pages of PAGE rows, each step timed apart, median of ROUNDS rounds. */
    const steps: Record<string, number[]> = {};
    const time = async (name: string, fn: () => Promise<unknown> | unknown) => {
      const t0 = performance.now();
      await fn();
      (steps[name] ??= []).push(performance.now() - t0);
    };
    for (let r = 0; r < ROUNDS; r++) {
      let before: number | undefined;
      const pages: { messages: unknown[] }[] = [];
      await time("fetchHistoryPage x10", async () => {
        for (let p = 0; p < TOTAL / PAGE; p++) {
          const page = await fetchHistoryPage(prisma, room, sender, periods, before, PAGE);
          pages.push(page);
          before = page.nextBefore ?? 0;
        }
      });
      await time("prisma raw, one query of 1,000 x10", async () => {
        let b = Number.MAX_SAFE_INTEGER;
        for (let p = 0; p < TOTAL / PAGE; p++) {
          const rows = await prisma.$queryRawUnsafe<{ id: number }[]>(sql, room, 1, b, PAGE + 1);
          b = Number(rows[PAGE - 1].id);
        }
      });
      await time("prisma raw, 200-row queries x50", async () => {
        let b = Number.MAX_SAFE_INTEGER;
        for (let p = 0; p < TOTAL / 200; p++) {
          const rows = await prisma.$queryRawUnsafe<{ id: number }[]>(sql, room, 1, b, 201);
          b = Number(rows[199].id);
        }
      });
      let raw: { id: number; body: string }[][] = [];
      await time("better-sqlite3 direct, 1,000 x10", () => {
        raw = [];
        let b = Number.MAX_SAFE_INTEGER;
        for (let p = 0; p < TOTAL / PAGE; p++) {
          const rows = direct.all(room, 1, b, PAGE + 1) as { id: number; body: string }[];
          raw.push(rows);
          b = rows[PAGE - 1].id;
        }
      });
      await time("JSON.parse of bodies x10 pages", () => {
        for (const rows of raw) for (const row of rows) JSON.parse(row.body);
      });
      await time("socket.io encode of the ack x10", () => {
        for (const page of pages) encoder.encode({ type: parser.PacketType.ACK, id: 1, nsp: "/", data: [{ ok: true, data: page }] });
      });
      await time("JSON.stringify of the page x10", () => {
        for (const page of pages) JSON.stringify(page);
      });
    }
    const out = {
      probe: "history-server",
      date: new Date().toISOString(),
      loadavg: os.loadavg().map((x) => round(x, 2)),
      rows: TOTAL,
      page: PAGE,
      medianMsPer10Pages: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, round(median(v), 1)])),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    db.close();
    await prisma.$disconnect();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
