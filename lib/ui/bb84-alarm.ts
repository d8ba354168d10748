/**
 * The words a BB84 alarm is shown with: its headline and its sentence. lib/client (bb84-alarm.ts)
 * decides whether an abort is suspicious and records the reason (lib/qkd/eavesdropper.ts words the
 * verdict, as the engine words its own aborts); the dashboard renders title and text from here.
 */

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

/**
 * An alarm is past once a later session with the same peer succeeded: the pair's keys were
 * hardened again since. Returns that session (the newest such), or null while the alarm stands.
 */
export function laterSuccess<T extends { peerId: string; status: string; startedAt: string }>(
  alarm: { peerId: string; at: string },
  sessions: readonly T[],
): T | null {
  const at = Date.parse(alarm.at);
  let found: T | null = null;
  for (const s of sessions) {
    if (s.peerId !== alarm.peerId || s.status !== "success") continue;
    const started = Date.parse(s.startedAt);
    if (!(started > at)) continue;
    if (!found || started > Date.parse(found.startedAt)) found = s;
  }
  return found;
}

/** The sentence a past alarm ends with. */
export function pastAlarmText(peerName: string, succeededAt: string, time: (ts: string) => string): string {
  return `Past: a later session with ${peerName} succeeded at ${time(succeededAt)}.`;
}

/** The notice the peer of a new session sees (the panel and the room's banner use the same words). */
export function startedWithYouText(starterName: string): string {
  return `${starterName} started a BB84 session with you.`;
}

/** Sessions someone else started with this tab that are still running (this tab is Bob). */
export function incomingSessions<T extends { role: string; status: string }>(live: readonly T[]): T[] {
  return live.filter((l) => l.role === "bob" && l.status === "running");
}
