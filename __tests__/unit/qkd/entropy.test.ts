import { asymptoticKeyFraction, binaryEntropy, binaryEntropyClamped, binomialCdf, clopperPearson } from "@/lib/qkd/entropy";

describe("binary entropy", () => {
  it.each([
    [0, 0],
    [1, 0],
    [0.5, 1],
    [0.25, 0.8112781244591328],
    [0.11, 0.499915958164528],
    [0.01, 0.08079313589591118],
    [0.02, 0.14144054254182067],
    [0.05, 0.28639695711595625],
    [0.1, 0.4689955935892812],
  ])("h(%f) = %f", (x, h) => {
    expect(binaryEntropy(x)).toBeCloseTo(h, 12);
  });
  it("is symmetric and clamps past 1/2", () => {
    expect(binaryEntropy(0.3)).toBeCloseTo(binaryEntropy(0.7), 14);
    expect(binaryEntropyClamped(0.6)).toBe(1);
    expect(binaryEntropyClamped(-0.1)).toBe(0);
    expect(() => binaryEntropy(1.5)).toThrow(RangeError);
  });
  it("gives BB84's asymptotic key fraction 1 − 2h(Q), zero near 11%", () => {
    expect(asymptoticKeyFraction(0)).toBe(1);
    expect(asymptoticKeyFraction(0.110028)).toBeLessThan(1e-5);
    expect(asymptoticKeyFraction(0.12)).toBe(0);
  });
});

describe("Clopper–Pearson interval", () => {
  it.each([
    // Reference values: scipy.stats.beta.ppf (the Clopper–Pearson definition)
    [0, 10, 0, 0.3084971078],
    [5, 10, 0.1870860284, 0.8129139716],
    [10, 10, 0.6915028922, 1],
    [20, 1000, 0.012258268, 0.0307200327],
  ])("x=%i n=%i → [%f, %f]", (x, n, lo, hi) => {
    const [l, h] = clopperPearson(x, n);
    expect(l).toBeCloseTo(lo, 7);
    expect(h).toBeCloseTo(hi, 7);
  });
  it("binomial CDF matches a direct sum", () => {
    const n = 30,
      p = 0.2;
    let acc = 0,
      c = 1;
    for (let x = 0; x <= n; x++) {
      if (x > 0) c = (c * (n - x + 1)) / x;
      acc += c * p ** x * (1 - p) ** (n - x);
      expect(binomialCdf(x, n, p)).toBeCloseTo(acc, 10);
    }
  });
});
