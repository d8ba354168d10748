/**
 * The admin console's server side on the real application (port 0, temporary SQLite): the /admin
 * namespace's access control and live tail, the log filters and keyset pages, streamed export,
 * retention, the rooms overview and channel controls, observed the way an operator, a member or
 * an outsider would.
 */
import { io as ioc, type Socket } from "socket.io-client";
import type { AdminLogEntry } from "@/lib/admin/events";
import { parseCsv } from "@/lib/admin/csv";
import { attachAdmin, type AdminConsole } from "@/server/admin/console";
import { ADMIN_COOKIE, sessionKey, signSession } from "@/server/admin/session";
import { scheduleRetention } from "@/server/admin/retention";
import type { Logger } from "@/server/logger";
import { startTestServer, type TestServer } from "../helpers/server";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { until } from "../helpers/waits";

const TOKEN = "integration-admin-token-0123456789";
let srv: TestServer;
let admin: AdminConsole;
let others: AdminConsole[] = [];
const clients: RawClient[] = [];
const sockets: Socket[] = [];

beforeEach(async () => {
  srv = await startTestServer();
  // Every node serves the console, as server/main.ts does (one node but in the cluster project).
  others = srv.nodes.slice(1).map((n) => attachAdmin(n.app, { token: TOKEN }));
  admin = attachAdmin(srv.app, { token: TOKEN });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.close();
  for (const a of others) await a.close();
  await admin.close();
  await srv.close();
});

async function cookie(): Promise<string> {
  return `${ADMIN_COOKIE}=${(await admin.auth.issue()).value}`;
}

/** Connects to /admin with these headers; resolves "connected" or the refusal message. */
function connectAdmin(headers: Record<string, string>): Promise<{ socket: Socket; result: string }> {
  const socket = ioc(`${srv.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: headers });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once("connect", () => resolve({ socket, result: "connected" }));
    socket.once("connect_error", (e) => resolve({ socket, result: e.message }));
  });
}

async function member(roomId: string, displayName: string): Promise<RawClient> {
  const c = await connectRaw(srv.url);
  clients.push(c);
  const r = await c.call("room:join", { roomId, displayName });
  if (r === "no-ack" || !r.ok) throw new Error(`join failed: ${JSON.stringify(r)}`);
  return c;
}

describe("the /admin namespace", () => {
  test("refuses a handshake without a valid session: none, forged, expired, another origin", async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await signSession(sessionKey("not-the-admin-token-at-all"), { issuedAt: now, expiresAt: now + 3600 });
    const expired = await signSession(sessionKey(TOKEN), { issuedAt: now - 7200, expiresAt: now - 60 });
    expect((await connectAdmin({})).result).toBe("NOT_AUTHENTICATED");
    expect((await connectAdmin({ cookie: `${ADMIN_COOKIE}=${forged}` })).result).toBe("NOT_AUTHENTICATED");
    expect((await connectAdmin({ cookie: `${ADMIN_COOKIE}=${expired}` })).result).toBe("NOT_AUTHENTICATED");
    expect((await connectAdmin({ cookie: "qsec_admin=garbage" })).result).toBe("NOT_AUTHENTICATED");
    expect((await connectAdmin({ cookie: await cookie(), origin: "http://evil.example" })).result).toBe("FORBIDDEN_ORIGIN");
    expect((await connectAdmin({ cookie: await cookie() })).result).toBe("connected");
  });

  test("a member's socket on the main namespace can't reach admin events", async () => {
    const m = await member("tail-x", "Mallory");
    expect(await m.call("tail:subscribe", { roomId: "tail-x" })).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  });

  test("the live tail delivers every stored row of a subscribed room, private ones included, with names as data", async () => {
    const { socket, result } = await connectAdmin({ cookie: await cookie() });
    expect(result).toBe("connected");
    const got: AdminLogEntry[] = [];
    socket.on("tail:appended", (p: { roomId: string; entries: AdminLogEntry[] }) => got.push(...p.entries));
    expect(await socket.emitWithAck("tail:subscribe", { roomId: "tail-1" })).toEqual({ ok: true, data: { roomId: "tail-1" } });
    expect(await socket.emitWithAck("tail:subscribe", { roomId: "no spaces allowed" })).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });

    const evil = "<img src=x onerror=alert(1)>";
    const a = await member("tail-1", evil);
    await member("other-room", "Elsewhere");
    await until(() => got.some((e) => e.type === "MEMBER_JOINED"), 3000, "join row on the tail");
    const join = got.find((e) => e.type === "MEMBER_JOINED")!;
    expect(join).toMatchObject({ roomId: "tail-1", actorId: a.userId, actorName: evil, meta: { displayName: evil } });
    expect(got.every((e) => e.roomId === "tail-1")).toBe(true);
    // Rows members never see (SECURITY_REJECTED: a direct message to someone not in the room) reach the operator.
    const b = await member("tail-1", "Bob");
    const dm = await a.call("message:send", {
      roomId: "tail-1",
      epoch: 0,
      counter: 1,
      iv: "AAAAAAAAAAAAAAAA",
      ciphertext: "AA",
      signature: "A".repeat(86),
      to: "0".repeat(32),
    });
    expect(dm).toMatchObject({ ok: false, error: { code: "UNKNOWN_PEER" } });
    await until(() => got.some((e) => e.type === "SECURITY_REJECTED" && e.actorId === a.userId), 3000, "the rejection on the tail");
    await srv.app.deps.logs.flush();
    const stored = await srv.prisma.roomLog.findMany({ where: { roomId: "tail-1" }, orderBy: { id: "asc" } });
    await until(() => got.length >= stored.length, 3000, "every stored row");
    expect(got.map((e) => e.id)).toEqual(stored.map((r) => r.id));

    // After unsubscribing, the room's rows stop; rows of a room still tailed keep coming (in flush order).
    expect(await socket.emitWithAck("tail:subscribe", { roomId: "other-room" })).toMatchObject({ ok: true });
    await socket.emitWithAck("tail:unsubscribe", { roomId: "tail-1" });
    const before = got.length;
    expect(await b.call("room:leave", { roomId: "tail-1" })).toMatchObject({ ok: true });
    await member("other-room", "Later");
    await until(() => got.some((e) => e.roomId === "other-room" && e.actorName === "Later"), 3000, "the other room's row");
    expect(got.slice(before).every((e) => e.roomId === "other-room")).toBe(true);
  });

  test("logout closes the session's admin sockets and its cookie stops working", async () => {
    const c = await cookie();
    const { socket } = await connectAdmin({ cookie: c });
    const ended = new Promise((r) => socket.once("session:ended", r));
    const closed = new Promise((r) => socket.once("disconnect", r));
    await admin.endSession((await admin.auth.verifyCookieHeader(c))!);
    expect(await ended).toEqual({ reason: "logout" });
    await closed;
    expect((await connectAdmin({ cookie: c })).result).toBe("NOT_AUTHENTICATED");
  });
});

describe("log queries, pages and export", () => {
  async function seed(roomId: string, n: number) {
    await srv.prisma.room.create({ data: { id: roomId } });
    await srv.prisma.user.createMany({
      data: [
        { id: "a".repeat(32), displayName: "Alice", signingKey: "k", agreementKey: "k" },
        { id: "b".repeat(32), displayName: '=Bob,"the" builder', signingKey: "k", agreementKey: "k" },
      ],
    });
    const base = Date.parse("2026-01-01T00:00:00Z");
    await srv.prisma.roomLog.createMany({
      data: Array.from({ length: n }, (_, i) => ({
        roomId,
        type: i % 3 === 0 ? "MEMBER_JOINED" : "MESSAGE_RELAYED",
        actorId: i % 2 ? "a".repeat(32) : "b".repeat(32),
        meta: JSON.stringify(i % 10 === 0 ? { note: `needle-${i}`, formula: "=1+1" } : { bytes: i }),
        createdAt: new Date(base + i * 60_000),
      })),
    });
  }

  test("filters by type, actor (name or id prefix), time range and metadata text", async () => {
    await seed("q", 300);
    const all = await admin.queryLogs({ roomId: "q", types: [] }, { limit: 500 });
    expect(all.entries).toHaveLength(300);
    expect(all.entries[0].id).toBeGreaterThan(all.entries[1].id); // newest first
    const joined = await admin.queryLogs({ roomId: "q", types: ["MEMBER_JOINED"] }, { limit: 500 });
    expect(joined.entries).toHaveLength(100);
    expect(joined.entries.every((e) => e.type === "MEMBER_JOINED")).toBe(true);
    const alice = await admin.queryLogs({ roomId: "q", types: [], actor: "alice" }, { limit: 500 });
    expect(alice.entries).toHaveLength(150);
    expect(alice.entries.every((e) => e.actorName === "Alice")).toBe(true);
    expect((await admin.queryLogs({ roomId: "q", types: [], actor: "bbbb" }, { limit: 500 })).entries).toHaveLength(150);
    expect((await admin.queryLogs({ roomId: "q", types: [], actor: "nobody" }, { limit: 500 })).entries).toHaveLength(0);
    expect((await admin.queryLogs({ roomId: "q", types: [], actor: "%" }, { limit: 500 })).entries).toHaveLength(0);
    const range = await admin.queryLogs(
      { roomId: "q", types: [], from: new Date("2026-01-01T01:00:00Z"), to: new Date("2026-01-01T02:00:00Z") },
      { limit: 500 },
    );
    expect(range.entries).toHaveLength(60);
    const text = await admin.queryLogs({ roomId: "q", types: [], text: "needle-2" }, { limit: 500 });
    expect(text.entries.map((e) => e.meta.note).sort()).toEqual(
      [
        "needle-20",
        "needle-200",
        "needle-210",
        "needle-220",
        "needle-230",
        "needle-240",
        "needle-250",
        "needle-260",
        "needle-270",
        "needle-280",
        "needle-290",
      ].sort(),
    );
    expect((await admin.queryLogs({ roomId: "nope", types: [] }, {})).entries).toHaveLength(0);
    // "%" and "_" are literal characters, not wildcards.
    await srv.prisma.roomLog.create({ data: { roomId: "q", type: "MESSAGE_RELAYED", meta: JSON.stringify({ note: "100%_sure" }) } });
    expect((await admin.queryLogs({ roomId: "q", types: [], text: "%" }, { limit: 500 })).entries.map((e) => e.meta.note)).toEqual(["100%_sure"]);
    expect((await admin.queryLogs({ roomId: "q", types: [], text: "0%_S" }, { limit: 500 })).entries).toHaveLength(1);
    expect((await admin.queryLogs({ roomId: "q", types: [], text: "needle_2" }, { limit: 500 })).entries).toHaveLength(0);
    // …and pages of a literal search still cover every match once.
    await srv.prisma.roomLog.createMany({
      data: Array.from({ length: 30 }, (_, i) => ({ roomId: "q", type: "MESSAGE_RELAYED", meta: JSON.stringify({ i, tag: i % 3 === 0 ? "a_b" : "axb" }) })),
    });
    const literal: number[] = [];
    let cursor: number | null = null;
    do {
      const page: Awaited<ReturnType<AdminConsole["queryLogs"]>> = await admin.queryLogs({ roomId: "q", types: [], text: "a_b" }, { cursor, limit: 3 });
      literal.push(...page.entries.map((e) => e.meta.i as number));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(literal.sort((a, b) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  });

  test("cursor pages cover every matching row once, even while rows are appended", async () => {
    await seed("p", 230);
    const seen: number[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<AdminConsole["queryLogs"]>> = await admin.queryLogs({ roomId: "p", types: ["MESSAGE_RELAYED"] }, { cursor, limit: 40 });
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.nextCursor;
      if (pages++ === 0) await srv.prisma.roomLog.create({ data: { roomId: "p", type: "MESSAGE_RELAYED", meta: "{}" } }); // newer: not in older pages
    } while (cursor !== null);
    expect(seen).toHaveLength(153);
    expect(new Set(seen).size).toBe(153);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  test("CSV and JSON exports stream every filtered row, oldest first, injection-safe", async () => {
    await seed("x", 1234);
    const csvStream = admin.exportLogs({ roomId: "x", types: [] }, "csv");
    let chunks = 0;
    let text = "";
    const dec = new TextDecoder();
    for await (const chunk of csvStream as unknown as AsyncIterable<Uint8Array>) {
      chunks++;
      text += dec.decode(chunk, { stream: true });
    }
    expect(chunks).toBeGreaterThan(3); // header + one chunk per page of 500
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(["id", "createdAt", "roomId", "type", "actorId", "actorName", "targetId", "targetName", "meta"]);
    expect(rows).toHaveLength(1235);
    const ids = rows.slice(1).map((r) => Number(r[0]));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const bob = rows.find((r) => r[4] === "b".repeat(32))!;
    expect(bob[5]).toBe('\'=Bob,"the" builder'); // formula neutralised, quotes and comma intact
    expect(JSON.parse(rows[1][8])).toEqual({ note: "needle-0", formula: "=1+1" });
    // Every line is a whole row: no cell starts a formula.
    expect(rows.flat().some((c) => /^[=+\-@]/.test(c))).toBe(false);

    const jsonText = await new Response(admin.exportLogs({ roomId: "x", types: ["MEMBER_JOINED"], text: "needle" }, "json")).text();
    const json = JSON.parse(jsonText) as AdminLogEntry[];
    expect(json.length).toBe(42);
    expect(json.every((e) => e.type === "MEMBER_JOINED" && String(e.meta.note).startsWith("needle"))).toBe(true);
    expect(JSON.parse(await new Response(admin.exportLogs({ roomId: "empty-room", types: [] }, "json")).text())).toEqual([]);
  });
});

describe("retention", () => {
  test("deletes rows older than N days, on demand and at start (env), and reports each run without secrets", async () => {
    await srv.prisma.room.create({ data: { id: "old" } });
    const day = 86_400_000;
    await srv.prisma.roomLog.createMany({
      data: [40, 31, 29, 1, 0].map((d) => ({
        roomId: "old",
        type: "MESSAGE_RELAYED",
        meta: JSON.stringify({ age: d }),
        createdAt: new Date(Date.now() - d * day - 1000),
      })),
    });
    const r = await admin.runRetention(30);
    expect(r.deleted).toBe(2);
    expect((await srv.prisma.roomLog.findMany({ where: { roomId: "old" } })).map((x) => JSON.parse(x.meta).age).sort()).toEqual([0, 1, 29]);

    const lines: string[] = [];
    const logger: Logger = {
      info: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`),
      warn: () => {},
      error: (m, f) => lines.push(`ERR ${m} ${JSON.stringify(f)}`),
    };
    const stop = scheduleRetention(srv.prisma, logger, 2);
    await stop(); // waits for the start run
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^log retention run .*"trigger":"start".*"days":2.*"deleted":1/);
    expect((await srv.prisma.roomLog.findMany({ where: { roomId: "old" } })).map((x) => JSON.parse(x.meta).age).sort()).toEqual([0, 1]);
  });
});

describe("rooms overview", () => {
  test("lists rooms with members online, BB84 sessions and last QBER; sorts, searches and pages", async () => {
    await member("busy", "Alice");
    await member("busy", "Bob");
    await member("quiet", "Carol");
    for (let i = 0; i < 12; i++) await srv.prisma.room.create({ data: { id: `filler-${String(i).padStart(2, "0")}` } });
    await srv.prisma.bb84Session.createMany({
      data: [
        {
          id: "1".repeat(32),
          roomId: "busy",
          aliceId: "a",
          bobId: "b",
          qubits: 4096,
          qberEstimate: 0.02,
          startedAt: new Date(Date.now() - 60_000),
          outcome: "success",
        },
        { id: "2".repeat(32), roomId: "busy", aliceId: "a", bobId: "b", qubits: 4096, qberEstimate: 0.13, startedAt: new Date(), outcome: "aborted" },
      ],
    });
    const byOnline = await admin.listRooms({ sort: "online", dir: "desc", page: 1, pageSize: 5 });
    expect(byOnline.total).toBe(14);
    expect(byOnline.pages).toBe(3);
    expect(byOnline.rooms[0]).toMatchObject({ id: "busy", online: 2, bb84Sessions: 2, lastQber: 0.13 });
    expect(byOnline.rooms[1]).toMatchObject({ id: "quiet", online: 1, bb84Sessions: 0, lastQber: null });
    const page3 = await admin.listRooms({ sort: "id", dir: "asc", page: 3, pageSize: 5 });
    expect(page3.rooms.map((r) => r.id)).toEqual(["filler-09", "filler-10", "filler-11", "quiet"]);
    // A page past the end shows the last one.
    expect((await admin.listRooms({ sort: "id", dir: "asc", page: 99, pageSize: 5 })).page).toBe(3);
    const asc: string[] = [];
    for (let p = 1; p <= 3; p++) asc.push(...(await admin.listRooms({ sort: "id", dir: "asc", page: p, pageSize: 5 })).rooms.map((r) => r.id));
    expect(asc).toEqual([...asc].sort());
    expect(asc).toHaveLength(14);
    expect((await admin.listRooms({ q: "carol", sort: "id", dir: "asc", page: 1, pageSize: 25 })).rooms.map((r) => r.id)).toEqual(["quiet"]);
    expect((await admin.listRooms({ q: "filler-0", sort: "id", dir: "asc", page: 1, pageSize: 25 })).total).toBe(10);
    expect((await admin.listRooms({ q: "%", sort: "id", dir: "asc", page: 1, pageSize: 25 })).total).toBe(0); // wildcards are literal
    const qber = await admin.listRooms({ sort: "lastQber", dir: "desc", page: 1, pageSize: 5 });
    expect(qber.rooms[0].id).toBe("busy");
  });
});

describe("channel controls", () => {
  test("a change is stored, pushed to the room's members at once (by: null) and logged", async () => {
    const a = await member("chan", "Alice");
    const outsider = await member("elsewhere", "Eve");
    const r = await admin.setChannel("chan", { noise: 0.02, loss: 0.1, eve: 0.5 });
    expect(r).toEqual({ ok: true, channel: { noise: 0.02, loss: 0.1, eve: 0.5 } });
    await until(() => (a.received.get("channel:updated") ?? []).length > 0, 3000, "channel:updated");
    expect(a.received.get("channel:updated")![0]).toMatchObject({ roomId: "chan", channel: { noise: 0.02, loss: 0.1, eve: 0.5 }, by: null });
    expect(outsider.received.get("channel:updated")).toBeUndefined();
    const room = await srv.prisma.room.findUniqueOrThrow({ where: { id: "chan" } });
    expect([room.channelNoise, room.channelLoss, room.channelEve]).toEqual([0.02, 0.1, 0.5]);
    await srv.app.deps.logs.flush();
    const logged = await srv.prisma.roomLog.findMany({ where: { roomId: "chan", type: "CHANNEL_SETTINGS_CHANGED" } });
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0].meta)).toMatchObject({ noise: 0.02, loss: 0.1, eve: 0.5 });

    expect((await admin.setChannel("chan", { noise: 0.9, loss: 0, eve: 0 })).ok).toBe(false);
    expect((await admin.setChannel("no-such-room", { noise: 0, loss: 0, eve: 0 })).ok).toBe(false);
  });
});
