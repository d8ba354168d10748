/** Small pure formatting helpers for the chat UI. */

/** Splits a 60-digit safety number into Signal's 12 groups of 5 digits. */
export function safetyNumberGroups(digits: string): string[] {
  const clean = digits.replace(/\D/g, "");
  const groups: string[] = [];
  for (let i = 0; i < clean.length; i += 5) groups.push(clean.slice(i, i + 5));
  return groups;
}

// One formatter for every timestamp: toLocaleTimeString builds a new one per call, which shows up
// when a busy room log re-renders.
let timeFormat: Intl.DateTimeFormat | null = null;

export function formatTime(ts: string | number | Date): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "";
  timeFormat ??= new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return timeFormat.format(d);
}

export function shortId(id: string | null | undefined): string {
  return id ? `${id.slice(0, 8)}…` : "—";
}

/** A join link for a room, from the current origin. */
export function roomLink(origin: string, roomId: string): string {
  return `${origin}/room/${encodeURIComponent(roomId)}`;
}

/** A random room id from crypto randomness: 12 base64url characters (72 bits). */
export function randomRoomId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** ISO form for a <time dateTime>, or undefined when the input is not a date. */
export function isoTime(ts: string | number | Date): string | undefined {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** "just now", "5 min ago", "3 h ago", else the date: when an offline member was last connected. */
export function formatLastSeen(ts: string | undefined, now = Date.now()): string {
  const t = ts ? Date.parse(ts) : NaN;
  if (Number.isNaN(t)) return "unknown";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}
