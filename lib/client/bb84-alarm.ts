/**
 * The alarm an aborted session raises in RoomView.bb84: whose reason it shows, and whether it reads
 * as a suspected eavesdropper (lib/qkd's test on the QBER against the channel's noise, and its
 * reason); the dashboard's headline and sentence are lib/ui/bb84-alarm.ts's.
 */
import type { Bb84SessionSummary } from "@/lib/protocol";
import { eavesdropperReason, isQberAbort, suspectEavesdropper } from "@/lib/qkd/eavesdropper";
import type { Bb84Alarm, QkdSnapshot } from "./bb84-types";

/** A reason that replaces whatever the session's own records say (no verdict, we left). */
export interface AlarmOverride {
  code: string;
  reason: string;
}

export function makeAlarm(
  s: { sessionId: string; peerId: string; me: string; snapshot: QkdSnapshot; summary: Bb84SessionSummary },
  override: AlarmOverride | null,
): Bb84Alarm {
  const local = s.snapshot.abort;
  const sum = s.summary;
  // The first detector's reason wins: the server's (a party left, timeout, shutdown) or the peer's
  // (its QBER check, its cancel) explains whatever then failed here, e.g. a refused frame.
  const elsewhere = sum.outcome === "aborted" && sum.abortCode !== null && sum.abortedBy !== null && sum.abortedBy !== s.me;
  const useLocal = !elsewhere && local !== null && local.code !== "CANCELLED";
  const code = override?.code ?? (useLocal ? local!.code : (sum.abortCode ?? local?.code ?? "ABORTED"));
  let reason = override?.reason ?? (useLocal ? local!.message : (sum.abortReason ?? local?.message ?? "the session was aborted"));
  const qber = s.snapshot.qberEstimate ?? sum.qberEstimate;
  const sample = s.snapshot.sampleSize ?? sum.sampleSize;
  const suspectedEve = isQberAbort(code) && suspectEavesdropper({ qberEstimate: qber, sampleSize: sample, noise: sum.channel.noise });
  if (suspectedEve && qber !== null) {
    reason = eavesdropperReason({ qber, sampleSize: sample, noise: sum.channel.noise, threshold: sum.qberThreshold });
  }
  return { sessionId: s.sessionId, peerId: s.peerId, code, reason, suspectedEve, at: new Date().toISOString() };
}
