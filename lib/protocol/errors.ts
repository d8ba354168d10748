/** The closed set of error codes a command can answer with. Internals never reach a client. */
export const ERROR_CODES = [
  "INVALID_PAYLOAD", // fails the event's schema
  "NOT_AUTHENTICATED", // the socket has not proved its signing key yet
  "AUTH_FAILED", // bad signature, stale nonce or bad key encoding
  "ALREADY_AUTHENTICATED",
  "NOT_A_MEMBER", // the caller is not in the room named
  "ROOM_FULL",
  "NAME_TAKEN", // another member of the room (online or not) uses that display name
  "UNKNOWN_PEER", // the target user is not a member of the room
  "PEER_OFFLINE", // the target member is offline and the command needs them connected (BB84, a DM in an ephemeral room)
  "FORBIDDEN", // the caller is a member but may not do this (room:remove by anyone but the creator)
  "STALE_EPOCH", // a key share or message for an epoch that is not the room's current one
  "NOT_LEADER", // a key share from a member who is not the epoch's leader
  "UNKNOWN_SESSION", // a BB84 frame or report for a session that is not running between these two members
  "BUSY", // too many BB84 sessions running for this member or pair
  "TOO_LARGE",
  "RATE_LIMITED",
  "INTERNAL",
  "UNAVAILABLE", // a cluster node could not reach the shared state (Redis) in time; retry shortly
  "NO_BACKUP", // backup:fetch / backup:put: no key backup under that id
  "QUOTA_EXCEEDED", // attachment:create: the room's or the member's attachment quota is full
  "NO_ATTACHMENT", // attachment:grant: no such attachment in this room, or it is not yours to read; message:send: `attachment` is not your finished upload here
  "BACKUP_CONFLICT", // backup:put: the backup changed since the version given, or the id belongs to another identity
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AckError {
  ok: false;
  error: { code: ErrorCode; message: string };
}
export interface AckOk<T> {
  ok: true;
  data: T;
}
export type Ack<T> = AckOk<T> | AckError;
export type AckFn<T> = (res: Ack<T>) => void;

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function ok<T>(data: T): AckOk<T> {
  return { ok: true, data };
}
export function fail(code: ErrorCode, message: string): AckError {
  return { ok: false, error: { code, message } };
}
