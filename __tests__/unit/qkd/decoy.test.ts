/**
 * The decoy-state link model (lib/qkd/decoy.ts, lib/qkd/decoy-bounds.ts) against values derived by
 * hand from the channel model and from Lim, Curty, Walenta, Xu & Zbinden, PRA 89, 022307 (2014),
 * and against the paper's own statements — never against numbers copied from this code's output.
 */
import {
  gammaDeviation,
  limKeyLength,
  photonNumberProbability,
  rescaledBounds,
  singlePhotonErrorUpperBound,
  singlePhotonLowerBound,
  vacuumLowerBound,
} from "@/lib/qkd/decoy-bounds";
import {
  DEFAULT_LINK,
  DecoySettings,
  errorProbability,
  fibreTransmittance,
  gain,
  keyRateAt,
  keyRateCurve,
  keyRateWithSettings,
  LinkParams,
  maxDistance,
  MIN_RATE,
  qberAt,
} from "@/lib/qkd/decoy";
import { binaryEntropy } from "@/lib/qkd/entropy";

describe("channel model (LCWXZ 2014 §IV)", () => {
  it("gain and error probability at 0 km for μ = 0.5 match the hand computation", () => {
    // η_sys = 0.1, e^(−0.05) = 0.951229424500714; D = 1 − (1 − 1.2e-6)·e^(−0.05) = 0.048771716974595
    // R = 1.04·D = 0.050722585653579; e = 6e-7 + 5e-3·(1 − e^(−0.05)) + 0.04·D/2 = 0.001219887216988
    expect(gain(DEFAULT_LINK, 0, 0.5)).toBeCloseTo(0.050722585653579, 12);
    expect(errorProbability(DEFAULT_LINK, 0, 0.5)).toBeCloseTo(0.001219887216988, 12);
    // QBER 2.40%: afterpulses (p_ap/2 ≈ 2%) dominate the 0.5% misalignment.
    expect(qberAt(DEFAULT_LINK, 0, 0.5)).toBeCloseTo(0.001219887216988 / 0.050722585653579, 12);
  });

  it("50 km of 0.2 dB/km fibre is 10 dB: η_ch = 0.1 and the gain of μ = 0.5 is 1.04·(1 − (1 − 1.2e-6)·e^(−0.005))", () => {
    expect(fibreTransmittance(DEFAULT_LINK, 50)).toBeCloseTo(0.1, 14);
    expect(gain(DEFAULT_LINK, 50, 0.5)).toBeCloseTo(0.005188263415185, 13);
    expect(errorProbability(DEFAULT_LINK, 50, 0.5)).toBeCloseTo(0.000125311900482, 13);
  });

  it("the vacuum pulse is detected only through dark counts: R_0 = 2·p_dc·(1 + p_ap), e_0 = p_dc + p_ap·p_dc", () => {
    expect(gain(DEFAULT_LINK, 80, 0) / (2 * 6e-7 * 1.04)).toBeCloseTo(1, 9);
    expect(errorProbability(DEFAULT_LINK, 80, 0) / (6e-7 + 0.04 * 6e-7)).toBeCloseTo(1, 9);
  });
});

describe("decoy bounds, Eqs. (2)–(5)", () => {
  const mu = { mu1: 0.5, mu2: 0.1, mu3: 0 };
  const p = { p1: 0.7, p2: 0.2, p3: 0.1 };

  it("τ_0 and τ_1 are the Poisson mixtures Σ p_k e^(−k) and Σ p_k k e^(−k)", () => {
    expect(photonNumberProbability(0, mu, p)).toBeCloseTo(0.7 * Math.exp(-0.5) + 0.2 * Math.exp(-0.1) + 0.1, 14);
    expect(photonNumberProbability(1, mu, p)).toBeCloseTo(0.7 * 0.5 * Math.exp(-0.5) + 0.2 * 0.1 * Math.exp(-0.1), 14);
  });

  it("a hand-computed case: s_0 = τ0·(μ2·n⁻_μ3 − μ3·n⁺_μ2)/(μ2 − μ3) = 0.5·(0.1·100)/0.1 = 50", () => {
    expect(vacuumLowerBound(0.5, mu, { k1: 0, k2: 0, k3: 100 }, { k1: 0, k2: 999, k3: 0 })).toBeCloseTo(50, 12);
    // v_1 ≤ τ1·(m⁺_μ2 − m⁻_μ3)/(μ2 − μ3) = 0.2·(30 − 10)/0.1 = 40
    expect(singlePhotonErrorUpperBound(0.2, mu, { k1: 0, k2: 30, k3: 0 }, { k1: 0, k2: 0, k3: 10 })).toBeCloseTo(40, 12);
    // s_1 ≥ τ1·μ1·[n⁻_μ2 − n⁺_μ3 − (μ2²−μ3²)/μ1²·(n⁺_μ1 − s0/τ0)]/[μ1(μ2−μ3) − μ2² + μ3²]
    //     = 0.2·0.5·[500 − 100 − 0.04·(2000 − 100)]/[0.05 − 0.01] = 0.1·324/0.04 = 810
    expect(singlePhotonLowerBound(0.5, 0.2, mu, { k1: 0, k2: 500, k3: 0 }, { k1: 2000, k2: 0, k3: 100 }, 50)).toBeCloseTo(810, 9);
  });

  it("without multi-photon detections and without fluctuations the bounds are exact", () => {
    const tau0 = photonNumberProbability(0, mu, p),
      tau1 = photonNumberProbability(1, mu, p);
    const s0 = 1234,
      s1 = 56789;
    // n*_k = Σ_n p_k e^(−k) k^n/(n!·τ_n)·s_n, Eq. (A3), with s_n = 0 for n ≥ 2.
    const nk = (k: number, pk: number) => pk * Math.exp(-k) * (s0 / tau0 + (k * s1) / tau1);
    const counts = { k1: nk(mu.mu1, p.p1), k2: nk(mu.mu2, p.p2), k3: nk(mu.mu3, p.p3) };
    const b = rescaledBounds(counts, mu, p, 0);
    const v0 = vacuumLowerBound(tau0, mu, b.minus, b.plus);
    expect(v0).toBeCloseTo(s0, 6);
    expect(singlePhotonLowerBound(tau0, tau1, mu, b.minus, b.plus, v0)).toBeCloseTo(s1, 6);
  });

  it("with multi-photon detections the bounds stay below the truth", () => {
    const m = { mu1: 0.5, mu2: 0.15, mu3: 2e-4 };
    const tau = (n: number) => [m.mu1, m.mu2, m.mu3].reduce((a, k, i) => a + [p.p1, p.p2, p.p3][i] * Math.exp(-k) * k ** n, 0) / [1, 1, 2, 6][n];
    const s = [800, 40000, 9000, 3000]; // s_0 … s_3, any non-negative numbers
    const nk = (k: number, pk: number) => s.reduce((a, sn, n) => a + (pk * Math.exp(-k) * k ** n * sn) / ([1, 1, 2, 6][n] * tau(n)), 0);
    const counts = { k1: nk(m.mu1, p.p1), k2: nk(m.mu2, p.p2), k3: nk(m.mu3, p.p3) };
    const b = rescaledBounds(counts, m, p, 0);
    const v0 = vacuumLowerBound(tau(0), m, b.minus, b.plus);
    const v1 = singlePhotonLowerBound(tau(0), tau(1), m, b.minus, b.plus, v0);
    expect(v0).toBeLessThanOrEqual(s[0] + 1e-9);
    expect(v0).toBeGreaterThan(0.9 * s[0]);
    expect(v1).toBeLessThanOrEqual(s[1] + 1e-9);
    expect(v1).toBeGreaterThan(0.8 * s[1]);
  });

  it("γ(1e-10, 0.05, 1e4, 1e4) from Eq. (5) by hand is 0.030378", () => {
    // (c+d)(1−b)b/(c·d·ln2) = 950/(1e8·0.693147) = 1.37058e-5; log2((c+d)/(c·d·(1−b)b)·21²/a²) = log2(1.85684e20) = 67.3312
    expect(gammaDeviation(1e-10, 0.05, 1e4, 1e4)).toBeCloseTo(0.0303779, 6);
    expect(gammaDeviation(1e-10, 0, 1e4, 1e4)).toBe(0);
  });

  it("Eq. (1) subtracts 6·log2(21/ε_sec) + log2(2/ε_cor) and λ_EC from s_X0 + s_X1·(1 − h(φ))", () => {
    const zero = { k1: 0, k2: 0, k3: 0 };
    const r = limKeyLength({ mu, p, x: { n: zero, m: zero }, z: { n: zero, m: zero }, leakEC: 100, epsSec: 1e-10, epsCor: 1e-15 });
    expect(r.bound).toBeCloseTo(-100 - 6 * Math.log2(21e10) - Math.log2(2e15), 9);
    expect(r.ell).toBe(0);
  });
});

describe("key rate", () => {
  const L = 50;
  // GLLP-style closed form for this channel (photon-number yields of the same model):
  // Y0 = 2 p_dc (1 + p_ap), Y1 = (1 + p_ap)(1 − (1 − 2 p_dc)(1 − η)), e1 = [p_dc + e_mis η + p_ap (1 − (1 − 2p_dc)(1 − η))/2] / Y1,
  // R∞ = q_x² · [τ0 Y0 + τ1 Y1 (1 − h(e1)) − f_EC · Σ p_k R_k · h(E)], E = Σ p_k e_k / Σ p_k R_k.
  function gllp(link: LinkParams, d: number, s: DecoySettings): number {
    const eta = fibreTransmittance(link, d) * link.detectorEfficiency;
    const { darkCount: pdc, afterpulse: pap, misalignment: em, fEC } = link;
    const Y0 = 2 * pdc * (1 + pap);
    const Y1 = (1 + pap) * (1 - (1 - 2 * pdc) * (1 - eta));
    const e1 = (pdc + em * eta + (pap * (1 - (1 - 2 * pdc) * (1 - eta))) / 2) / Y1;
    const ks = [s.intensities.mu1, s.intensities.mu2, s.intensities.mu3];
    const ps = [s.probabilities.p1, s.probabilities.p2, s.probabilities.p3];
    const tau0 = ks.reduce((a, k, i) => a + ps[i] * Math.exp(-k), 0);
    const tau1 = ks.reduce((a, k, i) => a + ps[i] * k * Math.exp(-k), 0);
    const Q = ks.reduce((a, k, i) => a + ps[i] * gain(link, d, k), 0);
    const Em = ks.reduce((a, k, i) => a + ps[i] * errorProbability(link, d, k), 0) / Q;
    return s.probabilities.pX ** 2 * (tau0 * Y0 + tau1 * Y1 * (1 - binaryEntropy(e1)) - fEC * Q * binaryEntropy(Em));
  }
  const weakDecoy: DecoySettings = { intensities: { mu1: 0.5, mu2: 1e-3, mu3: 0 }, probabilities: { p1: 0.8, p2: 0.1, p3: 0.1, pX: 0.9 } };

  it("the asymptotic limit with a vanishing weak decoy equals the GLLP closed form", () => {
    const r = keyRateWithSettings(DEFAULT_LINK, L, Infinity, weakDecoy);
    const closed = gllp(DEFAULT_LINK, L, weakDecoy);
    expect(closed).toBeGreaterThan(0);
    expect(r.rate).toBeLessThanOrEqual(closed * (1 + 1e-9));
    expect(r.rate).toBeGreaterThan(closed * 0.99);
  });

  it("finite blocks approach the asymptotic rate from below as n_X grows", () => {
    const s: DecoySettings = { intensities: { mu1: 0.5, mu2: 0.1, mu3: 2e-4 }, probabilities: { p1: 0.8, p2: 0.1, p3: 0.1, pX: 0.9 } };
    const asym = keyRateWithSettings(DEFAULT_LINK, L, Infinity, s).rate;
    const rates = [1e6, 1e8, 1e10, 1e13].map((n) => keyRateWithSettings(DEFAULT_LINK, L, n, s).rate);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThan(rates[i - 1]);
    expect(rates[rates.length - 1]).toBeLessThanOrEqual(asym);
    expect(rates[rates.length - 1]).toBeGreaterThan(0.97 * asym);
    // and the asymptotic rate with this non-vanishing decoy is below the ideal closed form
    expect(asym).toBeLessThan(gllp(DEFAULT_LINK, L, s));
  });

  it("ε_sec = κ·ℓ is honoured: the reported ε_sec is κ times the (un-floored) key length", () => {
    const r = keyRateAt(DEFAULT_LINK, 25, 1e6);
    expect(r.ell).toBeGreaterThan(0);
    expect(r.epsSec).toBeGreaterThanOrEqual(DEFAULT_LINK.kappa * r.ell * (1 - 1e-9));
    expect(r.epsSec).toBeLessThanOrEqual(DEFAULT_LINK.kappa * (r.ell + 1));
    expect(r.pulses * r.rate).toBeCloseTo(r.ell, 3);
  });

  it("optimised rates fall with distance, rise with the block size, and die past the maximum distance", () => {
    const distances = [0, 60, 120, 180];
    const curves = keyRateCurve(DEFAULT_LINK, distances, [1e5, 1e7]);
    for (const c of curves) {
      for (let i = 1; i < c.points.length; i++) expect(c.points[i].rate).toBeLessThanOrEqual(c.points[i - 1].rate);
      expect(c.points[0].rate).toBeGreaterThan(0);
      for (const pt of c.points) if (pt.distanceKm > c.maxDistanceKm) expect(pt.rate).toBe(0);
      expect(keyRateAt(DEFAULT_LINK, c.maxDistanceKm - 1, c.nX).rate).toBeGreaterThanOrEqual(MIN_RATE);
      expect(keyRateAt(DEFAULT_LINK, c.maxDistanceKm + 1, c.nX).rate).toBe(0);
      expect(keyRateAt(DEFAULT_LINK, c.maxDistanceKm + 20, c.nX).rawRate ?? 0).toBeLessThan(MIN_RATE);
    }
    for (let i = 0; i < distances.length; i++) expect(curves[1].points[i].rate).toBeGreaterThanOrEqual(curves[0].points[i].rate);
    expect(curves[1].maxDistanceKm).toBeGreaterThan(curves[0].maxDistanceKm);
  });

  it("reproduces the paper's statements: n_X = 10^4 reaches about 135 km; at 100 km n_X = 10^9 gives ≈ 1.75× the rate of 10^7", () => {
    const d = maxDistance(DEFAULT_LINK, 1e4);
    expect(d).toBeGreaterThan(125);
    expect(d).toBeLessThan(140);
    const ratio = keyRateAt(DEFAULT_LINK, 100, 1e9).rate / keyRateAt(DEFAULT_LINK, 100, 1e7).rate;
    expect(ratio).toBeGreaterThan(1.4);
    expect(ratio).toBeLessThan(2.1);
  });

  it("optimised settings respect μ1 > μ2 + μ3, μ2 > μ3 and the probability simplex, deterministically", () => {
    const a = keyRateAt(DEFAULT_LINK, 60, 1e6);
    const b = keyRateAt(DEFAULT_LINK, 60, 1e6);
    expect(b).toEqual(a);
    const { mu1, mu2, mu3 } = a.intensities;
    expect(mu1).toBeGreaterThan(mu2 + mu3);
    expect(mu2).toBeGreaterThan(mu3);
    expect(mu3).toBe(DEFAULT_LINK.mu3);
    const { p1, p2, p3, pX } = a.probabilities;
    expect(p1 + p2 + p3).toBeCloseTo(1, 12);
    for (const q of [p1, p2, p3, pX]) expect(q).toBeGreaterThan(0);
  });

  it("a worse detector shortens the link", () => {
    const noisy = { ...DEFAULT_LINK, darkCount: 1e-5 };
    expect(keyRateAt(noisy, 150, 1e6).rate).toBe(0);
    expect(keyRateAt(DEFAULT_LINK, 150, 1e6).rate).toBeGreaterThan(MIN_RATE);
  });

  it("bad input gets a clear error", () => {
    expect(() => keyRateAt({ ...DEFAULT_LINK, detectorEfficiency: 0 }, 10, 1e6)).toThrow(/detectorEfficiency/);
    expect(() => keyRateAt({ ...DEFAULT_LINK, fEC: 0.9 }, 10, 1e6)).toThrow(/fEC/);
    expect(() => keyRateAt(DEFAULT_LINK, -1, 1e6)).toThrow(/distanceKm/);
    expect(() => keyRateAt(DEFAULT_LINK, 10, 10)).toThrow(/nX/);
    expect(() => keyRateWithSettings(DEFAULT_LINK, 10, 1e6, { ...weakDecoy, intensities: { mu1: 0.1, mu2: 0.2, mu3: 0 } })).toThrow(/μ1/);
  });
});
