/**
 * Issue 10, finding 3: malformed UTF-16 (a lone surrogate) is refused at the schema wherever text
 * enters, and a join that fails leaves no live room and no Room row behind.
 */
import { serverPerTest } from "../helpers/per-test";

const t = serverPerTest();
const client = () => t.raw();

test("a display name with a lone surrogate is refused and leaves no room behind", async () => {
  const c = await client();
  for (const [i, name] of ["a\uD800", "\uDC00b", "x\uDBFFy"].entries()) {
    const r = await c.call("room:join", { roomId: `lone-${i}`, displayName: name });
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  }
  // A well-formed pair (an emoji) is still a fine name.
  expect(await c.call("room:join", { roomId: "emoji", displayName: "ok \u{1F600}" })).toMatchObject({ ok: true });
  expect([...t.srv.app.deps.presence.rooms.keys()]).toEqual(["emoji"]);
  expect(await t.srv.prisma.room.count({ where: { id: { startsWith: "lone-" } } })).toBe(0);
});

test("a join that fails after the room was created removes the live room and the Room row", async () => {
  const c = await client();
  // Make the database write of the join fail once (as a malformed name used to, inside Prisma).
  const prisma = t.srv.prisma as unknown as { $transaction: (...a: unknown[]) => Promise<unknown> };
  const real = prisma.$transaction.bind(prisma);
  prisma.$transaction = async () => {
    prisma.$transaction = real;
    throw new Error("simulated write failure");
  };
  expect(await c.call("room:join", { roomId: "fails", displayName: "carol" })).toMatchObject({ ok: false, error: { code: "INTERNAL" } });
  expect(t.srv.app.deps.presence.rooms.has("fails")).toBe(false);
  expect(await t.srv.prisma.room.count({ where: { id: "fails" } })).toBe(0);
  // and the connection's room budget was not spent on it
  expect(await c.call("room:join", { roomId: "fails", displayName: "carol" })).toMatchObject({ ok: true, data: { created: true } });
});

test("a BB84 abort reason with a lone surrogate is refused; the session stays consistent", async () => {
  const a = await client();
  const b = await client();
  expect(await a.call("room:join", { roomId: "qkd", displayName: "a" })).toMatchObject({ ok: true });
  expect(await b.call("room:join", { roomId: "qkd", displayName: "b" })).toMatchObject({ ok: true });
  const start = (await a.call("bb84:start", { roomId: "qkd", peerId: b.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })) as any;
  expect(start.ok).toBe(true);
  const bad = await a.call("bb84:report", { roomId: "qkd", sessionId: start.data.id, outcome: "aborted", abortCode: "CANCELLED", abortReason: "bad \uD800" });
  expect(bad).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  const list = (await a.call("bb84:list", { roomId: "qkd" })) as any;
  expect(list.data.sessions.find((s: { id: string }) => s.id === start.data.id).outcome).toBe("running");
  const good = (await a.call("bb84:report", {
    roomId: "qkd",
    sessionId: start.data.id,
    outcome: "aborted",
    abortCode: "CANCELLED",
    abortReason: "fine \u{1F600}",
  })) as any;
  expect(good).toMatchObject({ ok: true, data: { outcome: "aborted" } });
  const after = (await a.call("bb84:list", { roomId: "qkd" })) as any;
  expect(after.data.sessions.find((s: { id: string }) => s.id === start.data.id).outcome).toBe("aborted");
});

test("admin log filters refuse lone surrogates too", async () => {
  const { logFilterSchema } = await import("@/lib/admin/log-filter");
  expect(logFilterSchema.safeParse({ roomId: "r", text: "a\uD800" }).success).toBe(false);
  expect(logFilterSchema.safeParse({ roomId: "r", actor: "\uDC00" }).success).toBe(false);
  expect(logFilterSchema.safeParse({ roomId: "r", text: "\u{1F600}" }).success).toBe(true);
});

// PostgreSQL refuses NUL (U+0000) in text columns and parameters; SQLite would store it. Free text is
// refused at the schema on both engines, with a clear error, before anything is written.
test("NUL in free text is refused with a clear error and nothing is written, on either engine", async () => {
  const a = await client();
  const b = await client();
  const nulName = await a.call("room:join", { roomId: "nul-room", displayName: "a\u0000b" });
  expect(nulName).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  expect(await t.srv.prisma.room.count({ where: { id: "nul-room" } })).toBe(0);
  expect(await a.call("room:join", { roomId: "qkd-nul", displayName: "a" })).toMatchObject({ ok: true });
  expect(await b.call("room:join", { roomId: "qkd-nul", displayName: "b" })).toMatchObject({ ok: true });
  const start = (await a.call("bb84:start", { roomId: "qkd-nul", peerId: b.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })) as any;
  expect(start.ok).toBe(true);
  const bad = (await a.call("bb84:report", {
    roomId: "qkd-nul",
    sessionId: start.data.id,
    outcome: "aborted",
    abortCode: "CANCELLED",
    abortReason: "x\u0000y",
  })) as any;
  expect(bad).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  expect(JSON.stringify(bad.error)).toMatch(/NUL/);
  const row = await t.srv.prisma.bb84Session.findUniqueOrThrow({ where: { id: start.data.id } });
  expect(row.outcome).toBe("running");
  // The server is still fine: the same report without the NUL is recorded.
  const good = await a.call("bb84:report", { roomId: "qkd-nul", sessionId: start.data.id, outcome: "aborted", abortCode: "CANCELLED", abortReason: "x y" });
  expect(good).toMatchObject({ ok: true, data: { outcome: "aborted" } });
  const { logFilterSchema } = await import("@/lib/admin/log-filter");
  expect(logFilterSchema.safeParse({ roomId: "r", text: "a\u0000" }).success).toBe(false);
  expect(logFilterSchema.safeParse({ roomId: "r", actor: "\u0000" }).success).toBe(false);
  const { parseRoomListQuery } = await import("@/server/admin/rooms.query");
  expect(parseRoomListQuery({ q: "a\u0000" }).q).toBeUndefined(); // the search is dropped, not sent to the database
});
