/**
 * planKey (lib/qkd/plan.ts): the key a session of a given size is expected to give, which the BB84
 * panel shows before a session starts. Checked against sessions of the real engine (seeded), not
 * against its own formula.
 */
import { runLocal } from "@/lib/qkd/run";
import { MIN_USABLE_KEY_BITS, planKey } from "@/lib/qkd/plan";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("planKey", () => {
  test.each([
    [16_384, 0.02, 0],
    [32_768, 0.04, 0.3],
    [65_536, 0.02, 0],
  ])("at %i qubits, %f noise and %f loss, the expected key is within 10%% of the median of 15 real sessions", (qubits, noise, loss) => {
    const plan = planKey(qubits, { noise, loss, eve: 0 });
    const runs = Array.from({ length: 15 }, (_, i) => runLocal({ qubits, noise, loss, seed: 500 + i }));
    expect(runs.every((r) => r.ok)).toBe(true);
    const got = median(runs.map((r) => r.finalKeyLength));
    expect(plan.keyBits).toBeGreaterThan(0);
    expect(Math.abs(plan.keyBits - got) / got).toBeLessThan(0.1);
    // Sifted bits and the sample are the protocol's own.
    expect(Math.abs(plan.sifted - median(runs.map((r) => r.sifted))) / plan.sifted).toBeLessThan(0.05);
    expect(Math.abs(plan.sample - median(runs.map((r) => r.testSampleSize)))).toBeLessThanOrEqual(plan.sample * 0.05);
  });

  test("at 8,192 qubits and 2 % noise the expected key is a few hundred bits: near the 128 a key needs, as real sessions show", () => {
    const plan = planKey(8192, { noise: 0.02, loss: 0, eve: 0 });
    expect(plan.keyBits).toBeGreaterThan(MIN_USABLE_KEY_BITS);
    expect(plan.keyBits).toBeLessThan(4 * MIN_USABLE_KEY_BITS);
    expect(planKey(4096, { noise: 0.02, loss: 0, eve: 0 }).keyBits).toBe(0);
  });

  test("a full intercept-resend eavesdropper puts the expected QBER above the threshold: the session should abort", () => {
    const plan = planKey(16_384, { noise: 0.02, loss: 0, eve: 1 });
    expect(plan.aborts).toBe(true);
    expect(plan.qber).toBeCloseTo(0.26, 5);
    expect(runLocal({ qubits: 16_384, noise: 0.02, eve: 1, seed: 9 }).abort?.code).toBe("QBER_TOO_HIGH");
    expect(planKey(16_384, { noise: 0.02, loss: 0, eve: 0 }).aborts).toBe(false);
  });
});
