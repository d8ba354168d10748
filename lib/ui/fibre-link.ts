/**
 * Fibre presets for the room's "Simulation controls": a distance of the LCWXZ 2014 link model
 * (lib/qkd/decoy.ts: 0.2 dB/km, η_det 10%, dark counts 6·10^-7, afterpulses 4%, misalignment 0.5%)
 * mapped to the simulated channel's loss and noise.
 *
 * The room's channel sends single photons (an ideal source; decoy states are only needed with weak
 * laser pulses), so the preset uses the model's single-photon terms:
 *   loss  = 1 − Y_1(L)      Y_1 = (1 + p_ap)(1 − (1 − 2p_dc)(1 − η_sys)), η_sys = 10^(−0.02·L)·η_det
 *   noise = e_1(L) / Y_1(L) the QBER of detected single photons (dark counts and afterpulses folded
 *                           in, since the room channel has no separate dark-count setting)
 * Both rounded to 10^-5, the resolution of the drawer's percent inputs. The room's loss is capped at
 * 99%, so presets stop at the distance where 1 − Y_1 reaches it (≈ 50 km).
 */
import type { ChannelSettings } from "@/lib/protocol";
import { DEFAULT_LINK, LinkParams, singlePhotonQber, singlePhotonYield } from "@/lib/qkd/decoy";

/** Distances offered in the drawer, km. */
export const FIBRE_PRESET_DISTANCES: readonly number[] = [5, 10, 25, 50];
/** The room channel's largest loss (lib/protocol channelSettingsSchema). */
export const MAX_ROOM_LOSS = 0.99;

export interface FibrePreset {
  distanceKm: number;
  /** Noise and loss for the room; eve is left to the caller (the preset models an honest fibre). */
  channel: Pick<ChannelSettings, "noise" | "loss">;
  /** Fibre transmittance 10^(−α·L/10). */
  transmittance: number;
  /** Y_1 before rounding. */
  detectionProbability: number;
  /** e_1/Y_1 before rounding. */
  qber: number;
}

const round5 = (x: number) => Math.round(x * 100_000) / 100_000;

/** The room channel for a fibre of distanceKm; RangeError if the loss would exceed the room's 99%. */
export function fibreChannel(distanceKm: number, link: LinkParams = DEFAULT_LINK): FibrePreset {
  if (!(Number.isFinite(distanceKm) && distanceKm >= 0)) throw new RangeError(`fibre distance: expected a number ≥ 0 km, got ${distanceKm}`);
  const y1 = singlePhotonYield(link, distanceKm);
  const qber = singlePhotonQber(link, distanceKm);
  const loss = round5(Math.max(0, 1 - y1));
  if (loss > MAX_ROOM_LOSS)
    throw new RangeError(`fibre distance ${distanceKm} km: loss ${(100 * loss).toFixed(2)}% exceeds the room's ${100 * MAX_ROOM_LOSS}%`);
  return {
    distanceKm,
    channel: { loss, noise: round5(Math.min(0.5, qber)) },
    transmittance: Math.pow(10, (-link.attenuationDbPerKm * distanceKm) / 10),
    detectionProbability: y1,
    qber,
  };
}

/** The preset whose noise and loss equal c's (after rounding), or null: lets the drawer show "50 km" as chosen. */
export function matchingPreset(c: Pick<ChannelSettings, "noise" | "loss">, link: LinkParams = DEFAULT_LINK): number | null {
  for (const d of FIBRE_PRESET_DISTANCES) {
    const p = fibreChannel(d, link);
    if (p.channel.loss === c.loss && p.channel.noise === c.noise) return d;
  }
  return null;
}
