import { BitArray } from "@/lib/qkd/bits";
import { bernoulliWords, expectedQber, QuantumChannel } from "@/lib/qkd/channel";
import { RandomStream, seededRandom } from "@/lib/qkd/rng";
import { basisMatch, siftBits } from "@/lib/qkd/sift";

/** |x̂ − p| within z standard deviations of a binomial proportion over n trials (plus one count). */
function expectBinomial(count: number, n: number, p: number, z = 5) {
  const sd = Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(count / n - p)).toBeLessThanOrEqual(z * sd + 1 / n);
}

function simulate(n: number, params: ConstructorParameters<typeof QuantumChannel>[0], seed: number) {
  const rng = seededRandom(seed);
  const a = BitArray.random(n, rng),
    alpha = BitArray.random(n, rng),
    beta = BitArray.random(n, rng);
  const ch = new QuantumChannel(params, seededRandom(seed + 1));
  const out = ch.transmit(0, n, a.words, alpha.words, beta.words);
  const detected = new BitArray(n, out.detected),
    bobBits = new BitArray(n, out.bits);
  const match = basisMatch(alpha.select(detected), beta.select(detected));
  const sa = siftBits(a, detected, match),
    sb = siftBits(bobBits, detected, match);
  return { a, detected, match, sa, sb, ch };
}

describe("quantum channel model", () => {
  const n = 1 << 17;

  it("sifts about half of the detections", () => {
    const { detected, sa } = simulate(n, { noise: 0.03 }, 1);
    expect(detected.popcount()).toBe(n);
    expectBinomial(sa.length, n, 0.5);
  });

  it.each([0, 0.01, 0.05, 0.1])("QBER matches e + f/4 − e·f/2 across Eve fractions (e = %f)", (e) => {
    for (const f of [0, 0.1, 0.25, 0.5, 1]) {
      const { sa, sb } = simulate(n, { noise: e, eve: f }, Math.round(1000 * e + 100 * f));
      const q = e + f / 4 - (e * f) / 2;
      expect(expectedQber({ noise: e, eve: f, loss: 0, darkCount: 0 })).toBeCloseTo(q, 15);
      expectBinomial(sa.hamming(sb), sa.length, q);
    }
  });

  it("with f = 1 the QBER is 25%", () => {
    const { sa, sb } = simulate(n, { noise: 0, eve: 1 }, 9);
    expectBinomial(sa.hamming(sb), sa.length, 0.25);
  });

  it("applies loss and dark counts", () => {
    const p = { loss: 0.9, darkCount: 0.01, noise: 0.02, eve: 0 };
    const { detected, sa, sb } = simulate(n, p, 5);
    const click = 1 - 0.1 * 0.99 - 0; // 1 − (1 − η)(1 − d) with η = 0.1
    expectBinomial(detected.popcount(), n, 1 - 0.9 * 0.99);
    expect(click).toBeGreaterThan(0);
    expectBinomial(sa.hamming(sb), sa.length, expectedQber(p));
  });

  it("records what Eve learned: she knows ≈ f/2 of the sifted bits, exactly", () => {
    const f = 0.4;
    const { a, detected, match, ch } = simulate(n, { noise: 0.01, eve: f }, 77);
    const rec = ch.eveRecord(n);
    expectBinomial(rec.intercepted.popcount(), n, f);
    const knows = rec.knows.select(detected).select(match);
    expectBinomial(knows.popcount(), knows.length, f / 2);
    // Where she knows, her record is Alice's bit; where she intercepted in the wrong basis, a coin.
    const truth = a.select(detected).select(match),
      guess = rec.guess.select(detected).select(match);
    expect(truth.select(knows).equals(guess.select(knows))).toBe(true);
    const wrong = rec.intercepted.and(rec.knows.not()).select(detected).select(match);
    const agree = wrong.popcount() - truth.select(wrong).hamming(guess.select(wrong));
    expectBinomial(agree, wrong.popcount(), 0.5);
  });

  it("Bernoulli masks have the right density in every regime", () => {
    const r = new RandomStream(seededRandom(4));
    for (const p of [0, 1e-4, 0.01, 0.0625, 0.3, 0.5, 0.77, 0.95, 0.9999, 1]) {
      const m = new BitArray(1_000_003, bernoulliWords(r, p, 1_000_003));
      expectBinomial(m.popcount(), m.length, p);
    }
  });

  it("rejects invalid parameters", () => {
    expect(() => new QuantumChannel({ noise: -0.1 }, seededRandom(1))).toThrow(RangeError);
    expect(() => new QuantumChannel({ eve: 2 }, seededRandom(1))).toThrow(RangeError);
  });
});
