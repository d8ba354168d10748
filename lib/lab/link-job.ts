/**
 * The lab's "real link" job: secret key rate per pulse against fibre length for several block
 * sizes, and each block size's maximum distance, from lib/qkd/decoy.ts (vacuum + weak decoy,
 * finite-key bounds of Lim, Curty, Walenta, Xu & Zbinden, PRA 89, 022307 (2014)). Per block: its
 * maximum distance, then one point per distance, in keyRateCurve's order and with its warm starts,
 * so the worker reports progress point by point and the numbers are keyRateCurve's.
 */
import { keyRateAt, maxDistance, validateLink, type DecoySettings, type LinkParams } from "@/lib/qkd/decoy";

export interface LinkSpec {
  params: LinkParams;
  /** Distances 0, step, …, ≤ dMax km. */
  dMax: number;
  dStep: number;
  /** Block sizes n_X (X-basis detections). */
  blocks: number[];
}

export type LinkPoint =
  | { kind: "rate"; nX: number; distanceKm: number; rate: number; qber: number; phaseError: number; mu1: number; mu2: number; pX: number }
  | { kind: "max"; nX: number; maxDistanceKm: number };

export const LINK_LIMITS = { maxDistanceKm: 400, minStepKm: 1, maxBlocks: 6, maxDistances: 101 };

export function linkDistances(spec: Pick<LinkSpec, "dMax" | "dStep">): number[] {
  const n = Math.floor(spec.dMax / spec.dStep + 1e-9) + 1;
  return Array.from({ length: n }, (_, i) => Math.round(i * spec.dStep * 1000) / 1000);
}

export function validateLinkSpec(s: LinkSpec): void {
  validateLink(s.params);
  if (!(s.dMax >= 0 && s.dMax <= LINK_LIMITS.maxDistanceKm)) throw new RangeError(`link: largest distance must be in [0, ${LINK_LIMITS.maxDistanceKm}] km`);
  if (!(s.dStep >= LINK_LIMITS.minStepKm && s.dStep <= Math.max(LINK_LIMITS.minStepKm, s.dMax || 1)))
    throw new RangeError("link: distance step must be ≥ 1 km and ≤ the largest distance");
  if (linkDistances(s).length > LINK_LIMITS.maxDistances) throw new RangeError(`link: at most ${LINK_LIMITS.maxDistances} distances`);
  if (!(s.blocks.length >= 1 && s.blocks.length <= LINK_LIMITS.maxBlocks)) throw new RangeError(`link: 1 to ${LINK_LIMITS.maxBlocks} block sizes`);
  for (const b of s.blocks) if (!(Number.isFinite(b) && b >= 1e4 && b <= 1e12)) throw new RangeError("link: block sizes must be in [10^4, 10^12]");
}

export function planLink(spec: LinkSpec): { total: number; runPoint(i: number): LinkPoint } {
  validateLinkSpec(spec);
  const ds = linkDistances(spec);
  const per = ds.length + 1;
  let warm: DecoySettings | undefined;
  let maxKm = Infinity;
  return {
    total: spec.blocks.length * per,
    runPoint(i) {
      const nX = spec.blocks[Math.floor(i / per)];
      const j = i % per;
      // Each block's maximum distance first: past it the rate is 0 by definition (as keyRateCurve
      // does), so those distances cost no optimisation.
      if (j === 0) {
        warm = undefined;
        maxKm = maxDistance(spec.params, nX);
        return { kind: "max", nX, maxDistanceKm: maxKm };
      }
      const d = ds[j - 1];
      if (d > maxKm) return { kind: "rate", nX, distanceKm: d, rate: 0, qber: NaN, phaseError: NaN, mu1: NaN, mu2: NaN, pX: NaN };
      const pt = keyRateAt(spec.params, d, nX, { warmStart: warm });
      if (pt.rate > 0) warm = { intensities: pt.intensities, probabilities: pt.probabilities };
      return {
        kind: "rate",
        nX,
        distanceKm: d,
        rate: pt.rate,
        qber: pt.qber,
        phaseError: pt.phaseError,
        mu1: pt.intensities.mu1,
        mu2: pt.intensities.mu2,
        pX: pt.probabilities.pX,
      };
    },
  };
}

/** Flat tables for the CSV export: the curve (one row per block and distance) and the maximum distances. */
export function linkTables(points: readonly LinkPoint[]) {
  const rates = points.filter((p): p is Extract<LinkPoint, { kind: "rate" }> => p.kind === "rate");
  const maxes = points.filter((p): p is Extract<LinkPoint, { kind: "max" }> => p.kind === "max");
  return {
    curve: {
      columns: ["block_nX", "distance_km", "key_rate_per_pulse", "qber", "phase_error_bound", "mu1", "mu2", "p_x"],
      rows: rates.map((p) => [p.nX, p.distanceKm, p.rate, p.qber, p.phaseError, p.mu1, p.mu2, p.pX]),
    },
    max: { columns: ["block_nX", "max_distance_km"], rows: maxes.map((p) => [p.nX, p.maxDistanceKm]) },
  };
}
