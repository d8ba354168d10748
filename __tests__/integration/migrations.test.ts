/**
 * Upgrading keeps the data: every committed migration, applied to a database that already holds
 * rooms, users, memberships, logs and BB84 summaries, must leave those rows in place. SQLite
 * migrations that redefine a table drop and recreate it; with foreign keys on, dropping Room would
 * cascade into every row that references it, so this guards each new migration.
 */
import Database from "better-sqlite3";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const dir = path.resolve(__dirname, "../../prisma/migrations");
const migrations = readdirSync(dir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

function tables(db: Database.Database): Set<string> {
  return new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
}

function seed(db: Database.Database, tag: string) {
  const t = tables(db);
  db.prepare("INSERT INTO Room (id) VALUES (?)").run(`room-${tag}`);
  db.prepare("INSERT INTO User (id, displayName, signingKey, agreementKey) VALUES (?, 'n', 's', 'a')").run(`user-${tag}`);
  db.prepare("INSERT INTO Membership (roomId, userId) VALUES (?, ?)").run(`room-${tag}`, `user-${tag}`);
  db.prepare("INSERT INTO RoomLog (roomId, type) VALUES (?, 'ROOM_CREATED')").run(`room-${tag}`);
  if (t.has("Bb84Session"))
    db.prepare("INSERT INTO Bb84Session (id, roomId, aliceId, bobId, qubits) VALUES (?, ?, 'a', 'b', 4096)").run(`s-${tag}`, `room-${tag}`);
}

function counts(db: Database.Database) {
  const out: Record<string, number> = {};
  for (const t of ["Room", "User", "Membership", "RoomLog", "Bb84Session"]) {
    if (tables(db).has(t)) out[t] = (db.prepare(`SELECT count(*) AS c FROM "${t}"`).get() as { c: number }).c;
  }
  return out;
}

test.each(migrations.slice(0, -1).map((m, i) => [m, i + 1]))("rows stored before the migrations after %s survive them all", (_name, k) => {
  expect(migrations.length).toBeGreaterThan(1);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-mig-"));
  const db = new Database(path.join(tmp, "m.db"));
  try {
    db.pragma("foreign_keys = ON"); // as the app runs
    for (const m of migrations.slice(0, k as number)) db.exec(readFileSync(path.join(dir, m, "migration.sql"), "utf8"));
    seed(db, "old");
    const before = counts(db);
    expect(before.RoomLog).toBe(1);
    for (const m of migrations.slice(k as number)) db.exec(readFileSync(path.join(dir, m, "migration.sql"), "utf8"));
    const after = counts(db);
    for (const [t, n] of Object.entries(before)) expect([t, after[t]]).toEqual([t, n]);
    expect(db.pragma("foreign_key_check")).toEqual([]);
    seed(db, "new"); // the upgraded schema still takes new rows
  } finally {
    db.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
