/** The lab's sweeps: the theory they plot, and the engine runs they make. */
import { asymptoticKeyFraction, finiteKeyLength, optimalSampleSize, runLocal, DEFAULT_EPS_COR, DEFAULT_EPS_SEC } from "@/lib/qkd";
import { finiteKeyFraction, planSweep, runSweep, sweepTable, validateSweep, type CascadePoint, type EvePoint, type KeyFractionPoint } from "@/lib/qkd/sweeps";
import { deriveSeed } from "@/lib/qkd/rng";

describe("sweep theory", () => {
  test("the eavesdropper line is e + f/4 − e·f/2 at every grid point", () => {
    const plan = planSweep({ kind: "eve", qubits: 4000, noise: 0.03, fMax: 1, points: 5, seed: 3 });
    const pts = Array.from({ length: plan.total }, (_, i) => plan.runPoint(i) as EvePoint);
    expect(pts.map((p) => p.f)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    for (const p of pts) expect(p.theory).toBeCloseTo(0.03 + p.f / 4 - (0.03 * p.f) / 2, 12);
    // f = 1, e = 0: Eve measures in the wrong basis half the time, and then Bob is wrong half the time.
    const full = planSweep({ kind: "eve", qubits: 4000, noise: 0, fMax: 1, points: 2, seed: 3 });
    expect((full.runPoint(1) as EvePoint).theory).toBe(0.25);
  });

  test("1 − 2h(Q) is 1 at Q = 0 and reaches 0 near 11.0%", () => {
    expect(asymptoticKeyFraction(0)).toBe(1);
    expect(asymptoticKeyFraction(0.11)).toBeLessThan(0.001);
    expect(asymptoticKeyFraction(0.1)).toBeGreaterThan(0.05);
  });

  test("the finite-key fraction is the engine's bound with the engine's sample size, grows with N and stays below 1 − h(Q)·(1 + f)", () => {
    const N = 100_000,
      q = 0.03;
    const k = optimalSampleSize(N, { epsSec: DEFAULT_EPS_SEC, epsCor: DEFAULT_EPS_COR, designQber: 0.02, designEfficiency: 1.1 });
    const h = -q * Math.log2(q) - (1 - q) * Math.log2(1 - q);
    const ell = finiteKeyLength({ n: N - k, k, qber: q, leakEC: 1.1 * (N - k) * h + 50, epsSec: DEFAULT_EPS_SEC, epsCor: DEFAULT_EPS_COR }).ell;
    expect(finiteKeyFraction(N, q)).toBe(ell / N);
    const fr = [1e4, 1e5, 1e6, 1e7].map((n) => finiteKeyFraction(n, q));
    for (let i = 1; i < fr.length; i++) expect(fr[i]).toBeGreaterThan(fr[i - 1]);
    expect(fr[3]).toBeLessThan(1 - 2.1 * h);
    expect(finiteKeyFraction(1e4, 0.1)).toBe(0);
  });

  test("bad specs are refused", () => {
    expect(() => validateSweep({ kind: "eve", qubits: 10, noise: 0.02, fMax: 1, points: 11, seed: 1 })).toThrow(RangeError);
    expect(() => validateSweep({ kind: "eve", qubits: 1e5, noise: 0.02, fMax: 2, points: 11, seed: 1 })).toThrow(RangeError);
    expect(() => validateSweep({ kind: "cascade", keyBits: 1e4, qMin: 0.01, qMax: 0.1, points: 3, variants: ["nope" as never], seed: 1 })).toThrow(RangeError);
    expect(() => validateSweep({ kind: "blockSize", noise: 0.02, sizes: [], seed: 1 })).toThrow(RangeError);
  });
});

describe("sweep runs", () => {
  test("an eavesdropper sweep is the engine's runs: same seed, same estimate; the flag means the theory is outside the interval", () => {
    const spec = { kind: "eve" as const, qubits: 20_000, noise: 0.02, fMax: 0.5, points: 6, seed: 9 };
    const pts = runSweep(spec) as EvePoint[];
    pts.forEach((p, i) => {
      const r = runLocal({ qubits: 20_000, noise: 0.02, eve: p.f, seed: deriveSeed(9, i), eveFinalKeyGuess: false });
      expect(p.qber).toBe(r.qber!.estimate);
      expect([p.lo, p.hi]).toEqual(r.qber!.interval95);
      expect(p.outside).toBe(p.theory < p.lo || p.theory > p.hi);
      expect(p.lo).toBeLessThanOrEqual(p.qber);
      expect(p.hi).toBeGreaterThanOrEqual(p.qber);
    });
    // The estimates follow the theory: most intervals cover it.
    expect(pts.filter((p) => p.outside).length).toBeLessThanOrEqual(2);
    expect(runSweep(spec)).toEqual(pts);
  });

  test("key fraction runs: no key above the threshold, measured ℓ/sifted at most the Shannon-limit bound", () => {
    const pts = runSweep({ kind: "keyFraction", qubits: 100_000, qMax: 0.12, points: 4, blocks: [5e4], seed: 2 }) as KeyFractionPoint[];
    expect(pts[0].measured).toBeGreaterThan(0.3);
    expect(pts[3].measured).toBe(0);
    expect(pts[3].abort).not.toBeNull();
    for (const p of pts) expect(p.measured).toBeLessThanOrEqual(p.asymptotic);
  });

  test("every Cascade variant corrects every error with f_EC ≥ 1 (no code beats Shannon)", () => {
    const pts = runSweep({
      kind: "cascade",
      keyBits: 4000,
      qMin: 0.02,
      qMax: 0.08,
      points: 3,
      variants: ["original", "yanetal-tuned"],
      seed: 5,
    }) as CascadePoint[];
    expect(pts).toHaveLength(6);
    for (const p of pts) {
      expect(p.residualErrors).toBe(0);
      expect(p.fEC).toBeGreaterThan(1);
      expect(p.roundTrips).toBeGreaterThan(0);
    }
    // Both variants reconcile the same key at a given QBER.
    expect(pts[0].actualQ).toBe(pts[3].actualQ);
  });

  test("the CSV table has one row per point with the point's values, in run order", () => {
    const spec = { kind: "eve" as const, qubits: 5000, noise: 0.02, fMax: 1, points: 3, seed: 1 };
    const pts = runSweep(spec) as EvePoint[];
    const t = sweepTable(spec, pts);
    expect(t.rows).toHaveLength(3);
    const col = (name: string) => t.columns.indexOf(name);
    t.rows.forEach((r, i) => {
      expect(r[col("eve_fraction")]).toBe(pts[i].f);
      expect(r[col("qber_measured")]).toBe(pts[i].qber);
      expect(r[col("outside_ci")]).toBe(pts[i].outside);
    });
  });
});
