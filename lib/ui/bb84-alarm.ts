/**
 * The words a BB84 alarm is shown with: the reason a suspected eavesdropper's alarm carries, its
 * headline and its sentence. lib/client (bb84-alarm.ts) decides whether an abort is suspicious
 * (lib/qkd's eavesdropper test) and records the reason; the dashboard renders title and text.
 * No imports: lib/client takes its wording from here without depending on the rest of lib/ui.
 */

/**
 * The reason of an abort the eavesdropper test flagged; it replaces the engine's own wording, which
 * says the same with less context (the QBER, how many test bits, the noise it should be, the threshold).
 */
export function eavesdropperReason(r: { qber: number; sampleSize: number | null; noise: number; threshold: number }): string {
  const on = r.sampleSize ? ` on ${r.sampleSize.toLocaleString("en-US")} test bits` : "";
  return `QBER ${pct(r.qber)}${on} is far above the ${pct(r.noise)} the channel's noise explains (abort threshold ${pct(r.threshold)}), as an eavesdropper measuring the qubits would cause`;
}

/** The alarm's headline: an eavesdropping suspicion reads as such, anything else as an aborted session. */
export function alarmTitle(alarm: { suspectedEve: boolean; code: string }): string {
  if (alarm.suspectedEve) return "Suspected eavesdropper";
  switch (alarm.code) {
    case "QBER_TOO_HIGH":
      return "QBER too high";
    case "KEY_TOO_SHORT":
      return "No key left after the finite-key bound";
    case "VERIFICATION_FAILED":
      return "Keys did not match";
    case "CANCELLED":
      return "Session cancelled";
    default:
      return "BB84 session aborted";
  }
}

/**
 * One sentence for the alarm, naming the peer (display names are only ever rendered as text). A
 * failed session never weakens the pair: it keeps an earlier session's hybrid key, else X25519.
 */
export function alarmText(alarm: { reason: string }, peerName: string, stillHardened = false): string {
  const why = alarm.reason.trim().replace(/[.\s]+$/, "") || "no reason given";
  const keys = stillHardened
    ? `Your keys with ${peerName} keep the hybrid key of an earlier successful session.`
    : `Your chat with ${peerName} continues on X25519 keys.`;
  // The title already says "Suspected eavesdropper"; the client's reason explains the numbers.
  return `BB84 with ${peerName} aborted: ${why}. ${keys}`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
