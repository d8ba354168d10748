/**
 * BB84 over the relay, as the UI and the engines see it. The ChatClient's Bb84Manager
 * (bb84-session.ts) runs the sessions: bb84:start / bb84:relay / bb84:report, per-session frame
 * encryption, chunking and sequencing (bb84-transport.ts); a QkdEngine runs one party's lib/qkd
 * state machine, in-process (Node, tests, bench) or in a Web Worker (browser). Nothing here carries
 * key bits except QkdEngine.key(), which the client turns into the pair's hybrid key and then wipes.
 */
import type { Bb84SessionSummary, ChannelSettings } from "@/lib/protocol";
import type { AbortCode, CascadeVariant, QkdParams, Stage } from "@/lib/qkd";
import type { FrameContext } from "@/lib/crypto/bb84-frames";
import type { Bb84PathStats } from "./bb84-path-stats";

/** Default qubits per session: at 2% QBER about 1,200 final key bits survive (256 needed). */
export const DEFAULT_BB84_QUBITS = 16_384;

export type Bb84Role = "alice" | "bob";

/** What an engine is started with. */
export interface QkdEngineInit {
  role: Bb84Role;
  /** 16 bytes: the server-chosen session id (both parties use it; frames for another id abort). */
  sessionId: Uint8Array;
  params: Partial<QkdParams>;
  /** Bob only: the room's channel settings at the session's start (dark counts 0). */
  channel?: ChannelSettings;
}

/** Plain, cloneable numbers about a running or finished party (structured-clone safe). */
export interface QkdSnapshot {
  status: "idle" | "running" | "done" | "aborted";
  stage: Stage | "idle" | "done" | "aborted";
  /** Overall progress 0..1 (Party.progress). */
  fraction: number;
  qubits: number;
  detected: number | null;
  sifted: number | null;
  sampleSize: number | null;
  sampleErrors: number | null;
  qberEstimate: number | null;
  /** Q + μ, the upper bound that enters the key length. */
  qberBound: number | null;
  qberThreshold: number;
  disclosedBits: number | null;
  roundTrips: number | null;
  /** disclosed / (n·h(Q)). */
  fEC: number | null;
  finalLength: number | null;
  abort: { code: AbortCode; message: string; by: "self" | "peer"; stage: string } | null;
  /** Milliseconds of compute per stage. */
  timings: Record<Stage, number>;
  /**
   * Simulation only, Bob's side (the channel model runs at his detector): bits of the sifted key
   * Eve knows, her bound before privacy amplification (known + disclosed), and after it (bits).
   */
  eve: { intercepted: number; knownSiftedBits: number | null; beforePA: number | null; afterPA: number | null } | null;
}

export interface QkdStep {
  /** Engine messages to send to the peer, in order. */
  out: Uint8Array[];
  snapshot: QkdSnapshot;
}

export interface QkdEngine {
  /** Alice: the Hello and the qubit batches. Bob: nothing to send (out = []). */
  start(): Promise<QkdStep>;
  /** One engine message from the peer (already decrypted and in order). */
  receive(message: Uint8Array): Promise<QkdStep>;
  /** Aborts locally with a reason (transport failure, peer gone); out holds the Abort for the peer. */
  abort(code: AbortCode, message: string): Promise<QkdStep>;
  /** The final key as bytes (bit i of the key = bit i%8 of byte ⌊i/8⌋, LSB first) once done, else null. */
  key(): Promise<Uint8Array | null>;
  /** Frees the engine (terminates a worker). */
  dispose(): void;
  /**
   * Optional: the engine runs the session's frame codec itself, next to the party (the Web Worker
   * engine does, so a protocol step costs the page one task). Without it the session wraps the
   * engine in framedParty in its own thread. Called once, after the frame key is known.
   */
  framed?(setup: FrameSetup): FramedParty;
}

export type QkdEngineFactory = (init: QkdEngineInit) => QkdEngine;

/** A session this client takes part in, live. */
export interface Bb84LiveView {
  sessionId: string;
  roomId: string;
  role: Bb84Role;
  peerId: string;
  cascadeVariant: CascadeVariant | string;
  channel: ChannelSettings;
  status: "running" | "success" | "aborted";
  /**
   * Another tab of this identity runs the session (it claimed it first, bb84:claim): this tab runs
   * no engine and sends nothing; it shows the session, follows its outcome, and on success takes
   * the hybrid keys that tab shares (PairKeyStore).
   */
  elsewhere?: boolean;
  snapshot: QkdSnapshot;
  /** Encrypted transport progress: frames and bytes through the relay so far. */
  transport: { framesSent: number; framesReceived: number; bytesSent: number; bytesReceived: number };
  startedAt: string;
  finishedAt: string | null;
  /** Set when the session ends: where its time went on this client (bb84-path-stats.ts). */
  path?: Bb84PathStats;
}

/** A visible alarm for an aborted session. */
export interface Bb84Alarm {
  sessionId: string;
  peerId: string;
  code: string;
  reason: string;
  /** The QBER was above what the channel's noise explains: a suspected eavesdropper. */
  suspectedEve: boolean;
  at: string;
}

/** Per-peer hardening state (MemberView.qkd). */
export interface QkdPairView {
  hardened: boolean;
  sessionId: string;
  qber: number | null;
  keyBits: number;
  at: string;
}

/** RoomView.bb84. */
export interface RoomBb84View {
  /** This room's sessions (server summaries, newest last, at most 100). */
  sessions: Bb84SessionSummary[];
  /** Sessions this client runs or ran here this page-life (newest last, at most 20). */
  live: Bb84LiveView[];
  /** Latest alarms (newest last, at most 10). */
  alarms: Bb84Alarm[];
}

export interface StartBb84Options {
  /** Default DEFAULT_BB84_QUBITS (a 256-bit key survives at 2% QBER). */
  qubits?: number;
  cascadeVariant?: CascadeVariant;
}

// ---- the session's frames where the party runs (bb84-transport.ts implements them) ----

/** The session's frame key and the two directions' contexts (structured-clone safe: a CryptoKey crosses to a worker). */
export interface FrameSetup {
  key: CryptoKey;
  /** Our frames to the peer. */
  tx: FrameContext;
  /** The peer's frames to us. */
  rx: FrameContext;
}

/** Where a step's time went on the side that runs the party (milliseconds). */
export interface StepTimes {
  open: number;
  engine: number;
  seal: number;
}

/** What a FramedParty call amounted to (structured-clone safe). */
export type FramedStep =
  /** An engine step: its snapshot, and its messages as sealed frames to relay in order. */
  | { kind: "step"; frames: Uint8Array[]; snapshot: QkdSnapshot; t: StepTimes }
  /** A valid frame of a message not yet complete. */
  | { kind: "partial"; frames: []; t: StepTimes }
  /** The frame breaks the session (nothing was handed to the engine). */
  | { kind: "invalid"; reason: string; frames: []; t: StepTimes };

/** An engine behind a FrameCodec: sealed frames in, sealed frames out. */
export interface FramedParty {
  start(): Promise<FramedStep>;
  receiveFrame(frame: Uint8Array): Promise<FramedStep>;
  abort(code: AbortCode, message: string): Promise<FramedStep>;
  /** Drops a half-reassembled message (the session ended). */
  clear(): void;
  /** Optional: the party can carry its frames over a connection of its own (the Web Worker's; PartyLink). */
  link?: PartyLink;
}

/**
 * A party (in its Web Worker) with a Socket.IO connection of its own to the server, attached to
 * this member's connection with a one-time ticket (bb84:ticket / bb84:attach). Once the member
 * connection has routed the session to it (bb84:route), the frame loop runs in the worker: a frame
 * from the peer is opened, stepped, sealed and the answer relayed there, and the page only hears
 * of it (LinkEvent), off the protocol's path.
 */
export interface PartyLink {
  /**
   * The link's handle (its ticket) when its connection is up and attached; with `ticket` null and no
   * live connection, null (ask the server for a ticket and call again with it). Throws when the
   * connection or the attach fails.
   */
  connect(url: string, ticket: string | null): Promise<string | null>;
  /**
   * Before bb84:route: from now on our frames go out over the link, and the peer's frames arriving
   * on it are held until endMainPath. Events come to onEvent.
   */
  direct(onEvent: (e: LinkEvent) => void): Promise<void>;
  /** bb84:route failed: back to the page's connection (nothing went over the link). */
  undirect(): Promise<void>;
  /** Every frame the page's connection got before the route switched has been handed over (receiveFrame): the held frames follow. */
  endMainPath(): Promise<void>;
  /** Resolves once every frame handed to the link went out (or could not). */
  idle(): Promise<void>;
}

/** What the link did, told to the page (structured-clone safe; frames already relayed). */
export type LinkEvent =
  /** A frame from the peer, taken where the party runs: waitMs since our last frames went out, queueMs before it was taken, partyMs to answer it. */
  | { kind: "step"; step: FramedStep; size: number; waitMs: number; queueMs: number; partyMs: number }
  /** One of our frames went through the relay (ackMs: emit → ack; 0 and acked false for a frame sent without an ack). */
  | { kind: "sent"; bytes: number; ackMs: number; many: boolean; acked: boolean }
  /** The relay refused one of our frames for good (nothing more is sent). */
  | { kind: "refused"; reason: string }
  /** The link's connection closed during the session. */
  | { kind: "closed"; reason: string };
