/** The client's read-only state: plain data, replaced (never mutated) on every change. */
import type { ChannelSettings, LogEntry, MemberInfo } from "@/lib/protocol";
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

export type MessageStatus = "waiting-key" | "ok" | "rejected";

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
  /** Why the message was rejected, in words a user understands. */
  reason?: string;
  /** Direct messages: encrypted under the QKD-hardened (hybrid) pair key. */
  hybrid?: boolean;
}

export interface RoomView {
  roomId: string;
  /** The room's current epoch as last announced by the server. */
  epoch: number;
  /** The leader of the current epoch (our own leaderOf computation, not the server's word). */
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
