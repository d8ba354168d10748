import { eavesdropperQberLimit, isQberAbort, suspectEavesdropper } from "@/lib/qkd";
import { expectedQberWithoutDarkCounts } from "@/lib/qkd/channel";

describe("eavesdropper test (QBER more than 3σ + 0.5% above the channel's noise)", () => {
  it("puts the limit at e + 3·√(e(1−e)/k) + 0.005", () => {
    // e = 2%, k = 4096: σ = √(0.0196/4096) = 0.0021875.
    expect(eavesdropperQberLimit(0.02, 4096)).toBeCloseTo(0.0315625, 12);
    expect(eavesdropperQberLimit(0.02, 1000)).toBeCloseTo(0.0382815662, 9);
  });

  it("uses one error in k test bits as the spread of a noiseless channel", () => {
    // e = 0, k = 1000: p = 0.001, σ = √(0.000999/1000) ≈ 0.0009995.
    expect(eavesdropperQberLimit(0, 1000)).toBeCloseTo(0.0079984996, 9);
  });

  it("flags a QBER above the limit and nothing at or below it", () => {
    expect(suspectEavesdropper({ qberEstimate: 0.032, sampleSize: 4096, noise: 0.02 })).toBe(true);
    expect(suspectEavesdropper({ qberEstimate: 0.031, sampleSize: 4096, noise: 0.02 })).toBe(false);
    expect(suspectEavesdropper({ qberEstimate: 0.0315625, sampleSize: 4096, noise: 0.02 })).toBe(false);
    expect(suspectEavesdropper({ qberEstimate: 0.008, sampleSize: 1000, noise: 0 })).toBe(true);
    expect(suspectEavesdropper({ qberEstimate: 0.0079, sampleSize: 1000, noise: 0 })).toBe(false);
  });

  it("flags Eve on every qubit of a 2% channel (expected QBER 0.02 + 0.25 − 0.01 = 26%)", () => {
    const q = expectedQberWithoutDarkCounts({ noise: 0.02, eve: 1 });
    expect(q).toBeCloseTo(0.26, 15);
    expect(suspectEavesdropper({ qberEstimate: q, sampleSize: 500, noise: 0.02 })).toBe(true);
  });

  it("says nothing before a QBER was estimated", () => {
    expect(suspectEavesdropper({ qberEstimate: null, sampleSize: 4096, noise: 0 })).toBe(false);
    expect(suspectEavesdropper({ qberEstimate: 0.25, sampleSize: null, noise: 0 })).toBe(false);
    expect(suspectEavesdropper({ qberEstimate: 0.25, sampleSize: 0, noise: 0 })).toBe(false);
  });

  it("applies only to aborts a high QBER causes", () => {
    expect(["QBER_TOO_HIGH", "KEY_TOO_SHORT", "VERIFICATION_FAILED"].map(isQberAbort)).toEqual([true, true, true]);
    expect(["CANCELLED", "PROTOCOL_ERROR", "INTERNAL_ERROR"].map(isQberAbort)).toEqual([false, false, false]);
  });
});
