/**
 * Issue 10, finding 5 (continued): large logs:fetch reads run in pages of 100 rows, one page per
 * event-loop turn, and return exactly the rows a single query would.
 */
import { fetchMemberLogs } from "@/server/logs/logs.repository";
import { fetchMemberLogsPaged } from "@/server/logs/paged-fetch";
import { connectRaw } from "../helpers/raw-client";
import { serverPerTest } from "../helpers/per-test";

const t = serverPerTest();

test("paged reads return the same rows as one query, with private rows filtered the same way", async () => {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  expect(await c.call("room:join", { roomId: "paged", displayName: "p" })).toMatchObject({ ok: true });
  // The join's own log rows are written by the batched log writer; store them now, so none lands
  // between a paged read and the single query it is compared with.
  await t.srv.app.deps.logs.flush();
  const me = c.userId;
  const other = "f".repeat(32);
  await t.srv.prisma.roomLog.createMany({
    data: Array.from({ length: 450 }, (_, i) => ({
      roomId: "paged",
      type: i % 3 === 0 ? "DIRECT_MESSAGE_RELAYED" : "MESSAGE_RELAYED",
      actorId: i % 6 === 0 ? me : other,
      targetId: other,
      meta: JSON.stringify({ i }),
    })),
  });
  for (const [sinceId, limit] of [
    [undefined, 500],
    [undefined, 250],
    [undefined, 101],
    [undefined, 100],
    [10, 500],
    [200, 150],
    [100_000, 500],
  ] as const) {
    expect(await fetchMemberLogsPaged(t.srv.prisma, "paged", me, sinceId, limit)).toEqual(await fetchMemberLogs(t.srv.prisma, "paged", me, sinceId, limit));
  }
  // and through the protocol, concurrently
  const [a, b] = (await Promise.all([c.call("logs:fetch", { roomId: "paged", limit: 500 }), c.call("logs:fetch", { roomId: "paged", limit: 300 })])) as any[];
  expect(a.data.logs).toEqual(await fetchMemberLogs(t.srv.prisma, "paged", me, undefined, 500));
  expect(b.data.logs).toEqual(await fetchMemberLogs(t.srv.prisma, "paged", me, undefined, 300));
});
