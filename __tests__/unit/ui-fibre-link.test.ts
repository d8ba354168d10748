import { fibreChannel, FIBRE_PRESET_DISTANCES, matchingPreset, MAX_ROOM_LOSS } from "@/lib/ui/fibre-link";
import { DEFAULT_LINK } from "@/lib/qkd/decoy";
import { channelSettingsSchema } from "@/lib/protocol";

describe("fibre presets for the room's simulation controls", () => {
  it("50 km: η_sys = 10^-1 · 0.1 = 0.01, so loss = 1 − 1.04·(1 − (1 − 1.2e-6)·0.99) and noise = e_1/Y_1, by hand", () => {
    // Y1 = 1.04 · 0.010001188 = 0.01040123552; e1 = 6e-7 + 5e-3·0.01 + 0.04·0.010001188/2 = 2.5062376e-4
    const p = fibreChannel(50);
    expect(p.transmittance).toBeCloseTo(0.1, 12);
    expect(p.detectionProbability).toBeCloseTo(0.01040123552, 12);
    expect(p.qber).toBeCloseTo(2.5062376e-4 / 0.01040123552, 10);
    expect(p.channel).toEqual({ loss: 0.9896, noise: 0.0241 });
  });

  it("0 km: only the detector's 10% efficiency is lost; the QBER (≈ 2.4%) comes from afterpulses, misalignment and dark counts", () => {
    const p = fibreChannel(0);
    expect(p.channel.loss).toBe(0.896); // 1 − 1.04·0.10000108
    expect(p.channel.noise).toBeCloseTo(0.02404, 5);
  });

  it("every offered distance gives a channel the server accepts, lossier with distance", () => {
    let last = -1;
    for (const d of FIBRE_PRESET_DISTANCES) {
      const c = fibreChannel(d).channel;
      expect(channelSettingsSchema.safeParse({ ...c, eve: 0 }).success).toBe(true);
      expect(c.loss).toBeGreaterThan(last);
      last = c.loss;
    }
    expect(last).toBeLessThanOrEqual(MAX_ROOM_LOSS);
  });

  it("a distance beyond the room's 99% loss, or a bad one, is refused with a clear error", () => {
    expect(() => fibreChannel(60)).toThrow(/exceeds the room's 99%/);
    expect(() => fibreChannel(-1)).toThrow(/fibre distance/);
    expect(() => fibreChannel(Number.NaN)).toThrow(/fibre distance/);
  });

  it("a better detector lowers the loss; matchingPreset recognises a preset's channel and nothing else", () => {
    expect(fibreChannel(25, { ...DEFAULT_LINK, detectorEfficiency: 0.5 }).channel.loss).toBeLessThan(fibreChannel(25).channel.loss);
    expect(matchingPreset(fibreChannel(25).channel)).toBe(25);
    expect(matchingPreset({ noise: 0.02, loss: 0 })).toBeNull();
  });
});
