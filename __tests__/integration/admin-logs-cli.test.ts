/**
 * The logs CLI (npm run logs) as an operator runs it: a child process reading a temporary database
 * with rows, through the same filter and query code as the console.
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { createPrisma } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "../helpers/test-db";
import { until } from "../helpers/waits";

const ROOT = path.resolve(__dirname, "..", "..");
// What `npm run logs` runs: node with tsx's loader, so Ctrl-C reaches the CLI itself (no wrapper process in between).
const CLI = ["--import", "tsx", "scripts/logs.ts"];
const ALICE = "a".repeat(32);
const BOB = "b".repeat(32);

let db: TestDatabase;
let dbUrl: string;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase(); // SQLite or PostgreSQL, by the Jest project
  dbUrl = db.url;
  prisma = await createPrisma(dbUrl);
  await prisma.room.createMany({ data: [{ id: "cli-room" }, { id: "other" }] });
  await prisma.user.createMany({
    data: [
      { id: ALICE, displayName: "Alice", signingKey: "k", agreementKey: "k" },
      { id: BOB, displayName: "<img src=x onerror=alert(1)>", signingKey: "k", agreementKey: "k" },
    ],
  });
  const at = (m: number) => new Date(Date.parse("2026-11-01T12:00:00Z") + m * 60_000);
  await prisma.roomLog.createMany({
    data: [
      { roomId: "cli-room", type: "ROOM_CREATED", actorId: ALICE, meta: JSON.stringify({ capacity: null }), createdAt: at(0) },
      { roomId: "cli-room", type: "MEMBER_JOINED", actorId: ALICE, meta: JSON.stringify({ displayName: "Alice" }), createdAt: at(1) },
      { roomId: "cli-room", type: "MEMBER_JOINED", actorId: BOB, meta: JSON.stringify({ displayName: "<img src=x onerror=alert(1)>" }), createdAt: at(2) },
      { roomId: "cli-room", type: "MESSAGE_RELAYED", actorId: BOB, meta: JSON.stringify({ epoch: 2, bytes: 128 }), createdAt: at(3) },
      { roomId: "cli-room", type: "MEMBER_LEFT", actorId: ALICE, meta: JSON.stringify({ reason: "disconnect" }), createdAt: at(4) },
      { roomId: "other", type: "MEMBER_JOINED", actorId: ALICE, meta: "{}", createdAt: at(5) },
    ],
  });
});

afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

function run(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: dbUrl }, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("--json prints one object per row of the room, oldest first, with names", () => {
  const r = run(["--room", "cli-room", "--json"]);
  expect(r.code).toBe(0);
  const rows = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(rows.map((x) => x.type)).toEqual(["ROOM_CREATED", "MEMBER_JOINED", "MEMBER_JOINED", "MESSAGE_RELAYED", "MEMBER_LEFT"]);
  expect(rows.every((x) => x.roomId === "cli-room")).toBe(true);
  expect(rows[2]).toMatchObject({ actorId: BOB, actorName: "<img src=x onerror=alert(1)>", meta: { displayName: "<img src=x onerror=alert(1)>" } });
});

test("--type, --since, --actor and --text filter like the console", () => {
  const types = (args: string[]) =>
    run(["--room", "cli-room", "--json", ...args])
      .stdout.trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).type);
  expect(types(["--type", "MEMBER_JOINED"])).toEqual(["MEMBER_JOINED", "MEMBER_JOINED"]);
  expect(types(["--type", "MEMBER_LEFT,ROOM_CREATED"])).toEqual(["ROOM_CREATED", "MEMBER_LEFT"]);
  expect(types(["--since", "2026-11-01T12:02:00Z"])).toEqual(["MEMBER_JOINED", "MESSAGE_RELAYED", "MEMBER_LEFT"]);
  expect(types(["--since=2026-11-01T12:02:00Z", "--until", "2026-11-01T12:04:00Z"])).toEqual(["MEMBER_JOINED", "MESSAGE_RELAYED"]);
  expect(types(["--actor", "alice"])).toEqual(["ROOM_CREATED", "MEMBER_JOINED", "MEMBER_LEFT"]);
  expect(types(["--actor", "bbbbbbbb"])).toEqual(["MEMBER_JOINED", "MESSAGE_RELAYED"]);
  expect(types(["--text", "disconnect"])).toEqual(["MEMBER_LEFT"]);
  expect(types(["--type", "SECURITY_REJECTED"])).toEqual([]);
});

test("text output names the type, actor and metadata on one line per row", () => {
  const r = run(["--room", "cli-room", "--type", "MESSAGE_RELAYED"]);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain("MESSAGE_RELAYED");
  expect(lines[0]).toContain("actor=<img src=x onerror=alert(1)> (bbbbbbbb)");
  expect(lines[0]).toContain('{"epoch":2,"bytes":128}');
});

test("bad flags fail with a clear message and exit code 2", () => {
  const cases: [string[], RegExp][] = [
    [[], /--room is required/],
    [["--room"], /--room needs a value/],
    [["--room", "cli-room", "--type", "NOPE"], /--type: unknown event type "NOPE"/],
    [["--room", "cli-room", "--since", "last tuesday"], /--since: expected a date and time/],
    [["--room", "bad room!"], /--room: room id/],
    [["--room", "cli-room", "--colour"], /unknown option "--colour"/],
  ];
  for (const [args, msg] of cases) {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stdout).toBe("");
  }
});

test("--follow prints rows added later and exits cleanly on SIGINT", async () => {
  const child = spawn(process.execPath, [...CLI, "--room", "cli-room", "--type", "MEMBER_JOINED", "--follow", "--interval", "100", "--json"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: dbUrl },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await until(() => out.trim().split("\n").filter(Boolean).length === 2, 30_000, "the existing rows");
    await prisma.roomLog.create({ data: { roomId: "cli-room", type: "MEMBER_JOINED", actorId: ALICE, meta: JSON.stringify({ displayName: "Alice again" }) } });
    await prisma.roomLog.create({ data: { roomId: "cli-room", type: "MESSAGE_RELAYED", actorId: ALICE, meta: "{}" } }); // filtered out
    await prisma.roomLog.create({ data: { roomId: "other", type: "MEMBER_JOINED", actorId: ALICE, meta: "{}" } }); // another room
    await until(() => out.includes("Alice again"), 30_000, "the followed row");
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const rows = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.meta.displayName)).toEqual(["Alice", "<img src=x onerror=alert(1)>", "Alice again"]);
    expect(err).not.toMatch(/error/i);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("a large room prints every row through a pipe (nothing lost at exit, slow reader or not)", async () => {
  const N = 20_000;
  const rows = Array.from({ length: N }, (_, i) => ({
    roomId: "big",
    type: "MESSAGE_RELAYED",
    actorId: ALICE,
    meta: JSON.stringify({ epoch: 1, bytes: i, recipients: 3, count: 1 }),
  }));
  await prisma.room.create({ data: { id: "big" } });
  for (let i = 0; i < N; i += 5000) await prisma.roomLog.createMany({ data: rows.slice(i, i + 5000) });
  // A pipe whose reader pauses now and then: the pipe fills and writes become asynchronous.
  const child = spawn(process.execPath, [...CLI, "--room", "big", "--json"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: dbUrl } });
  let lines = 0;
  let last = "";
  let paused = 0;
  child.stdout.on("data", (d: Buffer) => {
    const s = last + d.toString();
    const parts = s.split("\n");
    last = parts.pop()!;
    lines += parts.length;
    if (paused++ % 20 === 0) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 20);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  expect(code).toBe(0);
  expect(last).toBe("");
  expect(lines).toBe(N);
}, 60_000);

test("a room with no rows says so on stderr (stdout stays empty, exit 0): a mistyped room id is not silence", () => {
  const missing = run(["--room", "cli-rom"]);
  expect(missing.code).toBe(0);
  expect(missing.stdout).toBe("");
  expect(missing.stderr).toMatch(/no room "cli-rom" in this database/);
  const filtered = run(["--room", "cli-room", "--type", "SECURITY_REJECTED", "--json"]);
  expect(filtered.code).toBe(0);
  expect(filtered.stdout).toBe("");
  expect(filtered.stderr).toMatch(/no rows of room "cli-room" match/);
  expect(run(["--room", "cli-room"]).stderr).toBe("");
});
