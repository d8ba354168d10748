/**
 * What the BB84 session manager may do with the chat client that owns it (ChatClient implements
 * this in bb84Host()): send commands, derive the session's frame key, patch RoomView.bb84 and
 * stage or commit the pair's hybrid keys. The sessions never see the socket or the identity.
 */
import type { Bb84SessionSummary, ClientToServerEvents } from "@/lib/protocol";
import type { RoomBb84View } from "./bb84-types";

/** The bb84:report payload as lib/protocol types it (the zod schema's input). */
export type Bb84ReportPayload = Parameters<ClientToServerEvents["bb84:report"]>[0];

export interface Bb84Host {
  readonly userId: string;
  relay(payload: { roomId: string; to: string; sessionId: string; frame: Uint8Array }): Promise<void>;
  start(payload: { roomId: string; peerId: string; qubits: number; cascadeVariant: string }): Promise<Bb84SessionSummary>;
  report(payload: Bb84ReportPayload): Promise<Bb84SessionSummary>;
  /**
   * bb84:claim: whether this connection runs the session for us (true), or another connection of
   * this identity, another tab, already does (false).
   */
  claim(roomId: string, sessionId: string): Promise<boolean>;
  list(roomId: string): Promise<Bb84SessionSummary[]>;
  /** The session's frame key with a present, correctly bound peer (throws ClientError otherwise). */
  frameKey(roomId: string, peerId: string, sessionId: string): Promise<CryptoKey>;
  hasRoom(roomId: string): boolean;
  otherMembers(roomId: string): string[];
  patchBb84(roomId: string, fn: (v: RoomBb84View) => RoomBb84View): void;
  /** Local success: derive the candidate hybrid keys (accepted for decryption at once). */
  stageQkdKey(peerId: string, sessionId: string, key: Uint8Array, info: { qber: number | null; keyBits: number }): Promise<void>;
  /** The server's verdict on a session whose key was staged. */
  commitQkdKey(peerId: string, sessionId: string, success: boolean): Promise<void>;
  /**
   * The server's success verdict on a session another tab of this identity ran: its hybrid keys,
   * shared by that tab, become the pair's keys here too. False when they did not arrive in time.
   */
  adoptQkdKey(peerId: string, sessionId: string): Promise<boolean>;
  warn(roomId: string, message: string): void;
  /**
   * Optional: BB84 worker connections (server/bb84/links.ts). `url` is the server the worker
   * connects to; ticket() asks this connection for a one-time ticket; route() sends the session's
   * frames to the worker connection that attached with `ticket`.
   */
  links?: {
    url: string;
    ticket(): Promise<string>;
    route(roomId: string, sessionId: string, ticket: string): Promise<void>;
  };
}
