/**
 * The wire contract: every event name, its payload schema (zod) and its TypeScript type, imported by
 * the server and by the client. Commands are `entity:verb` and answer through an ack
 * ({ ok: true, data } | { ok: false, error: { code, message } }); notifications are
 * `entity:past-tense`. Identity fields (`from`, user ids, timestamps) in notifications are always
 * set by the server; schemas are strict, so a client that sends `from` is refused.
 * docs/protocol.md documents each event; a test fails when one is missing there.
 */
import { z } from "./zod";
import type { AckFn, ErrorCode } from "./errors";
import type { LogEntry } from "./log-events";
import { DISPLAY_NAME_MAX, LIMITS, ROOM_ID_RE } from "./limits";
import { CASCADE_VARIANTS } from "../qkd/cascade/variants";
import { STAGES } from "../qkd/stages";
import { isWellFormedText, MALFORMED_TEXT, wellFormedText } from "./text";
import { rendersBlank } from "./confusables";
import { backupFetchSchema, backupPutSchema, type BackupBlob } from "./backup";
import { attachmentCreateSchema, attachmentGrantSchema, attachmentIdSchema, type AttachmentCapability } from "./attachments";

/** base64url without padding, with a byte-length ceiling checked on the encoded form. */
export function b64url(maxBytes: number, exactBytes?: number) {
  const maxChars = Math.ceil((maxBytes * 4) / 3);
  let s = z
    .string()
    .max(maxChars, "too large")
    .regex(/^[A-Za-z0-9_-]*$/, "not base64url");
  if (exactBytes !== undefined) s = s.length(Math.ceil((exactBytes * 4) / 3), `must encode ${exactBytes} bytes`);
  return s;
}

export const roomIdSchema = z.string().regex(ROOM_ID_RE, "room id: 1-32 characters of A-Z a-z 0-9 _ -");
export const userIdSchema = z.string().regex(/^[0-9a-f]{32}$/, "user id: 32 hex characters");
export const displayNameSchema = z
  .string()
  .refine(isWellFormedText, MALFORMED_TEXT)
  .transform((s) => s.normalize("NFC").replace(/\s+/g, " ").trim())
  .pipe(
    z
      .string()
      .min(1, "display name is required")
      .max(DISPLAY_NAME_MAX, `display name: at most ${DISPLAY_NAME_MAX} characters`)
      // Control and bidi-override characters would let one name impersonate another on screen.
      .regex(/^[^\p{Cc}\p{Cf}]+$/u, "display name: no control or formatting characters")
      .refine((s) => !rendersBlank(s), "display name: must show at least one visible character"),
  );
const epochSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const historyModeSchema = z.union([z.object({ days: z.number().int().min(1).max(LIMITS.maxHistoryDays) }).strict(), z.literal("ephemeral")]);
export type HistoryMode = z.infer<typeof historyModeSchema>;
/**
 * A BB84 frame: binary (at most LIMITS.maxBb84FrameBytes), or base64url text (at most
 * LIMITS.maxBb84TextFrameBytes decoded), which a small frame saves a WebSocket message with.
 */
const bb84FrameField = z
  .custom<Uint8Array | ArrayBuffer | string>(
    (v) => v instanceof Uint8Array || v instanceof ArrayBuffer || (typeof v === "string" && /^[A-Za-z0-9_-]*$/.test(v)),
    "expected binary or base64url",
  )
  .refine(
    (v) => (typeof v === "string" ? v.length <= Math.ceil((LIMITS.maxBb84TextFrameBytes * 4) / 3) : v.byteLength <= LIMITS.maxBb84FrameBytes),
    "too large",
  );

// ---- client → server commands -------------------------------------------------------------

export const authHelloSchema = z.object({}).strict();
export const authProveSchema = z
  .object({
    signingKey: b64url(32, 32), // Ed25519 public key
    agreementKey: b64url(32, 32), // X25519 public key
    agreementSig: b64url(64, 64), // Ed25519 signature binding agreementKey to signingKey (peers verify it)
    signature: b64url(64, 64), // Ed25519 signature over the auth transcript (lib/crypto/identity.ts)
  })
  .strict();
export const roomJoinSchema = z
  .object({
    roomId: roomIdSchema.optional(), // omitted: the server picks a random id
    displayName: displayNameSchema,
    capacity: z.number().int().min(2).max(LIMITS.maxRoomMembers).optional(), // honoured for the first joiner only
    /**
     * History mode, honoured for the room's creator only: keep the encrypted history N days (capped
     * by the server's QSEC_HISTORY_DAYS) or "ephemeral" (nothing stored). Default: 30 days.
     */
    history: historyModeSchema.optional(),
  })
  .strict();
export const roomLeaveSchema = z.object({ roomId: roomIdSchema }).strict();
/** The room's creator removes a member (who stays removed until they join again). */
export const roomRemoveSchema = z.object({ roomId: roomIdSchema, userId: userIdSchema }).strict();
/** The caller has stored these epochs' room keys: the server deletes its key blobs for them. */
export const roomkeyAckSchema = z
  .object({
    roomId: roomIdSchema,
    epochs: z.array(epochSchema).min(1).max(LIMITS.maxKeyAckEpochs),
  })
  .strict();
/** A page of the room's stored envelopes the caller may read, newest first, before a cursor. */
export const historyFetchSchema = z
  .object({
    roomId: roomIdSchema,
    before: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(), // a cursor; omitted: from the newest
    limit: z.number().int().min(1).max(LIMITS.maxHistoryFetch).optional(),
  })
  .strict();
export const keysListSchema = z.object({ roomId: roomIdSchema }).strict();
export const roomkeyShareSchema = z
  .object({
    roomId: roomIdSchema,
    epoch: epochSchema,
    shares: z
      .array(
        z
          .object({
            to: userIdSchema,
            iv: b64url(12, 12),
            wrapped: b64url(LIMITS.maxWrappedKeyBytes),
            signature: b64url(64, 64),
          })
          .strict(),
      )
      .min(1)
      .max(LIMITS.maxRoomMembers),
  })
  .strict();
export const messageSendSchema = z
  .object({
    roomId: roomIdSchema,
    epoch: epochSchema, // for direct messages: 0 (the pair key has no epoch)
    counter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    iv: b64url(12, 12),
    ciphertext: b64url(LIMITS.maxMessageCiphertextBytes),
    signature: b64url(64, 64),
    to: userIdSchema.optional(), // present: a direct message, delivered to that member only
    // A room message announcing an attachment names it (its id only): the server then lets the
    // members of this message's epoch read it too (one who joined after the upload finished).
    attachment: attachmentIdSchema.optional(),
  })
  .strict();
export const bb84RelaySchema = z
  .object({
    roomId: roomIdSchema,
    to: userIdSchema,
    sessionId: z.string().regex(/^[0-9a-f]{32}$/, "session id: 32 hex characters"), // from bb84:start
    frame: bb84FrameField, // opaque, encrypted and authenticated by the pair
  })
  .strict();
/** Simulation channel settings of a room (not secrets): applied at Bob's detector in each BB84 session. */
export const channelSettingsSchema = z
  .object({
    noise: z.number().min(0).max(0.5), // bit error rate e of the channel
    loss: z.number().min(0).max(0.99), // probability a photon is lost
    eve: z.number().min(0).max(1), // fraction of qubits an intercept-resend eavesdropper measures
  })
  .strict();
export type ChannelSettings = z.infer<typeof channelSettingsSchema>;
export const channelSetSchema = z.object({ roomId: roomIdSchema, channel: channelSettingsSchema }).strict();

export const bb84SessionIdSchema = z.string().regex(/^[0-9a-f]{32}$/, "session id: 32 hex characters");
export const bb84StartSchema = z
  .object({
    roomId: roomIdSchema,
    peerId: userIdSchema, // becomes Bob; the caller is Alice
    qubits: z.number().int().min(LIMITS.bb84MinQubits).max(LIMITS.bb84MaxQubits),
    cascadeVariant: z.enum(CASCADE_VARIANTS),
  })
  .strict();
const count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);
const rate = z.number().min(0).max(1);
/** One party's non-secret account of how its session ended (never a key bit, basis or measurement). */
export const bb84ReportSchema = z
  .object({
    roomId: roomIdSchema,
    sessionId: bb84SessionIdSchema,
    outcome: z.enum(["success", "aborted"]),
    abortCode: z
      .string()
      .regex(/^[A-Z_]{1,32}$/)
      .optional(),
    abortReason: wellFormedText(300).optional(),
    /** Who found the problem: this party ("self"), or the peer whose Abort it received ("peer"). */
    abortBy: z.enum(["self", "peer"]).optional(),
    detected: count.optional(),
    sifted: count.optional(),
    sampleSize: count.optional(),
    qberEstimate: rate.optional(),
    qberBound: rate.optional(),
    disclosedBits: count.optional(),
    fEC: z.number().min(0).max(100).optional(),
    roundTrips: count.optional(),
    finalLength: count.optional(),
    /** Milliseconds per stage (lib/qkd/stages.ts) and total. */
    durations: z.record(z.enum([...STAGES, "total"]), z.number().min(0).max(86_400_000)).optional(),
  })
  .strict();
export const bb84ListSchema = z.object({ roomId: roomIdSchema, limit: z.number().int().min(1).max(200).optional() }).strict();
/**
 * BB84 worker connections (docs/protocol.md): a member connection asks for a one-time ticket, a
 * second connection (the page's BB84 Web Worker) attaches with it and becomes that member's
 * BB84-only connection, and the member connection routes one session's frames to it.
 */
export const bb84TicketSchema = z.object({}).strict();
export const bb84TicketValueSchema = b64url(32, 32);
export const bb84AttachSchema = z
  .object({
    ticket: bb84TicketValueSchema,
    // Frames up to LIMITS.maxBb84TextFrameBytes reach this link as base64url text (one WebSocket message each).
    textFrames: z.boolean().optional(),
  })
  .strict();
export const bb84RouteSchema = z.object({ roomId: roomIdSchema, sessionId: bb84SessionIdSchema, ticket: bb84TicketValueSchema }).strict();
/** A party's claim to run a session on this connection (one of the identity's tabs; first claim wins). */
export const bb84ClaimSchema = z.object({ roomId: roomIdSchema, sessionId: bb84SessionIdSchema }).strict();

export const logsFetchSchema = z
  .object({
    roomId: roomIdSchema,
    sinceId: z.number().int().min(0).optional(),
    /** The newest rows with an id below this one (paging back); not with sinceId. */
    beforeId: z.number().int().min(1).optional(),
    /** Only the room events a timeline shows (ROOM_EVENT_LOG_TYPES). */
    events: z.boolean().optional(),
    limit: z.number().int().min(1).max(LIMITS.maxLogFetch).optional(),
  })
  .strict()
  .refine((p) => p.sinceId === undefined || p.beforeId === undefined, "sinceId and beforeId exclude each other");

export type RoomkeyShareItem = z.infer<typeof roomkeyShareSchema>["shares"][number];

// ---- data the server sends -----------------------------------------------------------------

export interface MemberInfo {
  userId: string;
  displayName: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
  /** At least one of the member's connections (tabs) is in the room now. */
  online: boolean;
  joinedAt: string;
  /** When the member was last connected (ISO 8601); now while online. */
  lastSeenAt: string;
}
export interface RoomState {
  roomId: string;
  epoch: number;
  /**
   * The epoch's leader: the member who distributed its room key, or, while the epoch is not keyed
   * yet, the online member with the smallest user id (leaderOf over online members).
   */
  leaderId: string | null;
  capacity: number | null;
  /** Every member, online or not (a member stays until leave, removal or expiry). */
  members: MemberInfo[];
  /** The room's creator (who may remove members), or null. */
  createdBy: string | null;
  /** Days the room keeps its encrypted history; null: ephemeral (nothing stored). */
  historyDays: number | null;
  /** The room's simulation channel settings, applied to BB84 sessions started from now on. */
  channel: ChannelSettings;
}
export interface JoinResult extends RoomState {
  you: string;
  created: boolean;
  /** The caller was already a member (an earlier connection, another tab): no new epoch started. */
  resumed: boolean;
  /** Key shares the server kept for the caller (epochs that started while it was away), oldest first. Ack them with roomkey:ack. */
  keyShares: RoomkeyShared[];
  /** The first epoch of the caller's current membership: history before it is not available to them. */
  visibleFrom: number;
}
export type RoomLeftReason = "leave" | "removed" | "expired";
/** The member is no longer in the room (sent to every connection of that member). */
export interface RoomLeft {
  roomId: string;
  reason: RoomLeftReason;
  /** Who removed the member (reason "removed"), else null. */
  by: string | null;
}
/** One stored envelope: the message exactly as it was relayed, and its cursor. */
export interface HistoryMessage extends MessageReceived {
  cursor: number;
}
export interface HistoryPage {
  /** Newest first. */
  messages: HistoryMessage[];
  /** Pass as `before` for the next older page; null when there is nothing older the caller may read. */
  nextBefore: number | null;
  /** The first epoch of the caller's current membership (as JoinResult.visibleFrom). */
  visibleFrom: number;
  /** The room's history setting; null: ephemeral (the page is always empty). */
  historyDays: number | null;
}
export interface RoomkeyShared {
  roomId: string;
  epoch: number;
  from: string;
  iv: string;
  wrapped: string;
  signature: string;
}
export interface MessageReceived {
  id: string;
  roomId: string;
  from: string;
  to: string | null;
  epoch: number;
  counter: number;
  iv: string;
  ciphertext: string;
  signature: string;
  ts: string;
}
export type Bb84Outcome = "running" | "success" | "aborted";
/** The non-secret summary of one BB84 session, as stored (Bb84Session) and pushed to the room. */
export interface Bb84SessionSummary {
  /** 16 random bytes as hex, chosen by the server; also the engine's session id. */
  id: string;
  roomId: string;
  aliceId: string;
  bobId: string;
  qubits: number;
  cascadeVariant: string;
  /** Point-estimate QBER above which the session aborts (the engine's threshold). */
  qberThreshold: number;
  /** Channel settings current when the session started (Bob's client applies them). */
  channel: ChannelSettings;
  outcome: Bb84Outcome;
  abortCode: string | null;
  abortReason: string | null;
  /** Who reported the abort first: a party's user id, or "server" (peer left, timeout). */
  abortedBy: string | null;
  detected: number | null;
  sifted: number | null;
  sampleSize: number | null;
  qberEstimate: number | null;
  qberBound: number | null;
  disclosedBits: number | null;
  fEC: number | null;
  roundTrips: number | null;
  finalLength: number | null;
  durations: Record<string, number>;
  startedAt: string;
  finishedAt: string | null;
}
export interface ChannelUpdated {
  roomId: string;
  channel: ChannelSettings;
  /** The member who changed it, or null for the admin console. */
  by: string | null;
  ts: string;
}

export interface Bb84Frame {
  roomId: string;
  from: string;
  sessionId: string;
  /** Binary; base64url text only to a BB84 worker connection that asked for text frames (bb84:attach). */
  frame: Uint8Array | ArrayBuffer | string;
}

/** A refused ack-less `bb84:relay`: the session id it named (null when it named none), and why. */
export interface Bb84Refused {
  sessionId: string | null;
  error: { code: ErrorCode; message: string };
}

// ---- the two directions, for Socket.IO's typed Server / Socket ----------------------------

export interface ClientToServerEvents {
  "auth:hello": (p: z.input<typeof authHelloSchema>, ack: AckFn<{ nonce: string }>) => void;
  "auth:prove": (p: z.input<typeof authProveSchema>, ack: AckFn<{ userId: string }>) => void;
  "room:join": (p: z.input<typeof roomJoinSchema>, ack: AckFn<JoinResult>) => void;
  "room:leave": (p: z.input<typeof roomLeaveSchema>, ack: AckFn<Record<string, never>>) => void;
  "room:remove": (p: z.input<typeof roomRemoveSchema>, ack: AckFn<Record<string, never>>) => void;
  "roomkey:ack": (p: z.input<typeof roomkeyAckSchema>, ack: AckFn<{ deleted: number }>) => void;
  "history:fetch": (p: z.input<typeof historyFetchSchema>, ack: AckFn<HistoryPage>) => void;
  "keys:list": (p: z.input<typeof keysListSchema>, ack: AckFn<{ members: MemberInfo[] }>) => void;
  "roomkey:share": (p: z.input<typeof roomkeyShareSchema>, ack: AckFn<{ delivered: number }>) => void;
  "message:send": (p: z.input<typeof messageSendSchema>, ack: AckFn<{ id: string; ts: string }>) => void;
  "bb84:relay": (p: z.input<typeof bb84RelaySchema>, ack: AckFn<Record<string, never>>) => void;
  "logs:fetch": (p: z.input<typeof logsFetchSchema>, ack: AckFn<{ logs: LogEntry[] }>) => void;
  "channel:set": (p: z.input<typeof channelSetSchema>, ack: AckFn<{ channel: ChannelSettings }>) => void;
  "bb84:start": (p: z.input<typeof bb84StartSchema>, ack: AckFn<Bb84SessionSummary>) => void;
  "bb84:report": (p: z.input<typeof bb84ReportSchema>, ack: AckFn<Bb84SessionSummary>) => void;
  "bb84:list": (p: z.input<typeof bb84ListSchema>, ack: AckFn<{ sessions: Bb84SessionSummary[] }>) => void;
  "bb84:ticket": (p: z.input<typeof bb84TicketSchema>, ack: AckFn<{ ticket: string }>) => void;
  "bb84:attach": (p: z.input<typeof bb84AttachSchema>, ack: AckFn<{ userId: string }>) => void;
  "bb84:route": (p: z.input<typeof bb84RouteSchema>, ack: AckFn<Record<string, never>>) => void;
  "bb84:claim": (p: z.input<typeof bb84ClaimSchema>, ack: AckFn<{ claimed: boolean }>) => void;
  "backup:fetch": (p: z.input<typeof backupFetchSchema>, ack: AckFn<BackupBlob>) => void;
  "backup:put": (p: z.input<typeof backupPutSchema>, ack: AckFn<{ version: number }>) => void;
  "attachment:create": (p: z.input<typeof attachmentCreateSchema>, ack: AckFn<AttachmentCapability>) => void;
  "attachment:grant": (p: z.input<typeof attachmentGrantSchema>, ack: AckFn<AttachmentCapability>) => void;
}

export interface ServerToClientEvents {
  "room:updated": (p: RoomState) => void;
  /** This member left, was removed by the creator, or expired: to every connection of the member. */
  "room:left": (p: RoomLeft) => void;
  "roomkey:shared": (p: RoomkeyShared) => void;
  "message:received": (p: MessageReceived) => void;
  "bb84:frame": (p: Bb84Frame) => void;
  /**
   * A `bb84:relay` sent without an ack (a BB84 worker connection's small frames) was refused: to
   * that connection, with the session id it named. Relayed frames get nothing back.
   */
  "bb84:refused": (p: Bb84Refused) => void;
  /** Newly stored log rows of one room, batched per flush (one frame per member per flush). */
  "log:appended": (p: { roomId: string; entries: LogEntry[] }) => void;
  /** The identity opened more than LIMITS.maxSocketsPerIdentity connections; this, its oldest, is closed. */
  "session:replaced": (p: Record<string, never>) => void;
  /** A room's channel settings changed (by a member's simulation controls or the admin console). */
  "channel:updated": (p: ChannelUpdated) => void;
  /** A BB84 session of the room started, or ended (success or abort): to every connection in the room. */
  "bb84:updated": (p: Bb84SessionSummary) => void;
}

export const COMMAND_SCHEMAS = {
  "auth:hello": authHelloSchema,
  "auth:prove": authProveSchema,
  "room:join": roomJoinSchema,
  "room:leave": roomLeaveSchema,
  "room:remove": roomRemoveSchema,
  "roomkey:ack": roomkeyAckSchema,
  "history:fetch": historyFetchSchema,
  "keys:list": keysListSchema,
  "roomkey:share": roomkeyShareSchema,
  "message:send": messageSendSchema,
  "bb84:relay": bb84RelaySchema,
  "logs:fetch": logsFetchSchema,
  "channel:set": channelSetSchema,
  "bb84:start": bb84StartSchema,
  "bb84:report": bb84ReportSchema,
  "bb84:list": bb84ListSchema,
  "bb84:ticket": bb84TicketSchema,
  "bb84:attach": bb84AttachSchema,
  "bb84:route": bb84RouteSchema,
  "bb84:claim": bb84ClaimSchema,
  "backup:fetch": backupFetchSchema,
  "backup:put": backupPutSchema,
  "attachment:create": attachmentCreateSchema,
  "attachment:grant": attachmentGrantSchema,
} as const satisfies Record<keyof ClientToServerEvents, z.ZodType>;

export type CommandName = keyof ClientToServerEvents;
export const COMMAND_NAMES = Object.keys(COMMAND_SCHEMAS) as CommandName[];
export const NOTIFICATION_NAMES = [
  "room:updated",
  "room:left",
  "roomkey:shared",
  "message:received",
  "bb84:frame",
  "bb84:refused",
  "log:appended",
  "session:replaced",
  "channel:updated",
  "bb84:updated",
] as const satisfies readonly (keyof ServerToClientEvents)[];

/** The leader rule shared by server and clients: smallest user id among online members (of an epoch not keyed yet). */
export function leaderOf(memberIds: readonly string[]): string | null {
  let best: string | null = null;
  for (const id of memberIds) if (best === null || id < best) best = id;
  return best;
}
