/** Small statistics helpers for the relay benchmark. */

/** Nearest-rank percentile (p in [0, 100]) of an unsorted sample; NaN for an empty one. */
export function percentile(sample: ArrayLike<number>, p: number): number {
  const n = sample.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(sample).sort();
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[rank];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Rounds for the JSON report (keeps it readable without losing what matters). */
export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A growable Float64 sample (latencies can number in the hundreds of thousands per run). */
export class Sample {
  private buf: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Float64Array(capacity);
  }
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}
