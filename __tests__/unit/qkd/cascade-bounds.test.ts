/**
 * Bounded reconciliation: one wrong parity from an authenticated peer (well formed, validly sealed)
 * ends the session with a clear reason, with round trips and corrections under the bounds both
 * parties derive from the estimated channel (lib/qkd/cascade/bounds.ts). Honest runs never reach
 * them. Observable outcomes only: abort codes and reasons, counts; never timings.
 */
import { BitArray } from "@/lib/qkd/bits";
import { seededRandom } from "@/lib/qkd/rng";
import {
  CascadeAlice,
  CascadeBob,
  cascadeBounds,
  CascadeConfig,
  CascadeProtocolError,
  cascadeSchedule,
  CascadeVariant,
  DEFAULT_CASCADE_VARIANT,
  runCascadeLocal,
} from "@/lib/qkd/cascade";
import { encodeRangeRequest } from "@/lib/qkd/cascade/wire";
import { decodeMessage, encodeMessage, MsgType } from "@/lib/qkd/messages";
import { runLocal } from "@/lib/qkd/run";
import { flipAllParities, flipOneParity } from "../../helpers/cascade-lie";
import { exactErrorPair, seedFrom } from "../../helpers/cascade-pairs";

/** The reasons Bob gives when Alice's parities are inconsistent with the channel. */
const BOUND_REASON = /^Cascade: (bit \d+ corrected twice|\d+ corrections, more than|still searching after \d+ round trips)/;

/** Bob against an Alice that lies once, in response `lieAt` (1-based), or as `lie` says. */
function lyingRun(a: BitArray, b: BitArray, cfg: CascadeConfig, lieAt: number, lie: (resp: Uint8Array, i: number) => Uint8Array | null = () => null) {
  const alice = new CascadeAlice(a, cfg);
  const bob = new CascadeBob(b, cfg);
  let responses = 0;
  let error: unknown = null;
  try {
    for (let req = bob.nextRequest(); req; req = bob.nextRequest()) {
      const resp = alice.respond(req);
      const i = ++responses;
      bob.handleResponse(lie(resp, i) ?? (i === lieAt ? flipOneParity(resp) : resp));
    }
  } catch (e) {
    error = e;
  }
  return { error, res: bob.result(), responses };
}

describe("Cascade bounds", () => {
  test("the bounds follow the estimate: more errors allowed at a higher QBER or a smaller sample, never more than n", () => {
    const n = 100_000;
    const sched = cascadeSchedule(DEFAULT_CASCADE_VARIANT, 0.02, n);
    const b2 = cascadeBounds(sched, n, 0.02, 20_000);
    expect(b2.maxCorrections).toBeGreaterThan(2 * 0.02 * n);
    expect(b2.maxCorrections).toBeLessThan(n / 4);
    expect(cascadeBounds(sched, n, 0.05, 20_000).maxCorrections).toBeGreaterThan(b2.maxCorrections);
    expect(cascadeBounds(sched, n, 0.02, 2_000).maxCorrections).toBeGreaterThan(b2.maxCorrections);
    expect(cascadeBounds(sched, 100, 0.4, 1).maxCorrections).toBe(100);
    // Round trips: a cap from n and the schedule, far above what honest runs take (≈ 80–300 at 10^4).
    const small = cascadeBounds(cascadeSchedule(DEFAULT_CASCADE_VARIANT, 0.02, 10_000), 10_000, 0.02);
    expect(small.maxRoundTrips).toBeGreaterThan(1000);
    expect(b2.maxRoundTrips).toBeGreaterThan(small.maxRoundTrips);
  });

  test("honest runs of every variant stay within the bounds (corrections = errors)", () => {
    const rng = seededRandom(31);
    for (const variant of ["original", "yanetal", "option8", "yanetal-tuned", "yanetal-rt"] as CascadeVariant[]) {
      for (const q of [0.01, 0.05, 0.1]) {
        const n = 10_000;
        const { a, b } = exactErrorPair(n, q, rng);
        const cfg: CascadeConfig = { variant, qber: q, seed: seedFrom(rng), sampleSize: 2_000 };
        const res = runCascadeLocal(a, b, cfg);
        const bounds = cascadeBounds(cascadeSchedule(variant, q, n), n, q, 2_000);
        expect(res.errorsCorrected).toBe(Math.round(q * n));
        expect(res.errorsCorrected).toBeLessThanOrEqual(bounds.maxCorrections);
        expect(res.roundTrips).toBeLessThanOrEqual(bounds.maxRoundTrips);
      }
    }
  });

  test("one wrong parity: Bob aborts with the reason, under the bounds, wherever the lie is", () => {
    const rng = seededRandom(32);
    for (const [n, q] of [
      [10_000, 0.02],
      [10_000, 0.05],
      [100_000, 0.02],
    ] as const) {
      const { a, b } = exactErrorPair(n, q, rng);
      const cfg: CascadeConfig = { variant: DEFAULT_CASCADE_VARIANT, qber: q, seed: seedFrom(rng), sampleSize: n / 5 };
      const bounds = cascadeBounds(cascadeSchedule(cfg.variant, q, n), n, q, cfg.sampleSize);
      const honest = runCascadeLocal(a, b, cfg);
      let aborted = 0;
      for (const lieAt of [1, 2, 5, 10, 20, 40]) {
        if (lieAt > honest.roundTrips) continue;
        const { error, res } = lyingRun(a, b, cfg, lieAt);
        // A lie Bob cannot see ends with a wrong key (verification catches it); one he can see
        // ends here, with the reason. Either way the run ends, and within the bounds.
        if (error !== null) {
          expect(error).toBeInstanceOf(CascadeProtocolError);
          expect((error as Error).message).toMatch(BOUND_REASON);
          aborted++;
        } else {
          expect(res.bits.equals(a)).toBe(false);
        }
        expect(res.roundTrips).toBeLessThanOrEqual(bounds.maxRoundTrips);
        expect(res.errorsCorrected).toBeLessThanOrEqual(bounds.maxCorrections);
      }
      expect(aborted).toBeGreaterThan(0);
    }
  });

  test.each([
    [10_000, 0.03, 41],
    [100_000, 0.02, 42],
    [1_000_000, 0.02, 43],
  ])("other lies at n = %i, Q = %f: a late wrong parity, every parity flipped, one response all flipped", (n, q, seed) => {
    const rng = seededRandom(seed);
    const { a, b } = exactErrorPair(n, q, rng);
    const cfg: CascadeConfig = { variant: DEFAULT_CASCADE_VARIANT, qber: q, seed: seedFrom(rng), sampleSize: Math.round(n / 4) };
    const bounds = cascadeBounds(cascadeSchedule(cfg.variant, q, n), n, q, cfg.sampleSize);
    // The late lies need the honest run's length; at 10^6 (a few seconds per run in Jest) only the
    // early ones run.
    const late = n <= 100_000;
    const last = late ? runCascadeLocal(a, b, cfg).roundTrips : 0;
    type Lie = [string, (resp: Uint8Array, i: number) => Uint8Array | null];
    const lateLies: Lie[] = [
      ["one wrong parity in the last response", (r, i) => (i === last ? flipOneParity(r) : r)],
      ["one wrong parity in the second-to-last response", (r, i) => (i === last - 1 ? flipOneParity(r) : r)],
    ];
    const lies: Lie[] = [
      ...(late ? lateLies : []),
      ["every parity of every response flipped", (r) => flipAllParities(r)],
      ["every parity of the second response flipped", (r, i) => (i === 2 ? flipAllParities(r) : r)],
    ];
    let aborted = 0;
    for (const [what, lie] of lies) {
      const { error, res } = lyingRun(a, b, cfg, -1, lie);
      // Flipping every parity contradicts itself at once: always caught by Cascade itself.
      if (what.startsWith("every parity of every")) expect(error).not.toBeNull();
      if (error !== null) {
        expect(error).toBeInstanceOf(CascadeProtocolError);
        expect((error as Error).message).toMatch(BOUND_REASON);
        aborted++;
      } else {
        // Undetected here: the key is wrong, and verification ends the session (next describe).
        expect(res.bits.equals(a)).toBe(false);
      }
      expect(res.roundTrips).toBeLessThanOrEqual(bounds.maxRoundTrips);
      expect(res.errorsCorrected).toBeLessThanOrEqual(bounds.maxCorrections);
    }
    expect(aborted).toBeGreaterThanOrEqual(2);
  });

  test("Alice refuses a Bob who asks for more parities than the key has bits", () => {
    const rng = seededRandom(34);
    const n = 4_000;
    const { a } = exactErrorPair(n, 0.02, rng);
    const cfg: CascadeConfig = { variant: DEFAULT_CASCADE_VARIANT, qber: 0.02, seed: seedFrom(rng), sampleSize: 1_000 };
    const { maxDisclosed } = cascadeBounds(cascadeSchedule(cfg.variant, 0.02, n), n, 0.02, 1_000);
    expect(maxDisclosed).toBeGreaterThan(n);
    const alice = new CascadeAlice(a, cfg);
    // Every single bit of pass 0, then again: the second request would disclose the key twice over.
    const singles = (seq: number) =>
      encodeRangeRequest(
        seq,
        Array.from({ length: n }, (_, i) => ({ p: 0, s: i, e: i + 1 })),
      ).body;
    alice.respond(singles(1));
    expect(alice.disclosedBits).toBe(n);
    expect(() => alice.respond(singles(2))).toThrow(/Bob asked for \d+ parities in all, more than the \d+ an honest run can need/);
    expect(alice.disclosedBits).toBe(n);
  });

  test("Alice refuses a Bob who keeps asking past the round-trip cap", () => {
    const rng = seededRandom(33);
    // Large enough that one parity per round trip reaches the round-trip cap before the cap on
    // disclosed parities (n plus the top-level blocks).
    const n = 10_000;
    const { a } = exactErrorPair(n, 0.02, rng);
    const cfg: CascadeConfig = { variant: DEFAULT_CASCADE_VARIANT, qber: 0.02, seed: seedFrom(rng), sampleSize: 2_500 };
    const { maxRoundTrips, maxDisclosed } = cascadeBounds(cascadeSchedule(cfg.variant, 0.02, n), n, 0.02, 2_500);
    expect(maxRoundTrips).toBeLessThan(maxDisclosed);
    const alice = new CascadeAlice(a, cfg);
    for (let seq = 1; seq <= maxRoundTrips; seq++) alice.respond(encodeRangeRequest(seq, [{ p: 0, s: 0, e: 1 }]).body);
    expect(() => alice.respond(encodeRangeRequest(maxRoundTrips + 1, [{ p: 0, s: 0, e: 1 }]).body)).toThrow(
      /Bob asked for round trip \d+, more than the \d+ an honest run needs/,
    );
    expect(alice.disclosedBits).toBe(maxRoundTrips);
  });
});

describe("a lying Alice in a whole session", () => {
  /** Replaces Alice's `lieAt`-th CascadeResponse with one whose middle parity is flipped, re-encoded validly. */
  function lyingAlice(lieAt: number) {
    let seen = 0;
    return (from: "alice" | "bob", bytes: Uint8Array) => {
      if (from !== "alice") return bytes;
      const m = decodeMessage(bytes);
      if (m.payload.type !== MsgType.CascadeResponse || ++seen !== lieAt) return bytes;
      return encodeMessage({ ...m, payload: { type: MsgType.CascadeResponse, body: flipOneParity(m.payload.body) } });
    };
  }

  test.each([
    [1 << 16, 3, 7],
    [1 << 17, 10, 8],
  ])("%i qubits, lie in response %i: both sides end aborted with Bob's reason", (qubits, lieAt, seed) => {
    let requests = 0;
    const honest = runLocal({ qubits, noise: 0.02, seed });
    expect(honest.ok).toBe(true);
    const r = runLocal({
      qubits,
      noise: 0.02,
      seed,
      tamper: lyingAlice(lieAt),
      onMessage: (from, bytes) => {
        if (from === "bob" && decodeMessage(bytes).payload.type === MsgType.CascadeRequest) requests++;
      },
    });
    expect(r.ok).toBe(false);
    expect(r.abort).toMatchObject({ code: "PROTOCOL_ERROR", stage: "cascade" });
    expect(r.abort!.message).toMatch(BOUND_REASON);
    expect(r.abort).toMatchObject({ party: "bob", by: "self" });
    const n = honest.keyBits;
    const { maxRoundTrips } = cascadeBounds(cascadeSchedule(DEFAULT_CASCADE_VARIANT, honest.qber!.estimate, n), n, honest.qber!.estimate);
    expect(requests).toBeLessThanOrEqual(maxRoundTrips);
  });

  test("65536 qubits: every parity flipped ends in Cascade; a wrong parity in the last response ends at the latest in verification", () => {
    const qubits = 1 << 16,
      seed = 9;
    let honestResponses = 0;
    const honest = runLocal({
      qubits,
      noise: 0.03,
      seed,
      onMessage: (from, bytes) => {
        if (from === "alice" && decodeMessage(bytes).payload.type === MsgType.CascadeResponse) honestResponses++;
      },
    });
    expect(honest.ok).toBe(true);
    const liar = (lie: (body: Uint8Array, i: number) => Uint8Array) => {
      let seen = 0;
      return (from: "alice" | "bob", bytes: Uint8Array) => {
        if (from !== "alice") return bytes;
        const m = decodeMessage(bytes);
        if (m.payload.type !== MsgType.CascadeResponse) return bytes;
        return encodeMessage({ ...m, payload: { type: MsgType.CascadeResponse, body: lie(m.payload.body, ++seen) } });
      };
    };
    const all = runLocal({ qubits, noise: 0.03, seed, tamper: liar((body) => flipAllParities(body)) });
    expect(all.ok).toBe(false);
    expect(all.abort).toMatchObject({ code: "PROTOCOL_ERROR", stage: "cascade", party: "bob", by: "self" });
    expect(all.abort!.message).toMatch(BOUND_REASON);

    const late = runLocal({ qubits, noise: 0.03, seed, tamper: liar((body, i) => (i === honestResponses ? flipOneParity(body) : body)) });
    expect(late.ok).toBe(false);
    if (late.abort!.code === "PROTOCOL_ERROR") expect(late.abort!.message).toMatch(BOUND_REASON);
    else expect(late.abort!.code).toBe("VERIFICATION_FAILED");
  });
});
