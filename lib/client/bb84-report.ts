/**
 * A party's bb84:report: the non-secret figures of its finished run, typed as lib/protocol's payload.
 * Unknown or non-finite numbers are left out (the schema has no nulls); values are clamped into the
 * schema's ranges, so a report is never refused for a bound such as Q + μ > 1 on a tiny sample.
 */
import { stageRecord } from "@/lib/qkd/stages";
import type { Bb84ReportPayload } from "./bb84-host";
import type { QkdSnapshot } from "./bb84-types";

/** Why a party ended without a key (its own finding, or the peer's Abort it received). */
export interface ReportedAbort {
  code: string;
  message: string;
  by?: "self" | "peer";
}

type ReportedNumber = "detected" | "sifted" | "sampleSize" | "qberEstimate" | "qberBound" | "disclosedBits" | "fEC" | "roundTrips" | "finalLength";

export function reportPayload(
  session: { roomId: string; sessionId: string; snapshot: QkdSnapshot; elapsedMs: number },
  outcome: "success" | "aborted",
  abort?: ReportedAbort,
): Bb84ReportPayload {
  const snap = session.snapshot;
  const durations = { total: session.elapsedMs, ...stageRecord((stage) => Math.round(snap.timings[stage] * 10) / 10) };
  const payload: Bb84ReportPayload = { roomId: session.roomId, sessionId: session.sessionId, outcome, durations };
  const put = (k: ReportedNumber, v: number | null) => {
    if (v !== null && Number.isFinite(v)) payload[k] = v;
  };
  put("detected", snap.detected);
  put("sifted", snap.sifted);
  put("sampleSize", snap.sampleSize);
  put("qberEstimate", snap.qberEstimate);
  put("qberBound", snap.qberBound !== null ? Math.min(1, snap.qberBound) : null);
  put("disclosedBits", snap.disclosedBits);
  put("fEC", snap.fEC !== null ? Math.min(100, snap.fEC) : null);
  put("roundTrips", snap.roundTrips);
  if (outcome === "success") put("finalLength", snap.finalLength);
  if (abort) {
    payload.abortCode = /^[A-Z_]{1,32}$/.test(abort.code) ? abort.code : "ABORTED";
    payload.abortReason = abort.message.slice(0, 300);
    payload.abortBy = abort.by ?? "self";
  }
  return payload;
}
