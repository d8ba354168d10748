/**
 * Turns whatever a command threw (a ClientError with a server or client code, or anything else)
 * into words a user can act on. The server's message is shown as detail; the title and advice are
 * ours, so an unexpected message never becomes the only explanation.
 */
export interface UiError {
  code: string;
  title: string;
  message: string;
  detail?: string;
}

const COPY: Record<string, { title: string; message: string }> = {
  ROOM_FULL: { title: "This room is full", message: "The room reached the capacity its creator set. Ask a member to leave, or create a new room." },
  NAME_TAKEN: { title: "That name is taken", message: "Another member of this room uses that display name. Pick a different one." },
  INVALID_PAYLOAD: {
    title: "The server refused the request",
    message: "Something in the request was not valid (room id, display name or capacity). Check the fields and try again.",
  },
  NOT_AUTHENTICATED: { title: "Not signed in", message: "The connection has not proved its identity yet. Reload the page to reconnect." },
  AUTH_FAILED: {
    title: "Identity check failed",
    message: "The server could not verify this tab's signing key. Reload the page; if it persists, open the room in a new tab.",
  },
  NOT_A_MEMBER: { title: "Not a member", message: "You are not a present member of this room. Join it again." },
  UNKNOWN_PEER: { title: "Recipient not in the room", message: "That member is no longer present. Pick another recipient." },
  STALE_EPOCH: { title: "The room key changed", message: "A member joined or left while sending. Wait for the new key, then send again." },
  BUSY: { title: "BB84 busy", message: "You or that member already run as many BB84 sessions as allowed. Wait for the running one to end, then start again." },
  UNKNOWN_SESSION: {
    title: "BB84 session not running",
    message: "The server no longer knows that BB84 session (it ended, or a member left). Start a new one.",
  },
  TOO_LARGE: { title: "Too large", message: "The message is larger than the server accepts. Shorten it." },
  RATE_LIMITED: { title: "Slow down", message: "Too many requests in a short time. Wait a moment and try again." },
  TIMEOUT: { title: "No answer in time", message: "The server or the room key did not answer in time. Check the connection and try again." },
  OFFLINE: { title: "Offline", message: "Could not reach the QSEC server. Check that it is running and reload." },
  NO_KEY: { title: "No room key yet", message: "The key for the current epoch has not arrived. Messages will be sent once it does; try again shortly." },
  NOT_JOINED: { title: "Not in this room", message: "This tab has not joined the room. Join it again." },
  SESSION_REPLACED: {
    title: "Opened elsewhere",
    message:
      "This identity connected from another tab or window, so this one stopped. Reload to take it back, or join as someone else in this tab to be a second member.",
  },
  IDENTITY: {
    title: "Could not load this browser's keys",
    message: "The browser refused to create or read the keys kept in IndexedDB (private mode or storage disabled?).",
  },
  INSECURE_CONTEXT: { title: "Secure context needed", message: "WebCrypto only works over https or on localhost." },
  INTERNAL: { title: "Server error", message: "The server hit an internal error. Try again." },
};

export function toUiError(e: unknown, fallbackCode = "UNKNOWN"): UiError {
  const code =
    typeof e === "object" && e !== null && "code" in e && typeof (e as { code: unknown }).code === "string" ? (e as { code: string }).code : fallbackCode;
  const detail = e instanceof Error ? e.message : typeof e === "string" ? e : undefined;
  const copy = COPY[code];
  if (copy) return { code, ...copy, detail };
  return { code, title: "Something went wrong", message: detail ?? "An unexpected error occurred.", detail: undefined };
}
