/**
 * The BB84 stages in run order (docs/qkd.md §1–7), defined once: the engine times them, the
 * client's snapshot and the UI's labels are keyed by them, and lib/protocol's bb84:report schema
 * accepts exactly these durations. No imports, so lib/protocol can take it without the engine.
 */
export const STAGES = ["qubits", "sifting", "estimation", "cascade", "verification", "amplification"] as const;
export type Stage = (typeof STAGES)[number];

/** One value per stage, in run order (per-stage timings, durations, labels). */
export function stageRecord<T>(value: (stage: Stage) => T): Record<Stage, T> {
  const out = {} as Record<Stage, T>;
  for (const stage of STAGES) out[stage] = value(stage);
  return out;
}
