/**
 * The eavesdropper test an aborted session's alarm is classified by: is the measured QBER more than
 * the channel's configured noise can explain? Intercept-resend on a fraction f of the qubits adds
 * about f/4 (channel.ts), noise alone gives e, so an estimate well above e points at Eve.
 *
 * "Well above": more than 3σ of the test sample's binomial spread plus 0.5% absolute. σ is taken at
 * p = max(e, 1/k) so a noiseless channel (e = 0) still has a spread of one error in k test bits; the
 * 0.5% keeps a small sample's ordinary fluctuation (and the estimate's rounding) from crying wolf.
 */

/** Abort codes a high QBER causes; only these are tested for an eavesdropper. */
const QBER_ABORT_CODES: ReadonlySet<string> = new Set(["QBER_TOO_HIGH", "KEY_TOO_SHORT", "VERIFICATION_FAILED"]);

/** Whether an abort with this code comes from the error rate (and so may be Eve's doing). */
export function isQberAbort(code: string): boolean {
  return QBER_ABORT_CODES.has(code);
}

/** The QBER above which `sampleSize` test bits on a channel with this noise suggest an eavesdropper. */
export function eavesdropperQberLimit(noise: number, sampleSize: number): number {
  const p = Math.max(noise, 1 / sampleSize);
  const sigma = Math.sqrt((p * (1 - p)) / sampleSize);
  return noise + 3 * sigma + 0.005;
}

/** Whether an estimate is more than the channel's noise explains (false before estimation). */
export function suspectEavesdropper(q: { qberEstimate: number | null; sampleSize: number | null; noise: number }): boolean {
  if (q.qberEstimate === null || !q.sampleSize) return false;
  return q.qberEstimate > eavesdropperQberLimit(q.noise, q.sampleSize);
}

/**
 * The reason of an abort the eavesdropper test flagged; it replaces the engine's own wording, which
 * says the same with less context (the QBER, how many test bits, the noise it should be, the threshold).
 */
export function eavesdropperReason(r: { qber: number; sampleSize: number | null; noise: number; threshold: number }): string {
  const on = r.sampleSize ? ` on ${r.sampleSize.toLocaleString("en-US")} test bits` : "";
  return `QBER ${pct(r.qber)}${on} is far above the ${pct(r.noise)} the channel's noise explains (abort threshold ${pct(r.threshold)}), as an eavesdropper measuring the qubits would cause`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
