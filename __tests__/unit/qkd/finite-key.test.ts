import { binaryEntropy } from "@/lib/qkd/entropy";
import { eveInformationBound, finiteKeyLength, finiteKeyMu, optimalSampleSize, securityCost, verificationHashBits } from "@/lib/qkd/finite-key";
import { seededRandom, randomFloat } from "@/lib/qkd/rng";

describe("finite-key length (TLGR 2012, conservative form)", () => {
  it("equals a hand-computed value", () => {
    // n = 100000, k = 20000, Q = 0.02, leak = 15000, ε_sec = 1e-10, ε_cor = 1e-15:
    // μ = √(120000/(2·10^9) · 20001/20000 · ln(4·10^10)) = √(6e-5 · 1.00005 · 24.41214...) = 0.0382732...
    // h(0.0582727) = 0.3205498…; log2(2/(1e-20·1e-15)) = 1 + 66.4386 + 49.8289 = 117.2675
    // ℓ = ⌊100000·(1 − h) − 15000 − 117.2675⌋
    const mu = Math.sqrt((120000 / (100000 * 20000)) * (20001 / 20000) * Math.log(4e10));
    expect(mu).toBeCloseTo(0.03827, 4);
    const h = -(0.02 + mu) * Math.log2(0.02 + mu) - (0.98 - mu) * Math.log2(0.98 - mu);
    const expected = Math.floor(100000 * (1 - h) - 15000 - (1 + 2 * Math.log2(1e10) + Math.log2(1e15)));
    const r = finiteKeyLength({ n: 100000, k: 20000, qber: 0.02, leakEC: 15000, epsSec: 1e-10, epsCor: 1e-15 });
    expect(r.mu).toBeCloseTo(mu, 14);
    expect(r.ell).toBe(expected);
    expect(r.ell).toBe(52827); // computed independently with 40-digit arithmetic (mpmath): 52827.752…
    expect(r.cost).toBeCloseTo(117.26748332, 7);
  });

  it("verification hash has ⌈log2(1/ε_cor)⌉ bits", () => {
    expect(verificationHashBits(1e-15)).toBe(50);
    expect(verificationHashBits(2 ** -40)).toBe(40);
    expect(verificationHashBits(1e-3)).toBe(10);
  });

  it("ℓ is never above the bound and shrinks with leakage, noise and a smaller sample", () => {
    const rng = seededRandom(11);
    for (let i = 0; i < 500; i++) {
      const n = 1000 + Math.floor(randomFloat(rng) * 1e6),
        k = 100 + Math.floor(randomFloat(rng) * 1e5);
      const qber = randomFloat(rng) * 0.12,
        leakEC = randomFloat(rng) * n * 0.5;
      const epsSec = 10 ** -(3 + 12 * randomFloat(rng)),
        epsCor = 10 ** -(3 + 15 * randomFloat(rng));
      const r = finiteKeyLength({ n, k, qber, leakEC, epsSec, epsCor });
      expect(r.ell).toBeLessThanOrEqual(r.bound);
      expect(r.ell).toBeLessThanOrEqual(n * (1 - binaryEntropy(Math.min(0.5, qber + finiteKeyMu(n, k, epsSec)))) - leakEC - securityCost(epsSec, epsCor));
      expect(finiteKeyLength({ n, k, qber, leakEC: leakEC + 100, epsSec, epsCor }).ell).toBeLessThan(r.ell + 1);
      expect(finiteKeyLength({ n, k: Math.max(1, k >> 1), qber, leakEC, epsSec, epsCor }).ell).toBeLessThanOrEqual(r.ell);
    }
    expect(finiteKeyLength({ n: 1000, k: 100, qber: 0.3, leakEC: 0, epsSec: 1e-10, epsCor: 1e-15 }).ell).toBeLessThan(0);
  });

  it("sizes the test sample at the maximum of ℓ(k)", () => {
    const opts = { epsSec: 1e-10, epsCor: 1e-15, designQber: 0.02, designEfficiency: 1.1 };
    for (const N of [5000, 50_000, 500_000]) {
      const k = optimalSampleSize(N, opts);
      const ell = (kk: number) =>
        finiteKeyLength({ n: N - kk, k: kk, qber: 0.02, leakEC: 1.1 * (N - kk) * binaryEntropy(0.02) + 50, epsSec: 1e-10, epsCor: 1e-15 }).bound;
      for (const f of [0.5, 0.8, 0.95, 1.05, 1.25, 2]) expect(ell(k)).toBeGreaterThanOrEqual(ell(Math.min(N - 1, Math.round(k * f))));
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(N / 2);
    }
  });

  it("bounds Eve's information on an ε-secret key (Alicki–Fannes–Winter)", () => {
    expect(eveInformationBound(0, 1e-10)).toBe(0);
    const b = eveInformationBound(500_000, 1e-10);
    expect(b).toBeGreaterThan(5e-5);
    expect(b).toBeLessThan(6e-5);
  });
});
