/**
 * Cascade reconciliation: correctness (statistical, fixed seeds), exact disclosure accounting,
 * hostile messages on both sides, and a loose efficiency bound. No timings are asserted.
 */
import { BitArray } from "@/lib/qkd/bits";
import { seededRandom, randomBelow } from "@/lib/qkd/rng";
import {
  CASCADE_VARIANTS,
  CASCADE_VARIANT_SPECS,
  DEFAULT_CASCADE_VARIANT,
  CascadeAlice,
  CascadeBob,
  CascadeConfig,
  CascadeProtocolError,
  CascadeVariant,
  cascadePermutation,
  cascadeSchedule,
  runCascadeLocal,
} from "@/lib/qkd/cascade";
import { exactErrorPair, seedFrom } from "../../helpers/cascade-pairs";

const h = (q: number) => -q * Math.log2(q) - (1 - q) * Math.log2(1 - q);

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0,
    mul = 1;
  for (;;) {
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (!(b & 0x80)) return [v, pos];
    mul *= 128;
  }
}

/** Parity bits carried by a response: header 0x01 0x02 seq nBits, then ⌈nBits/8⌉ bytes. */
function parityBitsIn(resp: Uint8Array): number {
  let pos = 2;
  [, pos] = readVarint(resp, pos);
  const [nBits, body] = readVarint(resp, pos);
  expect(resp.length - body).toBe((nBits + 7) >>> 3);
  return nBits;
}

/** Run both parties through their byte interfaces, recording every message. */
function runWire(a: BitArray, b: BitArray, cfg: CascadeConfig) {
  const alice = new CascadeAlice(a, cfg);
  const bob = new CascadeBob(b, cfg);
  const requests: Uint8Array[] = [];
  const responses: Uint8Array[] = [];
  for (let req = bob.nextRequest(); req; req = bob.nextRequest()) {
    requests.push(req);
    const resp = alice.respond(req);
    responses.push(resp);
    bob.handleResponse(resp);
  }
  return { alice, bob, requests, responses, res: bob.result() };
}

describe("Cascade: contract", () => {
  test("variants are exported and the default is one of them", () => {
    expect(CASCADE_VARIANTS).toContain("original");
    expect(CASCADE_VARIANTS).toContain("yanetal");
    expect(CASCADE_VARIANTS).toContain(DEFAULT_CASCADE_VARIANT);
  });

  test("schedules follow the published block sizes", () => {
    const n = 10_000;
    expect(cascadeSchedule("original", 0.02, n).blockSize).toEqual([37, 74, 148, 296]);
    const y = cascadeSchedule("yanetal", 0.02, n);
    expect(y.blockSize.slice(0, 3)).toEqual([40, 200, 5000]);
    const o7 = cascadeSchedule("option7", 0.03, n);
    expect(o7.blockSize.slice(0, 3)).toEqual([64, 256, 5000]);
    expect(o7.passes).toBe(14);
    // Every block size is clamped to [1, n].
    expect(Math.max(...cascadeSchedule("original", 1e-9, 100).blockSize)).toBe(100);
  });

  test("shuffles are deterministic in the public seed and differ between passes and seeds", () => {
    const rng = seededRandom(1);
    const s1 = seedFrom(rng),
      s2 = seedFrom(rng);
    const p = cascadePermutation(s1, 1, 1000);
    expect(cascadePermutation(s1, 1, 1000)).toEqual(p);
    expect(cascadePermutation(s1, 2, 1000)).not.toEqual(p);
    expect(cascadePermutation(s2, 1, 1000)).not.toEqual(p);
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(1000).keys()]);
  });

  test("bad configuration is a CascadeProtocolError", () => {
    const bits = new BitArray(100);
    const seed = new Uint8Array(32);
    expect(() => new CascadeBob(bits, { variant: "nope" as CascadeVariant, qber: 0.02, seed })).toThrow(CascadeProtocolError);
    expect(() => new CascadeAlice(bits, { variant: "toString" as CascadeVariant, qber: 0.02, seed })).toThrow(CascadeProtocolError);
    expect(() => new CascadeAlice(bits, { variant: "yanetal", qber: 0.02, seed: new Uint8Array(31) })).toThrow(CascadeProtocolError);
    expect(() => new CascadeBob(bits, { variant: "yanetal", qber: NaN, seed })).toThrow(CascadeProtocolError);
    expect(() => new CascadeBob(bits, { variant: "yanetal", qber: -0.1, seed })).toThrow(CascadeProtocolError);
  });
});

describe.each(CASCADE_VARIANTS.map((v) => [v]))("Cascade %s", (variant) => {
  test("corrects the key in a large majority of runs across QBERs, never crashes", () => {
    const rng = seededRandom(0xc0ffee);
    const qbers = [0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.12];
    let runs = 0,
      ok = 0,
      totalErrors = 0,
      corrected = 0;
    for (const q of qbers) {
      for (let r = 0; r < 12; r++) {
        const n = 1000 + randomBelow(rng, 3000);
        const { a, b, errors } = exactErrorPair(n, q, rng);
        const res = runCascadeLocal(a, b, { variant, qber: q, seed: seedFrom(rng) });
        runs++;
        totalErrors += errors;
        corrected += res.errorsCorrected;
        if (res.bits.xor(a).popcount() === 0) {
          ok++;
          expect(res.errorsCorrected).toBe(errors);
        }
        expect(res.roundTrips).toBeGreaterThan(0);
      }
    }
    // Original Cascade (4 passes) leaves residual errors more often than the optimised variants.
    expect(ok / runs).toBeGreaterThanOrEqual(variant === "original" ? 0.85 : 0.95);
    expect(corrected).toBeLessThanOrEqual(totalErrors + runs * 4);
  });

  test("disclosed bits equal the parity bits carried by Alice's responses, on both sides", () => {
    const rng = seededRandom(42);
    for (const q of [0.01, 0.05, 0.1]) {
      const { a, b } = exactErrorPair(3000, q, rng);
      const { alice, requests, responses, res } = runWire(a, b, { variant, qber: q, seed: seedFrom(rng) });
      const counted = responses.reduce((s, r) => s + parityBitsIn(r), 0);
      expect(alice.disclosedBits).toBe(counted);
      expect(res.disclosedBits).toBe(counted);
      expect(res.roundTrips).toBe(requests.length);
      // Requests are compact descriptors, never per-bit index lists of the key.
      const reqBytes = requests.reduce((s, r) => s + r.length, 0);
      expect(reqBytes).toBeLessThan(8 * counted + 64 * requests.length);
      expect(requests[0].length).toBeLessThan(200);
    }
  });

  test("f_EC stays within a loose statistical bound at n = 10^4", () => {
    const rng = seededRandom(7);
    const n = 10_000;
    for (const q of [0.01, 0.03, 0.06, 0.1]) {
      let f = 0;
      const R = 4;
      for (let r = 0; r < R; r++) {
        const { a, b } = exactErrorPair(n, q, rng);
        const res = runCascadeLocal(a, b, { variant, qber: q, seed: seedFrom(rng) });
        f += res.disclosedBits / (n * h(q)) / R;
      }
      expect(f).toBeGreaterThan(1); // cannot beat the Shannon limit on average
      expect(f).toBeLessThan(variant === "original" ? 1.35 : 1.2);
    }
  });

  test("error-free keys, tiny keys and a zero QBER estimate work", () => {
    const rng = seededRandom(3);
    for (const n of [0, 1, 2, 3, 7, 33, 100]) {
      const a = BitArray.random(n, rng);
      const b = a.clone();
      if (n > 0) b.flip(randomBelow(rng, n));
      const res = runCascadeLocal(a, b, { variant, qber: 0.05, seed: seedFrom(rng) });
      expect(res.bits.xor(a).popcount()).toBe(0);
      if (n === 0) expect(res).toMatchObject({ disclosedBits: 0, roundTrips: 0, errorsCorrected: 0 });
    }
    const a = BitArray.random(5000, rng);
    const res = runCascadeLocal(a, a.clone(), { variant, qber: 0, seed: seedFrom(rng) });
    expect(res.bits.xor(a).popcount()).toBe(0);
    expect(res.errorsCorrected).toBe(0);
    expect(res.roundTrips).toBe(1); // only the top-level parities
  });
});

describe("Cascade: round-trip policy", () => {
  test("yanetal-rt keeps yanetal-tuned's schedule", () => {
    for (const q of [0.01, 0.03, 0.1]) {
      const a = cascadeSchedule("yanetal-rt", q, 10_000),
        b = cascadeSchedule("yanetal-tuned", q, 10_000);
      expect(a.blockSize).toEqual(b.blockSize);
      expect(a.passes).toBe(b.passes);
    }
  });

  test("yanetal-rt cuts the round-trip tail at n = 10^4 and still corrects", () => {
    const rng = seededRandom(2024);
    const n = 10_000,
      q = 0.02,
      runs = 80;
    const rt: Record<string, number[]> = { "yanetal-tuned": [], "yanetal-rt": [] };
    for (let r = 0; r < runs; r++) {
      const { a, b } = exactErrorPair(n, q, rng);
      const seed = seedFrom(rng);
      for (const variant of ["yanetal-tuned", "yanetal-rt"] as const) {
        const res = runCascadeLocal(a, b, { variant, qber: q, seed });
        expect(res.bits.equals(a)).toBe(true);
        rt[variant].push(res.roundTrips);
      }
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.max(...rt["yanetal-rt"])).toBeLessThanOrEqual(135);
    expect(mean(rt["yanetal-rt"])).toBeLessThanOrEqual(mean(rt["yanetal-tuned"]));
    // Identical until the policy kicks in (round trip 60): short runs are unchanged.
    rt["yanetal-tuned"].forEach((x, i) => {
      if (x <= 60) expect(rt["yanetal-rt"][i]).toBe(x);
    });
  });

  test("an eager policy (early passes, multi-level queries from the start) stays exact and accounted", () => {
    CASCADE_VARIANT_SPECS["test-eager"] = {
      ...CASCADE_VARIANT_SPECS["yanetal-tuned"],
      rounds: {
        earlyStartAfter: 0,
        startEvery: 2,
        lookahead: [
          [0, 2],
          [6, 3],
        ],
      },
    };
    const variant = "test-eager" as CascadeVariant;
    try {
      const rng = seededRandom(77);
      let ok = 0,
        runs = 0;
      for (const q of [0.01, 0.03, 0.06, 0.1]) {
        for (let r = 0; r < 6; r++) {
          const { a, b, errors } = exactErrorPair(1000 + randomBelow(rng, 3000), q, rng);
          const { alice, requests, responses, res } = runWire(a, b, { variant, qber: q, seed: seedFrom(rng) });
          const counted = responses.reduce((s, x) => s + parityBitsIn(x), 0);
          expect(alice.disclosedBits).toBe(counted);
          expect(res.disclosedBits).toBe(counted);
          expect(res.roundTrips).toBe(requests.length);
          runs++;
          if (res.bits.equals(a)) {
            ok++;
            expect(res.errorsCorrected).toBe(errors);
          }
        }
      }
      expect(ok / runs).toBeGreaterThanOrEqual(0.95);
    } finally {
      delete CASCADE_VARIANT_SPECS["test-eager"];
    }
  });
});

describe("Cascade: hostile requests (Alice)", () => {
  const rng = seededRandom(11);
  const { a, b } = exactErrorPair(2000, 0.03, rng);
  const cfg: CascadeConfig = { variant: DEFAULT_CASCADE_VARIANT, qber: 0.03, seed: seedFrom(rng) };
  const passes = cascadeSchedule(cfg.variant, cfg.qber, 2000).passes;
  // varint helpers for hand-built requests
  const v = (x: number) => {
    const out: number[] = [];
    while (x >= 0x80) {
      out.push((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    out.push(x);
    return out;
  };
  const req = (...parts: number[][]) => Uint8Array.from(parts.flat());
  const good = req([1, 1], v(1), v(1), v(0), [1], v(1), v(10), v(5)); // seq 1, pass 0, one range [10,15)

  test("a well-formed hand-built request is answered with one parity", () => {
    const alice = new CascadeAlice(a, cfg);
    const resp = alice.respond(good);
    expect(parityBitsIn(resp)).toBe(1);
    expect(alice.disclosedBits).toBe(1);
    expect(resp[4] & 1).toBe(a.parityRange(10, 15));
  });

  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["bad version", req([2, 1], v(1), v(1), v(0), [1], v(1), v(10), v(5))],
    ["not a request", req([1, 2], v(1), v(1), v(0), [1], v(1), v(10), v(5))],
    ["wrong sequence", req([1, 1], v(2), v(1), v(0), [1], v(1), v(10), v(5))],
    ["no groups", req([1, 1], v(1), v(0))],
    ["unknown pass", req([1, 1], v(1), v(1), v(passes), [1], v(1), v(10), v(5))],
    ["huge pass", req([1, 1], v(1), v(1), v(2 ** 31), [1], v(1), v(10), v(5))],
    ["unknown type", req([1, 1], v(1), v(1), v(0), [7], v(1), v(10), v(5))],
    ["empty group", req([1, 1], v(1), v(1), v(0), [1], v(0))],
    ["range past the end", req([1, 1], v(1), v(1), v(0), [1], v(1), v(1999), v(2))],
    ["zero-length range", req([1, 1], v(1), v(1), v(0), [1], v(1), v(10), v(0))],
    ["start out of range", req([1, 1], v(1), v(1), v(0), [1], v(1), v(5000), v(1))],
    ["block out of range", req([1, 1], v(1), v(1), v(0), [0], v(2), v(10 ** 6))],
    ["too many blocks", req([1, 1], v(1), v(1), v(0), [0], v(1999), v(0))],
    ["truncated", good.subarray(0, good.length - 1)],
    ["trailing bytes", req([...good], [0])],
    ["fewer items than announced", req([1, 1], v(1), v(1), v(0), [1], v(3), v(10), v(5))],
    ["overlong varint", req([1, 1], [0x81, 0x80, 0x80, 0x80, 0x80, 0x00], v(1), v(0), [1], v(1), v(10), v(5))],
    ["non-minimal varint", req([1, 1], [0x81, 0x00], v(1), v(0), [1], v(1), v(10), v(5))],
  ];
  test.each(bad)("%s → CascadeProtocolError, nothing disclosed", (_name, msg) => {
    const alice = new CascadeAlice(a, cfg);
    expect(() => alice.respond(msg)).toThrow(CascadeProtocolError);
    expect(alice.disclosedBits).toBe(0);
  });

  test("a replayed request is rejected", () => {
    const alice = new CascadeAlice(a, cfg);
    alice.respond(good);
    expect(() => alice.respond(good)).toThrow(CascadeProtocolError);
    expect(alice.disclosedBits).toBe(1);
  });

  test("random mutations of genuine requests never raise anything but CascadeProtocolError", () => {
    const r = seededRandom(99);
    const bob = new CascadeBob(b, cfg);
    const genuine = bob.nextRequest()!;
    for (let i = 0; i < 2000; i++) {
      const m = genuine.slice(0, Math.max(1, genuine.length - randomBelow(r, 3)));
      const flips = 1 + randomBelow(r, 3);
      for (let j = 0; j < flips; j++) m[randomBelow(r, m.length)] ^= 1 << randomBelow(r, 8);
      const alice = new CascadeAlice(a, cfg);
      try {
        const resp = alice.respond(m);
        expect(alice.disclosedBits).toBe(parityBitsIn(resp));
      } catch (e) {
        expect(e).toBeInstanceOf(CascadeProtocolError);
      }
    }
    for (let i = 0; i < 500; i++) {
      const m = new Uint8Array(1 + randomBelow(r, 40));
      r.fill(m);
      try {
        new CascadeAlice(a, cfg).respond(m);
      } catch (e) {
        expect(e).toBeInstanceOf(CascadeProtocolError);
      }
    }
    expect(() => new CascadeAlice(a, cfg).respond("nope" as unknown as Uint8Array)).toThrow(CascadeProtocolError);
  });
});

describe("Cascade: hostile responses (Bob)", () => {
  const rng = seededRandom(12);
  const { a, b } = exactErrorPair(2000, 0.03, rng);
  const cfg: CascadeConfig = { variant: DEFAULT_CASCADE_VARIANT, qber: 0.03, seed: seedFrom(rng) };

  function fresh() {
    const alice = new CascadeAlice(a, cfg);
    const bob = new CascadeBob(b, cfg);
    const resp = alice.respond(bob.nextRequest()!);
    return { alice, bob, resp };
  }

  test("a response without a request, or a second request before the response, throws", () => {
    const bob = new CascadeBob(b, cfg);
    const { resp } = fresh();
    expect(() => bob.handleResponse(resp)).toThrow(CascadeProtocolError);
    bob.nextRequest();
    expect(() => bob.nextRequest()).toThrow(CascadeProtocolError);
  });

  test("wrong sizes, padding, sequence and kind are rejected", () => {
    const { bob, resp } = fresh();
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      resp.subarray(0, resp.length - 1),
      Uint8Array.from([...resp, 0]),
      Uint8Array.from([2, ...resp.subarray(1)]),
      Uint8Array.from([1, 1, ...resp.subarray(2)]),
    ];
    const wrongSeq = resp.slice();
    wrongSeq[2] = 2;
    cases.push(wrongSeq);
    const nBits = parityBitsIn(resp);
    if (nBits & 7) {
      const pad = resp.slice();
      pad[pad.length - 1] |= 0x80;
      cases.push(pad);
    }
    for (const c of cases) expect(() => bob.handleResponse(c)).toThrow(CascadeProtocolError);
    // Bob is still usable with the genuine response afterwards.
    bob.handleResponse(resp);
    expect(bob.result().disclosedBits).toBe(nBits);
  });

  test("random mutations never raise anything but CascadeProtocolError, and lies never crash Bob", () => {
    const r = seededRandom(5);
    for (let i = 0; i < 300; i++) {
      const { bob, resp } = fresh();
      const m = resp.slice(0, resp.length - randomBelow(r, 2));
      if (m.length > 0) m[randomBelow(r, m.length)] ^= 1 << randomBelow(r, 8);
      try {
        bob.handleResponse(m);
      } catch (e) {
        expect(e).toBeInstanceOf(CascadeProtocolError);
      }
    }
    // A lying Alice (random parities of the right size): Bob terminates, or reports the
    // contradiction as a CascadeProtocolError.
    for (let i = 0; i < 20; i++) {
      const bob = new CascadeBob(b, cfg);
      const alice = new CascadeAlice(a, cfg);
      let rounds = 0;
      try {
        for (let req = bob.nextRequest(); req; req = bob.nextRequest()) {
          const resp = alice.respond(req);
          const nBits = parityBitsIn(resp);
          const body = resp.length - ((nBits + 7) >>> 3);
          for (let j = body; j < resp.length; j++) resp[j] = randomBelow(r, 256);
          if (nBits & 7) resp[resp.length - 1] &= (1 << (nBits & 7)) - 1;
          bob.handleResponse(resp);
          expect(++rounds).toBeLessThan(100_000);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(CascadeProtocolError);
      }
    }
  });

  test("a mismatched seed on Alice's side gives a wrong key, not a crash", () => {
    const alice = new CascadeAlice(a, { ...cfg, seed: new Uint8Array(32).fill(9) });
    const bob = new CascadeBob(b, cfg);
    try {
      for (let req = bob.nextRequest(); req; req = bob.nextRequest()) bob.handleResponse(alice.respond(req));
    } catch (e) {
      expect(e).toBeInstanceOf(CascadeProtocolError);
    }
    expect(bob.result().disclosedBits).toBe(alice.disclosedBits);
  });
});
