/**
 * The real server process (server/main.ts, relay only) on DATABASE_URL=postgresql://… (postgresql
 * Jest project only): two nodes started together on an empty database both come up (the migration
 * runner's lock lets one apply, the other finds nothing left), and a member's join is stored.
 */
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { startAppServer, type AppServer } from "../e2e/helpers/app-server";
import { connectRaw } from "../helpers/raw-client";
import { pgAdmin, pgUrlFor } from "../helpers/test-db";

const name = `qsec_test_${randomBytes(8).toString("hex")}`;
const url = pgUrlFor(name);
const servers: AppServer[] = [];

beforeAll(() => pgAdmin((c) => c.query(`CREATE DATABASE "${name}"`)));
afterAll(async () => {
  for (const s of servers) await s.stop();
  await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
});

test("two servers starting together on an empty PostgreSQL database migrate it once and serve", async () => {
  const env = { QSEC_PAGES: "0", DATABASE_URL: url, ADMIN_TOKEN: "x".repeat(32) };
  servers.push(...(await Promise.all([startAppServer({ env }), startAppServer({ env })])));
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string }>(`SELECT "name" FROM "_qsec_migrations" ORDER BY 1`);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);

    const m = await connectRaw(servers[1].url);
    try {
      expect(await m.call("room:join", { roomId: "pg-room", displayName: "alice" })).toMatchObject({ ok: true, data: { created: true } });
    } finally {
      m.close();
    }
    const room = await c.query(`SELECT "id" FROM "Room" WHERE "id" = 'pg-room'`);
    expect(room.rows).toEqual([{ id: "pg-room" }]);
    const user = await c.query(`SELECT "displayName" FROM "User"`);
    expect(user.rows).toEqual([{ displayName: "alice" }]);
  } finally {
    await c.end();
  }
});
