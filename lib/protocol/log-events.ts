/**
 * The closed set of structured room log event types. Rows carry actor, target and non-secret JSON
 * metadata (sizes, epochs, counts), never plaintext, ciphertext or key material.
 */
export const LOG_EVENT_TYPES = [
  "ROOM_CREATED", // meta: { capacity, historyDays }
  "MEMBER_JOINED", // actor joined; meta: { displayName }
  "MEMBER_LEFT", // actor left (room:leave); meta: { reason: "leave" }
  "MEMBER_REMOVED", // actor (the creator) removed target
  "MEMBER_EXPIRED", // target was away longer than the membership TTL; meta: { ttlDays }
  "MEMBER_ONLINE", // actor's first connection came back to the room (a resumed join); meta: {}
  "MEMBER_OFFLINE", // actor's last connection to the room closed (still a member); meta: {}
  "HISTORY_PURGED", // retention deleted stored envelopes and key blobs; meta: { envelopes, keyBlobs, olderThanDays }
  "KEY_EPOCH_STARTED", // actor: the epoch's leader (null when nobody is online); meta: { epoch, members }
  "KEY_SHARE_RELAYED", // actor (leader) → target; meta: { epoch, online } (the share is also kept as a key blob until acked)
  "MESSAGE_RELAYED", // actor → room; meta: { epoch, bytes, recipients, count } (coalesced per flush)
  "DIRECT_MESSAGE_RELAYED", // actor → target; meta: { bytes, count } (coalesced per flush)
  "BB84_RELAYED", // actor → target; meta: { sessionId, bytes, count } (coalesced per flush)
  "BB84_SESSION_STARTED", // actor (Alice) → target (Bob); meta: { sessionId, qubits, cascadeVariant, channel }
  "BB84_SESSION_SUMMARY", // actor (Alice) → target (Bob); meta: the non-secret Bb84SessionSummary (outcome, QBER, counts, durations)
  "CHANNEL_SETTINGS_CHANGED", // actor: the member, or null (admin console); meta: { noise, loss, eve, before?, by: "member" | "admin" }
  "ATTACHMENT_UPLOADED", // actor finished uploading an attachment; meta: { attachmentId, bytes } (never a name or type)
  "ATTACHMENTS_PURGED", // retention, an unfinished upload or a deleted room removed attachments; meta: { count, bytes, reason }
  "SECURITY_REJECTED", // actor; meta: { event, code, count } (coalesced per flush) — refused attempts worth an operator's eye
] as const;
export type LogEventType = (typeof LOG_EVENT_TYPES)[number];

/**
 * The room events a conversation shows in line with its messages (logs:fetch `events: true` returns
 * only these): joins, leaves, removals, expiries, key changes, BB84 results, channel changes.
 */
export const ROOM_EVENT_LOG_TYPES = [
  "MEMBER_JOINED",
  "MEMBER_LEFT",
  "MEMBER_REMOVED",
  "MEMBER_EXPIRED",
  "KEY_EPOCH_STARTED",
  "BB84_SESSION_SUMMARY",
  "CHANNEL_SETTINGS_CHANGED",
] as const satisfies readonly LogEventType[];

export interface LogEntry {
  id: number;
  roomId: string;
  type: LogEventType;
  actorId: string | null;
  targetId: string | null;
  meta: Record<string, unknown>;
  createdAt: string; // ISO 8601
}
