/**
 * The wire contract: every event name, its payload schema (zod) and its TypeScript type, imported by
 * the server and by the client. Commands are `entity:verb` and answer through an ack
 * ({ ok: true, data } | { ok: false, error: { code, message } }); notifications are
 * `entity:past-tense`. Identity fields (`from`, user ids, timestamps) in notifications are always
 * set by the server; schemas are strict, so a client that sends `from` is refused.
 * docs/protocol.md documents each event; a test fails when one is missing there.
 */
import { z } from "zod";
import type { AckFn } from "./errors";
import type { LogEntry } from "./log-events";
import { DISPLAY_NAME_MAX, LIMITS, ROOM_ID_RE } from "./limits";
import { CASCADE_VARIANTS } from "../qkd/cascade/variants";
import { STAGES } from "../qkd/stages";
import { isWellFormedText, MALFORMED_TEXT, wellFormedText } from "./text";
import { rendersBlank } from "./confusables";
import { backupFetchSchema, backupPutSchema, type BackupBlob } from "./backup";

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
const binary = (max: number) =>
  z
    .custom<Uint8Array>((v) => v instanceof Uint8Array || v instanceof ArrayBuffer, "expected binary")
    .refine((v) => (v as Uint8Array).byteLength <= max, "too large");

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
  })
  .strict();
export const roomLeaveSchema = z.object({ roomId: roomIdSchema }).strict();
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
  })
  .strict();
export const bb84RelaySchema = z
  .object({
    roomId: roomIdSchema,
    to: userIdSchema,
    sessionId: z.string().regex(/^[0-9a-f]{32}$/, "session id: 32 hex characters"), // from bb84:start
    frame: binary(LIMITS.maxBb84FrameBytes), // opaque, encrypted and authenticated by the pair
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

export const logsFetchSchema = z
  .object({
    roomId: roomIdSchema,
    sinceId: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(LIMITS.maxLogFetch).optional(),
  })
  .strict();

export type RoomkeyShareItem = z.infer<typeof roomkeyShareSchema>["shares"][number];

// ---- data the server sends -----------------------------------------------------------------

export interface MemberInfo {
  userId: string;
  displayName: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
  online: boolean;
  joinedAt: string;
}
export interface RoomState {
  roomId: string;
  epoch: number;
  /** The deterministic leader for this epoch: the present member with the smallest user id. */
  leaderId: string | null;
  capacity: number | null;
  members: MemberInfo[]; // present members only
  /** The room's simulation channel settings, applied to BB84 sessions started from now on. */
  channel: ChannelSettings;
}
export interface JoinResult extends RoomState {
  you: string;
  created: boolean;
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
  frame: Uint8Array | ArrayBuffer;
}

// ---- the two directions, for Socket.IO's typed Server / Socket ----------------------------

export interface ClientToServerEvents {
  "auth:hello": (p: z.input<typeof authHelloSchema>, ack: AckFn<{ nonce: string }>) => void;
  "auth:prove": (p: z.input<typeof authProveSchema>, ack: AckFn<{ userId: string }>) => void;
  "room:join": (p: z.input<typeof roomJoinSchema>, ack: AckFn<JoinResult>) => void;
  "room:leave": (p: z.input<typeof roomLeaveSchema>, ack: AckFn<Record<string, never>>) => void;
  "keys:list": (p: z.input<typeof keysListSchema>, ack: AckFn<{ members: MemberInfo[] }>) => void;
  "roomkey:share": (p: z.input<typeof roomkeyShareSchema>, ack: AckFn<{ delivered: number }>) => void;
  "message:send": (p: z.input<typeof messageSendSchema>, ack: AckFn<{ id: string; ts: string }>) => void;
  "bb84:relay": (p: z.input<typeof bb84RelaySchema>, ack: AckFn<Record<string, never>>) => void;
  "logs:fetch": (p: z.input<typeof logsFetchSchema>, ack: AckFn<{ logs: LogEntry[] }>) => void;
  "channel:set": (p: z.input<typeof channelSetSchema>, ack: AckFn<{ channel: ChannelSettings }>) => void;
  "bb84:start": (p: z.input<typeof bb84StartSchema>, ack: AckFn<Bb84SessionSummary>) => void;
  "bb84:report": (p: z.input<typeof bb84ReportSchema>, ack: AckFn<Bb84SessionSummary>) => void;
  "bb84:list": (p: z.input<typeof bb84ListSchema>, ack: AckFn<{ sessions: Bb84SessionSummary[] }>) => void;
  "backup:fetch": (p: z.input<typeof backupFetchSchema>, ack: AckFn<BackupBlob>) => void;
  "backup:put": (p: z.input<typeof backupPutSchema>, ack: AckFn<{ version: number }>) => void;
}

export interface ServerToClientEvents {
  "room:updated": (p: RoomState) => void;
  "roomkey:shared": (p: RoomkeyShared) => void;
  "message:received": (p: MessageReceived) => void;
  "bb84:frame": (p: Bb84Frame) => void;
  /** Newly stored log rows of one room, batched per flush (one frame per member per flush). */
  "log:appended": (p: { roomId: string; entries: LogEntry[] }) => void;
  /** The same identity authenticated on another connection; this one is closed. */
  "session:replaced": (p: Record<string, never>) => void;
  /** A room's channel settings changed (by a member's simulation controls or the admin console). */
  "channel:updated": (p: ChannelUpdated) => void;
  /** A BB84 session of the room started, or ended (success or abort): to every present member. */
  "bb84:updated": (p: Bb84SessionSummary) => void;
}

export const COMMAND_SCHEMAS = {
  "auth:hello": authHelloSchema,
  "auth:prove": authProveSchema,
  "room:join": roomJoinSchema,
  "room:leave": roomLeaveSchema,
  "keys:list": keysListSchema,
  "roomkey:share": roomkeyShareSchema,
  "message:send": messageSendSchema,
  "bb84:relay": bb84RelaySchema,
  "logs:fetch": logsFetchSchema,
  "channel:set": channelSetSchema,
  "bb84:start": bb84StartSchema,
  "bb84:report": bb84ReportSchema,
  "bb84:list": bb84ListSchema,
  "backup:fetch": backupFetchSchema,
  "backup:put": backupPutSchema,
} as const satisfies Record<keyof ClientToServerEvents, z.ZodType>;

export type CommandName = keyof ClientToServerEvents;
export const COMMAND_NAMES = Object.keys(COMMAND_SCHEMAS) as CommandName[];
export const NOTIFICATION_NAMES = [
  "room:updated",
  "roomkey:shared",
  "message:received",
  "bb84:frame",
  "log:appended",
  "session:replaced",
  "channel:updated",
  "bb84:updated",
] as const satisfies readonly (keyof ServerToClientEvents)[];

/** The leader rule shared by server and clients: smallest user id among present members. */
export function leaderOf(memberIds: readonly string[]): string | null {
  let best: string | null = null;
  for (const id of memberIds) if (best === null || id < best) best = id;
  return best;
}
