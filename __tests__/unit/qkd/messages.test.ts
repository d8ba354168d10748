import { Alice } from "@/lib/qkd/alice";
import { Bob } from "@/lib/qkd/bob";
import { BitArray } from "@/lib/qkd/bits";
import { QuantumChannel } from "@/lib/qkd/channel";
import { crc32, decodeMessage, encodeMessage, Message, MessageError, MsgType } from "@/lib/qkd/messages";
import { Party } from "@/lib/qkd/party";
import { seededRandom } from "@/lib/qkd/rng";

const SID = new Uint8Array(16).fill(7);

describe("message codec", () => {
  const samples: Message["payload"][] = [
    { type: MsgType.Hello, hello: { qubits: 1000, chunkSize: 256, epsSec: 1e-10, epsCor: 1e-15, qberThreshold: 0.11, cascadeVariant: "yanetal" } },
    { type: MsgType.Qubits, offset: 64, bits: BitArray.fromBits([1, 0, 1]), bases: BitArray.fromBits([0, 0, 1]) },
    { type: MsgType.Detect, detected: BitArray.fromBits([1, 1, 0, 1]), bases: BitArray.fromBits([1, 0, 1]) },
    { type: MsgType.Sift, match: BitArray.fromBits([1, 0, 1]), sample: BitArray.fromBits([0, 1]), sampleBits: BitArray.fromBits([1]) },
    { type: MsgType.Estimate, sampleBits: BitArray.fromBits([1, 1]), cascadeSeed: new Uint8Array(32).fill(3) },
    { type: MsgType.CascadeRequest, body: Uint8Array.of(1, 1, 1) },
    { type: MsgType.CascadeResponse, body: Uint8Array.of(1, 2, 1, 3, 5) },
    { type: MsgType.CascadeDone, disclosedBits: 1234 },
    { type: MsgType.Verify, hashSeed: BitArray.fromBits([1, 0, 0, 1, 1]), hash: BitArray.fromBits([1, 0]), ell: 2, paSeed: BitArray.fromBits([0, 1, 1, 0, 1]) },
    { type: MsgType.Confirm },
    { type: MsgType.Abort, code: "QBER_TOO_HIGH", message: "QBER 25% — suspected eavesdropping" },
  ];

  it.each(samples.map((p) => [MsgType[p.type], p] as const))("round-trips %s", (_name, payload) => {
    const bytes = encodeMessage({ sessionId: SID, seq: 42, payload });
    const back = decodeMessage(bytes);
    expect(back.seq).toBe(42);
    expect(Array.from(back.sessionId)).toEqual(Array.from(SID));
    expect(encodeMessage(back)).toEqual(bytes);
  });

  it("is compact: 10^6 qubits travel in ≈ 2 bits each", () => {
    const rng = seededRandom(1);
    const bytes = encodeMessage({
      sessionId: SID,
      seq: 0,
      payload: { type: MsgType.Qubits, offset: 0, bits: BitArray.random(1e6, rng), bases: BitArray.random(1e6, rng) },
    });
    expect(bytes.length).toBeLessThan(250_000 + 64);
  });

  it("rejects truncation, trailing bytes, bad magic, unknown types and non-zero padding", () => {
    const good = encodeMessage({ sessionId: SID, seq: 1, payload: samples[1] });
    expect(() => decodeMessage(good.subarray(0, good.length - 1))).toThrow(MessageError);
    expect(() => decodeMessage(Uint8Array.from([...good, 0]))).toThrow(MessageError);
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926); // the standard check value
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(() => decodeMessage(badMagic)).toThrow(MessageError);
    const badType = good.slice();
    badType[2] = 99;
    expect(() => decodeMessage(badType)).toThrow(MessageError);
    const badPad = good.slice(0, -4);
    badPad[28 + 4] |= 0x80; // 3-bit value field: padding bit set
    const withSum = new Uint8Array(badPad.length + 4);
    withSum.set(badPad);
    new DataView(withSum.buffer).setUint32(badPad.length, crc32(badPad), true);
    expect(() => decodeMessage(withSum)).toThrow(/padding/);
    expect(() => decodeMessage(new Uint8Array(3))).toThrow(MessageError);
  });
});

/** Record a full honest exchange, so tests can replay it with faults at any point. */
function honestTranscript(seed: number) {
  const alice = new Alice({ params: { qubits: 40_000, chunkSize: 8192 }, rng: seededRandom(seed) });
  const bob = new Bob({ rng: seededRandom(seed + 1), channel: new QuantumChannel({ noise: 0.02 }, seededRandom(seed + 2)) });
  const log: { to: "alice" | "bob"; bytes: Uint8Array }[] = [];
  const q: [Party, Uint8Array][] = alice.start().map((m) => [bob, m]);
  while (q.length) {
    const [to, bytes] = q.shift()!;
    log.push({ to: to === bob ? "bob" : "alice", bytes });
    for (const m of to.receive(bytes)) q.push([to === bob ? alice : bob, m]);
  }
  expect(alice.status).toBe("done");
  return log;
}

/** Fresh parties replaying the transcript up to message `upTo`, so the next one can be faulted. */
function replayTo(seed: number, log: ReturnType<typeof honestTranscript>, upTo: number) {
  const alice = new Alice({ params: { qubits: 40_000, chunkSize: 8192 }, rng: seededRandom(seed) });
  const bob = new Bob({ rng: seededRandom(seed + 1), channel: new QuantumChannel({ noise: 0.02 }, seededRandom(seed + 2)) });
  alice.start();
  for (let i = 0; i < upTo; i++) (log[i].to === "bob" ? bob : alice).receive(log[i].bytes);
  return { alice, bob };
}

describe("a bad message makes the receiver abort with a reason, never throw", () => {
  const seed = 31;
  const log = honestTranscript(seed);
  // A point in every stage: hello, a qubits chunk, detect, sift, estimate, cascade traffic, done, verify, confirm.
  const wanted = new Set([
    MsgType.Hello,
    MsgType.Qubits,
    MsgType.Detect,
    MsgType.Sift,
    MsgType.Estimate,
    MsgType.CascadeRequest,
    MsgType.CascadeResponse,
    MsgType.CascadeDone,
    MsgType.Verify,
    MsgType.Confirm,
  ]);
  const points: number[] = [];
  log.forEach((m, i) => {
    const t = decodeMessage(m.bytes).payload.type;
    if (wanted.has(t)) {
      points.push(i);
      wanted.delete(t);
    }
  });

  const reseal = (b: Uint8Array, edit: (m: Message) => void) => {
    const m = decodeMessage(b);
    edit(m);
    return encodeMessage(m);
  };
  const faults: [string, (b: Uint8Array, i: number) => Uint8Array, RegExp][] = [
    ["truncated", (b) => b.subarray(0, b.length - 1), /malformed/],
    [
      "one bit flipped",
      (b) => {
        const c = b.slice();
        c[c.length >> 1] ^= 4;
        return c;
      },
      /malformed.*checksum/,
    ],
    ["garbage", () => Uint8Array.of(1, 2, 3, 4, 5), /malformed/],
    [
      "wrong session",
      (b) =>
        reseal(b, (m) => {
          m.sessionId = m.sessionId.map((x) => x ^ 0xff);
        }),
      /another session/,
    ],
    ["replayed (out of order)", (_b, i) => log[i - 1]?.bytes ?? Uint8Array.of(0), /out-of-order|another session|unexpected|malformed/],
    [
      "skipped ahead (out of order)",
      (b) =>
        reseal(b, (m) => {
          m.seq += 1;
        }),
      /out-of-order/,
    ],
  ];

  for (const i of points) {
    const to = log[i].to;
    const name = MsgType[decodeMessage(log[i].bytes).payload.type];
    // Bob learns the session id from the Hello itself, so only a preset id can make it "wrong" (tested below).
    const applicable = faults.filter(([label]) => !(name === "Hello" && label === "wrong session"));
    it.each(applicable)(`${name} → ${to}: %s`, (_label, fault, reason) => {
      const { alice, bob } = replayTo(seed, log, i);
      const receiver = to === "bob" ? bob : alice;
      let out: Uint8Array[] = [];
      expect(() => {
        out = receiver.receive(fault(log[i].bytes, i));
      }).not.toThrow();
      expect(receiver.status).toBe("aborted");
      expect(receiver.result.abort!.code).toBe("PROTOCOL_ERROR");
      expect(receiver.result.abort!.message).toMatch(reason);
      expect(receiver.result.key).toBeNull();
      // The abort reaches the peer, which stops too (unless the receiver never learned the session).
      if (out.length) {
        const peer = to === "bob" ? alice : bob;
        peer.receive(out[0]);
        expect(peer.status).toBe("aborted");
        expect(peer.result.abort!.by).toBe("peer");
      }
      // Further input is ignored without throwing.
      expect(receiver.receive(log[i].bytes)).toEqual([]);
    });
  }

  it("a Hello for another session aborts a Bob that expects a given session id", () => {
    const bob = new Bob({ sessionId: new Uint8Array(16).fill(1), rng: seededRandom(1) });
    expect(bob.receive(log[0].bytes)).toEqual([]);
    expect(bob.result.abort).toMatchObject({ code: "PROTOCOL_ERROR", message: "Hello for another session" });
  });

  it("a well-formed message of the wrong kind for the stage aborts", () => {
    const i = points[3]; // Sift, to Bob
    const { bob } = replayTo(seed, log, i);
    const m = decodeMessage(log[i].bytes);
    const wrong = encodeMessage({ sessionId: m.sessionId, seq: m.seq, payload: { type: MsgType.Confirm } });
    expect(bob.receive(wrong)).toHaveLength(1);
    expect(bob.result.abort).toMatchObject({ code: "PROTOCOL_ERROR", by: "self" });
    expect(bob.result.abort!.message).toMatch(/unexpected Confirm/);
  });

  it("a malformed Cascade request makes Alice abort", () => {
    const i = log.findIndex((m) => decodeMessage(m.bytes).payload.type === MsgType.CascadeRequest);
    const { alice } = replayTo(seed, log, i);
    const m = decodeMessage(log[i].bytes);
    const bad = encodeMessage({ sessionId: m.sessionId, seq: m.seq, payload: { type: MsgType.CascadeRequest, body: Uint8Array.of(1, 1, 9, 9, 9) } });
    alice.receive(bad);
    expect(alice.result.abort!.code).toBe("PROTOCOL_ERROR");
  });

  it("inconsistent lengths inside a well-formed message abort", () => {
    const i = points[2]; // Detect, to Alice
    const { alice } = replayTo(seed, log, i);
    const m = decodeMessage(log[i].bytes);
    const bad = encodeMessage({
      sessionId: m.sessionId,
      seq: m.seq,
      payload: { type: MsgType.Detect, detected: new BitArray(40_000).not(), bases: new BitArray(3) },
    });
    alice.receive(bad);
    expect(alice.result.abort!.code).toBe("PROTOCOL_ERROR");
    expect(alice.result.abort!.message).toMatch(/bases/);
  });

  it("random bit flips anywhere never throw and never yield different keys", () => {
    const rng = seededRandom(99);
    const buf = new Uint32Array(3);
    for (let trial = 0; trial < 60; trial++) {
      rng.fill(new Uint8Array(buf.buffer));
      const i = buf[0] % log.length;
      const { alice, bob } = replayTo(seed, log, i);
      const c = log[i].bytes.slice();
      c[buf[1] % c.length] ^= 1 << (buf[2] % 8);
      const q: [Party, Uint8Array][] = [[log[i].to === "bob" ? bob : alice, c]];
      while (q.length) {
        const [to, bytes] = q.shift()!;
        let out: Uint8Array[] = [];
        expect(() => {
          out = to.receive(bytes);
        }).not.toThrow();
        for (const m of out) q.push([to === bob ? alice : bob, m]);
      }
      // A corrupted Hello leaves Bob without a session id to answer to; Alice then waits (a real
      // transport times out). Every other corruption ends both sides.
      if (i > 0) expect(alice.status).toBe("aborted");
      expect(bob.status === "aborted" || (i === 0 && bob.status === "idle")).toBe(true);
    }
  });
});
