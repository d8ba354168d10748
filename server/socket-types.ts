/**
 * The Socket.IO types every server module shares: what a socket carries once connected, the typed
 * server and socket, and the relay tap (a test seam). A leaf: it imports types only, and nothing
 * from a feature, so any module can use it without joining an import circle.
 */
import type { Server, Socket } from "socket.io";
import type { Bb84Frame, ClientToServerEvents, ServerToClientEvents } from "@/lib/protocol";
import type { TokenBucket } from "@/lib/protocol/token-bucket";

export interface SocketData {
  /** The client's address: the peer, or behind a trusted load balancer (QSEC_TRUST_PROXY) the one it forwarded. */
  address: string;
  userId: string | null;
  /** When it authenticated (ms): its place among its identity's connections (re-registered after a Redis restart). */
  authAt?: number;
  keys: { signingKey: string; agreementKey: string; agreementSig: string } | null;
  nonce: { value: string; issuedAt: number } | null;
  rooms: Set<string>;
  commands: TokenBucket;
  frames: TokenBucket;
  frameBytes: TokenBucket;
  /** "member": a connection that authenticated (auth:prove); "bb84": a BB84 worker connection (bb84:attach, server/bb84/links.ts). */
  kind: "member" | "bb84";
  /** A BB84 worker connection: the id of the member connection whose ticket it attached with. */
  owner: string | null;
  /** A BB84 worker connection that asked for small frames as base64url text (bb84:attach textFrames). */
  textFrames: boolean;
  /** A member connection: its BB84 tickets → the worker connection that attached with each (null: not yet). */
  links: Map<string, string | null>;
}

export type QsecServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type QsecSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * TEST SEAM, never set in production (server/main.ts leaves it unset): sees each BB84 frame the
 * relay is about to deliver to user `to` and decides what reaches them by calling `deliver` (any
 * number of times, now or later). Integration tests use it to play a tampering, replaying or
 * reordering relay. Without a tap the relay delivers each frame once, at once.
 */
export type RelayTap = (to: string, frame: Bb84Frame, deliver: (frame: Bb84Frame) => void) => void;
