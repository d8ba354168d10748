/**
 * Issue 10, finding 5: expensive reads pay by the rows they ask for, from a read budget per socket
 * and per remote address, so a flood of large `logs:fetch` within the command limits is refused
 * instead of starving everyone else.
 */
import { LIMITS } from "@/lib/protocol";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { serverPerTest } from "../helpers/per-test";

jest.setTimeout(60_000);
const t = serverPerTest();

async function member(name: string) {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  expect(await c.call("room:join", { roomId: "reads", displayName: name })).toMatchObject({ ok: true });
  return c;
}
const fetch500 = (c: RawClient) => (c.socket as any).timeout(20_000).emitWithAck("logs:fetch", { roomId: "reads", limit: 500 });

test("one socket's large reads are refused once its read budget is spent", async () => {
  const c = await member("reader");
  const results = (await Promise.all(Array.from({ length: 40 }, () => fetch500(c)))) as any[];
  const ok = results.filter((r) => r.ok).length;
  expect(ok).toBeGreaterThanOrEqual(LIMITS.readRowBurst / 500 - 1);
  expect(ok).toBeLessThan(40);
  expect(results.filter((r) => !r.ok).every((r) => r.error.code === "RATE_LIMITED")).toBe(true);
  // Small commands still go through.
  expect(await c.call("keys:list", { roomId: "reads" })).toMatchObject({ ok: true });
});

test("sockets of one address share a read budget", async () => {
  const cs = [await member("a"), await member("b"), await member("c")];
  const perSocket = Math.floor((LIMITS.readRowBurst - 1) / 500) - 1; // within each socket's own burst
  const results = (await Promise.all(cs.flatMap((c) => Array.from({ length: perSocket }, () => fetch500(c))))) as any[];
  const ok = results.filter((r) => r.ok).length;
  expect(ok * 500).toBeLessThanOrEqual(LIMITS.addressReadRowBurst + 2 * LIMITS.addressReadRowsPerSecond);
  expect(results.some((r) => !r.ok && r.error.code === "RATE_LIMITED")).toBe(true);
});

test("a read's token cost scales with its limit", async () => {
  const c = await member("small");
  // Small fetches (limit 1) cost one command token and one row: 60 of them all pass.
  const results = (await Promise.all(
    Array.from({ length: 60 }, () => (c.socket as any).timeout(20_000).emitWithAck("logs:fetch", { roomId: "reads", limit: 1 })),
  )) as any[];
  expect(results.every((r) => r.ok)).toBe(true);
});

test("history:fetch has a budget of its own: a 10,000-message room's worth in one burst, then refused; other reads unaffected", async () => {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  expect(await c.call("room:join", { roomId: "hist-reads", displayName: "pager", history: { days: 7 } })).toMatchObject({ ok: true });
  const page = () => (c.socket as any).timeout(20_000).emitWithAck("history:fetch", { roomId: "hist-reads", limit: LIMITS.maxHistoryFetch });
  const pages = LIMITS.historyRowBurst / LIMITS.maxHistoryFetch; // 12 pages of 1,000
  const results = (await Promise.all(Array.from({ length: pages + 30 }, page))) as any[];
  const ok = results.filter((r) => r.ok).length;
  expect(ok).toBeGreaterThanOrEqual(pages - 1); // 10,000 rows and more, at full speed
  expect(ok).toBeLessThan(pages + 30);
  expect(results.filter((r) => !r.ok).every((r) => r.error.code === "RATE_LIMITED")).toBe(true);
  // The generic read budget was not charged: a large logs:fetch still goes through.
  expect(await c.call("logs:fetch", { roomId: "hist-reads", limit: 500 })).toMatchObject({ ok: true });
});
