/** The client's read-only state: plain data, replaced (never mutated) on every change. */
import type { ChannelSettings, LogEntry, MemberInfo } from "@/lib/protocol";
import type { AttachmentRef } from "@/lib/crypto";
import type { QkdPairView, RoomBb84View } from "./bb84-types";
import type { ClientError, ClientErrorCode } from "./errors";

export type ConnectionState = "connecting" | "authenticating" | "online" | "offline";

export interface MemberView extends MemberInfo {
  /** The member's agreement key is signed by its signing key (verifyAgreementBinding). */
  bindingValid: boolean;
  /** shortFingerprint(signingKey), for the member list. */
  fingerprint: string;
  /** The user marked this peer's current signing key verified (kept in storage). */
  verified: boolean;
  /** A different signing key was seen before behind this display name in this room. */
  keyChanged: boolean;
  isLeader: boolean;
  isMe: boolean;
  /** Our pair keys with this member are QKD-hardened (after a successful BB84 session), else null. */
  qkd: QkdPairView | null;
}

/** "unavailable": a stored message whose key we never held (before we joined, or while we were away as a non-member). */
export type MessageStatus = "waiting-key" | "ok" | "rejected" | "unavailable";

export interface ChatMessage {
  /** The server's id (stamped by the relay). */
  id: string;
  from: string;
  fromName: string;
  /** Recipient of a direct message, else null. */
  to: string | null;
  direct: boolean;
  mine: boolean;
  epoch: number;
  ts: string;
  status: MessageStatus;
  text?: string;
  /** An end-to-end encrypted attachment this message announces (its key rides here, never on the server). */
  attachment?: AttachmentRef;
  /** Why the message was rejected, in words a user understands. */
  reason?: string;
  /** Direct messages: encrypted under the QKD-hardened (hybrid) pair key. */
  hybrid?: boolean;
  /** Loaded from stored history (history:fetch) rather than received live. */
  fromHistory?: boolean;
  /** The server's history cursor, for stored messages (orders the timeline). */
  cursor?: number;
}

export interface RoomView {
  roomId: string;
  /** The room's current epoch as last announced by the server. */
  epoch: number;
  /** The leader of the current epoch (the member who keys it; see chat/roster.ts apply()). */
  leaderId: string | null;
  capacity: number | null;
  /** The display name this client joined with. */
  displayName: string;
  /** False while disconnected or re-joining after a reconnect. */
  present: boolean;
  members: MemberView[];
  messages: ChatMessage[];
  logs: LogEntry[];
  /** The newest epoch whose room key we hold (null: none yet). */
  keyEpoch: number | null;
  /** The key for the current epoch has not arrived yet. */
  waitingForKey: boolean;
  /** Integrity warnings for this room (leader mismatch, bad bindings, refused shares). */
  warnings: string[];
  /** The room's simulation channel settings (server-stored; applied at each BB84 session's start). */
  channel: ChannelSettings;
  /** BB84 sessions of this room: server summaries, this client's live sessions, alarms. */
  bb84: RoomBb84View;
  /** The room's creator (who may remove members), or null. */
  createdBy: string | null;
  /** Days the room keeps its encrypted history; null: ephemeral. */
  historyDays: number | null;
  /** Stored history (issue 12): what has been loaded and what is left. */
  history: HistoryView;
}

export interface HistoryView {
  /** The first epoch of our membership: earlier messages are not available to us. */
  visibleFrom: number | null;
  /** Cursor of the next older page (null: nothing older we may read); undefined: nothing fetched yet. */
  nextBefore: number | null | undefined;
  loading: boolean;
  /** Set when a page failed to load. */
  error: string | null;
}

export interface ClientState {
  connection: ConnectionState;
  userId: string;
  rooms: Readonly<Record<string, RoomView>>;
}

export interface ClientWarning {
  code: ClientErrorCode;
  message: string;
  roomId?: string;
}

/** What a ChatClient announces (TypedEmitter events). */
export interface ChatClientEvents {
  change: ClientState;
  /** A message became readable (received and decrypted, or our own after its ack). */
  message: ChatMessage;
  /** A message failed verification, decryption or the replay check (shown with a reason). */
  rejected: ChatMessage;
  /** Something failed that the UI should show (connection, auth, re-join, a refused command). */
  error: ClientError;
  /** Integrity warnings (leader mismatch, bad binding, refused key share); also in RoomView.warnings. */
  warning: ClientWarning;
}
