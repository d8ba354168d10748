/**
 * BB84's BUSY caps: one running session per pair in a room, at most 4 per member (as Alice or Bob,
 * any room), released when a session ends; two starts at once can't both take the last place. On
 * one node (sqlite project) and on two (cluster project: the member's two connections and the
 * peers are spread over the nodes, and the caps are one Lua step in Redis).
 */
import { LIMITS } from "@/lib/protocol";
import type { RawClient } from "../helpers/raw-client";
import { serverPerTest } from "../helpers/per-test";

jest.setTimeout(60_000);
const t = serverPerTest();

type StartAck = { ok: true; data: { id: string } } | { ok: false; error: { code: string; message: string } };
const start = (c: RawClient, roomId: string, peer: RawClient) =>
  c.call("bb84:start", { roomId, peerId: peer.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" }) as Promise<StartAck>;

/** A member with two connections (tabs), and `n` peers, all in `roomId`. */
async function setup(roomId: string, n: number) {
  const m = await t.raw();
  const m2 = await t.raw({ identity: m.identity });
  const peers: RawClient[] = [];
  for (let i = 0; i < n; i++) peers.push(await t.raw());
  for (const [c, name] of [[m, "m"], [m2, "m"], ...peers.map((p, i) => [p, `p${i + 1}`] as const)] as const)
    expect(await c.call("room:join", { roomId, displayName: name })).toMatchObject({ ok: true });
  return { m, m2, peers };
}

test("one session per pair in a room, 4 per member from any of its connections, released when one ends", async () => {
  const { m, m2, peers } = await setup("busy", 5);
  expect(LIMITS.maxBb84SessionsPerMember).toBe(4);
  const ids: string[] = [];
  for (const p of peers.slice(0, 4)) {
    const r = await start(m, "busy", p);
    expect(r).toMatchObject({ ok: true });
    if (r.ok) ids.push(r.data.id);
  }
  expect(await start(m2, "busy", peers[4])).toMatchObject({ ok: false, error: { code: "BUSY", message: "at most 4 sessions at once" } });
  expect(await start(peers[4], "busy", m)).toMatchObject({
    ok: false,
    error: { code: "BUSY", message: "that member is running too many sessions; try later" },
  });
  expect(await start(peers[0], "busy", m)).toMatchObject({ ok: false, error: { code: "BUSY", message: "a session with this member is already running" } });
  // Another pair is free meanwhile.
  expect(await start(peers[4], "busy", peers[3])).toMatchObject({ ok: true });

  // p1 ends the first session: the member has a place again, and the pair may start anew.
  const report = await peers[0].call("bb84:report", {
    roomId: "busy",
    sessionId: ids[0],
    outcome: "aborted",
    abortCode: "CANCELLED",
    abortReason: "stop",
    abortBy: "self",
  });
  expect(report).toMatchObject({ ok: true, data: { outcome: "aborted" } });
  expect(await start(peers[0], "busy", m)).toMatchObject({ ok: true });
  expect(await start(m2, "busy", peers[4])).toMatchObject({ ok: false, error: { code: "BUSY", message: "at most 4 sessions at once" } });
});

test("two starts at once for the member's last place: exactly one runs", async () => {
  const { m, peers } = await setup("race", 5);
  for (const p of peers.slice(0, 3)) expect(await start(m, "race", p)).toMatchObject({ ok: true });
  // Sent together on one connection: the server reads both before the first session's row is
  // written, so the check and the count must be one step.
  const both = await Promise.all([start(m, "race", peers[3]), start(m, "race", peers[4])]);
  expect(both.filter((r) => r.ok)).toHaveLength(1);
  expect(both.find((r) => !r.ok)).toMatchObject({ ok: false, error: { code: "BUSY", message: "at most 4 sessions at once" } });
});
