/**
 * Issue 10, finding 2: the rooms-per-connection cap is reserved before the join awaits anything,
 * so concurrent joins cannot all pass it.
 */
import { LIMITS } from "@/lib/protocol";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { serverPerTest } from "../helpers/per-test";

jest.setTimeout(60_000);
/** Like RawClient.call, with room for a slow machine: 40 joins write the database 16 times. */
const call = (c: RawClient, event: string, payload: unknown) => (c.socket as any).timeout(20_000).emitWithAck(event, payload);
const t = serverPerTest();

test("40 concurrent joins of different rooms: exactly 16 accepted", async () => {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  const results = (await Promise.all(Array.from({ length: 40 }, (_, i) => call(c, "room:join", { roomId: `race-${i}`, displayName: "racer" })))) as any[];
  const ok = results.filter((r) => r.ok).length;
  expect(ok).toBe(LIMITS.maxRoomsPerSocket);
  expect(results.filter((r) => !r.ok && r.error.code === "RATE_LIMITED").length).toBe(40 - LIMITS.maxRoomsPerSocket);
  expect(t.srv.app.deps.presence.rooms.size).toBe(LIMITS.maxRoomsPerSocket);
  // Leaving one frees a slot; joining the same room twice at once costs one slot.
  const joined = results.find((r) => r.ok).data.roomId as string;
  expect(await call(c, "room:leave", { roomId: joined })).toMatchObject({ ok: true });
  const again = (await Promise.all([
    call(c, "room:join", { roomId: "again", displayName: "racer" }),
    call(c, "room:join", { roomId: "again", displayName: "racer" }),
  ])) as any[];
  expect(again.every((r) => r.ok)).toBe(true);
  expect(await call(c, "room:join", { roomId: "one-too-many", displayName: "racer" })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
});

test("a refused join does not spend a slot", async () => {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  const results = (await Promise.all(Array.from({ length: 20 }, (_, i) => call(c, "room:join", { roomId: `bad-${i}`, displayName: "\u0007" })))) as any[];
  expect(results.every((r) => !r.ok && r.error.code === "INVALID_PAYLOAD")).toBe(true);
  const ok = (await Promise.all(Array.from({ length: 16 }, (_, i) => call(c, "room:join", { roomId: `good-${i}`, displayName: "fine" })))) as any[];
  expect(ok.every((r) => r.ok)).toBe(true);
});
