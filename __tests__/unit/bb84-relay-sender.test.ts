/**
 * RelaySender (lib/client/bb84-transport.ts): the session hands it sealed frames and goes on at
 * once; the frames still reach the relay strictly in order, each after the previous one's ack, a
 * RATE_LIMITED refusal is retried in place (so a retry never overtakes), and a frame refused for
 * good stops everything after it and is reported once. The relay here is a scripted function
 * standing in for the server's bb84:relay ack (the integration tests run the real server).
 */
import { RelaySender } from "@/lib/client/bb84-transport";
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
});
