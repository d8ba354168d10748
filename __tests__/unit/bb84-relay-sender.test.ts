/**
 * RelaySender (lib/client/bb84-transport.ts): the session hands it sealed frames and goes on at
 * once; the frames still reach the relay strictly in order, each after the previous one's ack, a
 * RATE_LIMITED refusal is retried in place (so a retry never overtakes), and a frame refused for
 * good stops everything after it and is reported once. The relay here is a scripted function
 * standing in for the server's bb84:relay ack (the integration tests run the real server).
 */
import { RelayPacer, RelaySender } from "@/lib/client/bb84-transport";
import { LIMITS } from "@/lib/protocol/limits";
import { ClientError } from "@/lib/client/errors";

const tx = { roomId: "r", sessionId: "s", from: "a", to: "b" };
const frame = (n: number) => new Uint8Array([n]);

function recorder(answer: (n: number, attempt: number) => "ok" | "limited" | "refused") {
  const relayed: number[] = [];
  const attempts = new Map<number, number>();
  const inFlight = { now: 0, max: 0 };
  const relay = async (p: { frame: Uint8Array }) => {
    const n = p.frame[0];
    const a = (attempts.get(n) ?? 0) + 1;
    attempts.set(n, a);
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    await new Promise((r) => setTimeout(r, 1));
    inFlight.now--;
    const what = answer(n, a);
    if (what === "limited") throw new ClientError("RATE_LIMITED", "slow down");
    if (what === "refused") throw new ClientError("UNKNOWN_SESSION", "no running session");
    relayed.push(n);
  };
  return { relay, relayed, inFlight };
}

describe("RelaySender", () => {
  test("send returns at once; frames go out in order, one at a time, a rate-limited one retried in place", async () => {
    const r = recorder((n, attempt) => (n === 2 && attempt < 3 ? "limited" : "ok"));
    const sent: number[] = [];
    const refused: string[] = [];
    const s = new RelaySender(
      { relay: r.relay },
      tx,
      () => false,
      (bytes) => sent.push(bytes),
      (why) => refused.push(why),
    );
    s.send([frame(1), frame(2)]);
    s.send([frame(3)]);
    expect(r.relayed).toEqual([]); // nothing awaited by the caller
    await s.idle();
    expect(r.relayed).toEqual([1, 2, 3]);
    expect(r.inFlight.max).toBe(1);
    expect(sent).toEqual([1, 1, 1]);
    expect(refused).toEqual([]);
  });

  test("a frame refused for good is reported once and nothing after it is sent", async () => {
    const r = recorder((n) => (n === 2 ? "refused" : "ok"));
    const refused: string[] = [];
    const s = new RelaySender(
      { relay: r.relay },
      tx,
      () => false,
      () => undefined,
      (why) => refused.push(why),
    );
    s.send([frame(1), frame(2), frame(3)]);
    s.send([frame(4)]);
    await s.idle();
    expect(r.relayed).toEqual([1]);
    expect(refused).toEqual(["UNKNOWN_SESSION: no running session"]);
  });

  test("nothing is sent once the session has ended", async () => {
    const r = recorder(() => "ok");
    let ended = false;
    const s = new RelaySender(
      { relay: r.relay },
      tx,
      () => ended,
      () => undefined,
      () => undefined,
    );
    s.send([frame(1)]);
    await s.idle();
    ended = true;
    s.send([frame(2)]);
    await s.idle();
    expect(r.relayed).toEqual([1]);
  });

  test("a frame sent without an ack goes on at once, counts as not acked, and a later refusal (bb84:refused) stops everything after it, reported once", async () => {
    const order: string[] = [];
    const sent: [number, number, boolean][] = [];
    const refused: string[] = [];
    const s = new RelaySender(
      {
        relay: async (p) => {
          order.push(`frame ${p.frame[0]}`);
          return p.frame[0] === 2 ? undefined : false; // frame 2 is acked, the others go without
        },
      },
      tx,
      () => false,
      (bytes, ackMs, _many, acked) => sent.push([bytes, ackMs, acked]),
      (why) => refused.push(why),
    );
    s.send([frame(1), frame(2), frame(3)]);
    await s.idle();
    expect(order).toEqual(["frame 1", "frame 2", "frame 3"]);
    expect(sent.map(([, , acked]) => acked)).toEqual([false, true, false]);
    expect(sent.filter(([, , acked]) => !acked).every(([, ackMs]) => ackMs === 0)).toBe(true);
    // The server refused frame 3 after the fact: nothing more goes out, the reason is reported once.
    s.refused("UNKNOWN_SESSION: no running session");
    s.refused("UNKNOWN_SESSION: again");
    s.send([frame(4)]);
    await s.idle();
    expect(order).toEqual(["frame 1", "frame 2", "frame 3"]);
    expect(refused).toEqual(["UNKNOWN_SESSION: no running session"]);
  });
});

describe("RelayPacer (the server's frame and byte buckets, as the client counts them)", () => {
  test("a burst within the margin has room, then none until time refills it; every frame is counted", () => {
    let t = 0;
    const p = new RelayPacer(200, 300, 1_000_000, 500_000, () => t);
    for (let i = 0; i < 300; i++) expect(p.take(100)).toBe(true);
    expect(p.take(100)).toBe(false); // the 301st: the server could refuse it
    t += 10; // 10 ms refill 2 frames, but the refused one was counted too (it still goes, with an ack)
    expect(p.take(100)).toBe(true);
    expect(p.take(100)).toBe(false);
    t += 1000;
    expect(p.take(100)).toBe(true);
  });

  test("bytes count as well as frames; the defaults stay under the server's buckets", () => {
    const p = new RelayPacer(200, 300, 1000, 1000, () => 0);
    expect(p.take(600)).toBe(true);
    expect(p.take(600)).toBe(false);
    const d = new RelayPacer();
    let frames = 0;
    while (d.take(16 * 1024)) frames++;
    expect(frames).toBeLessThan(LIMITS.bb84FrameBurst);
    expect(frames).toBeGreaterThan(LIMITS.bb84FrameBurst / 2);
  });
});
