/**
 * ChatClient: the headless, framework-free QSEC client core. It runs in browsers (the React pages
 * wrap it in a zustand store) and in Node (integration tests, benchmarks, BB84 sessions), speaks
 * the typed wire protocol of lib/protocol over socket.io-client, and does every piece of
 * cryptography itself through lib/crypto: the server only ever sees public keys, wrapped shares
 * and ciphertext.
 *
 * What it does, in protocol order:
 *   connect   → auth:hello / auth:prove (signed nonce); after any reconnect it authenticates again
 *               and re-joins its rooms, and since the server starts a new epoch on that join, the
 *               member is re-keyed by the epoch's leader without anyone's help.
 *   room:updated (new epoch) → compute the leader ourselves (leaderOf); if it is us, make a fresh
 *               room key and send one roomkey:share with a signed, wrapped share for every other
 *               present member whose agreement key binding verifies.
 *   roomkey:shared → accept only from our own view of the epoch's leader, unwrap, keep the last few
 *               epochs' keys, decrypt messages that were waiting for that key.
 *   message:received → verify (signature) then decrypt, reject replays, and record every failure
 *               visibly as status "rejected" with a human-readable reason; never drop silently.
 *
 * State is an immutable snapshot (`client.state`) replaced on every change, announced by "change".
 * All inbound events are processed one at a time, in arrival order, on a single async queue, so a
 * share can never be handled before the room:updated that announced its epoch.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import {
  CryptoError,
  decodeChatPayload,
  decryptMessage,
  deriveBb84FrameKey,
  derivePairKeys,
  encodeChatPayload,
  encryptMessage,
  generateRoomKey,
  ReplayGuard,
  replayScope,
  safetyNumber,
  shortFingerprint,
  unwrapRoomKeyShare,
  verifyMember,
  wrapRoomKeyShare,
  signAuth,
  type Identity,
} from "@/lib/crypto";
import {
  leaderOf,
  type Ack,
  type Bb84SessionSummary,
  type ChannelSettings,
  type ClientToServerEvents,
  type CommandName,
  type JoinResult,
  type LogEntry,
  type MemberInfo,
  type MessageReceived,
  type RoomkeyShared,
  type RoomState,
  type ServerToClientEvents,
} from "@/lib/protocol";
import { TypedEmitter } from "./emitter";
import { ClientError, type ClientErrorCode } from "./errors";
import { MemoryStorage, type KeyValueStorage } from "./storage";
import type { ChatMessage, ClientState, ConnectionState, MemberView, RoomView } from "./types";
import { rejectionReason } from "./reasons";
import type { Bb84LiveView, QkdEngineFactory, QkdPairView, RoomBb84View, StartBb84Options } from "./bb84-types";
import { Bb84Manager } from "./bb84-session";
import { createLocalEngine } from "./qkd-engine";
import { capRoomMembers } from "./member-cap";
import { ConfusableNameWarnings } from "./name-warnings";

export type { ChatMessage, ClientState, ConnectionState, MemberView, MessageStatus, RoomView } from "./types";
/** Alias of ClientState (the name the UI store uses). */
export type ChatState = ClientState;
export { ClientError, type ClientErrorCode } from "./errors";
export type { KeyValueStorage } from "./storage";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type PairKeys = Awaited<ReturnType<typeof derivePairKeys>>;

/** The payload a command takes and the data its successful ack carries. */
export type CommandPayload<K extends CommandName> = Parameters<ClientToServerEvents[K]>[0];
export type CommandData<K extends CommandName> = Parameters<Parameters<ClientToServerEvents[K]>[1]>[0] extends infer A
  ? A extends { ok: true; data: infer D }
    ? D
    : never
  : never;

export interface ChatClientOptions {
  /** Server origin, e.g. "http://localhost:3000" (socket.io path /socket.io). */
  url: string;
  identity: Identity;
  /** Verified marks and known display names → signing keys. Default: in memory. */
  storage?: KeyValueStorage;
  /** Extra socket.io-client options (transports is always ["websocket"]). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /** How long a command waits for its ack (and for the connection, if offline). Default 10 s. */
  requestTimeoutMs?: number;
  /** How long send() waits for the current epoch's room key. Default 10 s. */
  keyWaitMs?: number;
  /** How long a received message may wait for its epoch key before it is marked rejected. Default 30 s. */
  waitingMessageTtlMs?: number;
  /** How long connect() waits for the first successful authentication. Default 10 s. */
  connectTimeoutMs?: number;
  /** Runs one BB84 party (default: in this thread; the browser passes a Web Worker engine). */
  qkdEngine?: QkdEngineFactory;
  /** A running BB84 session with no frame from the peer for this long is aborted. Default 60 s. */
  bb84IdleMs?: number;
}

export interface ClientWarning {
  code: ClientErrorCode;
  message: string;
  roomId?: string;
}

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

/** Keys of this many most recent epochs are kept, so messages in flight across a re-key still decrypt. */
const KEEP_EPOCHS = 4;
const MAX_MESSAGES = 1000;
const MAX_LOGS = 1000;
const MAX_WARNINGS = 20;
const LOG_FETCH_LIMIT = 200;

interface EpochInfo {
  leaderId: string | null;
  members: Map<string, MemberInfo>;
}

/** Per-room secrets and bookkeeping that never enter the public state. */
interface RoomInternal {
  roomId: string;
  displayName: string;
  requestedCapacity?: number;
  /** Highest epoch whose RoomState was applied (room:updated or the join ack). */
  appliedEpoch: number;
  /** Our own leader computation and member list per recent epoch. */
  epochs: Map<number, EpochInfo>;
  keys: Map<number, CryptoKey>;
  /** Shares that arrived before the room:updated of their epoch. */
  pendingShares: RoomkeyShared[];
  /** Envelopes that arrived before their epoch's key, by message id. */
  waiting: Map<string, MessageReceived>;
}

interface PairEntry {
  peerId: string;
  signingKey: string;
  agreementKey: string;
  keys: Promise<PairKeys>;
  hybrid: boolean;
  /** Hybrid keys of a BB84 session that succeeded here and awaits the server's verdict (decrypt only). */
  pending: { sessionId: string; keys: Promise<PairKeys>; info: QkdPairView } | null;
  /** The keys before the last switch (decrypt only), so messages in flight across it still open. */
  previous: Promise<PairKeys> | null;
  qkd: QkdPairView | null;
}

type Waiter = { check: () => boolean; resolve: () => void; reject: (e: ClientError) => void; timer: ReturnType<typeof setTimeout> };

/** Messages held per room while their epoch key has not arrived (each up to ~87 KB). */
const MAX_WAITING_PER_ROOM = 200;

/**
 * A check value for comparing two non-extractable AES keys: the encryption of a fixed block under
 * a fixed IV, computed locally and never sent (the IV is one no message uses: message IVs are
 * random, a collision has probability 2^-96).
 */
async function keyCheckValue(key: CryptoKey): Promise<string> {
  const iv = new Uint8Array(12).fill(0xff);
  const out = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(16)));
  return Array.from(out, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How far a sender's clock may lag ours before its fresh direct messages look replayed. */
const DM_CLOCK_SKEW_MS = 5 * 60_000;

export class ChatClient extends TypedEmitter<ChatClientEvents> {
  readonly identity: Identity;
  readonly userId: string;
  private readonly url: string;
  private readonly storage: KeyValueStorage;
  private readonly socketOptions: Partial<ManagerOptions & SocketOptions>;
  private readonly requestTimeoutMs: number;
  private readonly keyWaitMs: number;
  private readonly waitingTtlMs: number;
  private readonly connectTimeoutMs: number;

  private _state: ClientState;
  private _socket: ClientSocket | null = null;
  private rooms = new Map<string, RoomInternal>();
  /** Rooms we left: a late room:updated for them must not bring them back. */
  private leftRooms = new Set<string>();
  private pairs = new Map<string, PairEntry>();
  /** (room, signing key) pairs already warned about a bad agreement key binding. */
  private bindingWarned = new Set<string>();
  private bindingCache = new Map<string, Promise<boolean>>();
  private fingerprintCache = new Map<string, Promise<string>>();
  private replay = new ReplayGuard();
  private nameWarnings = new ConfusableNameWarnings();
  private queue: Promise<unknown> = Promise.resolve();
  private waiters = new Set<Waiter>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;
  private replaced = false;
  private everOnline = false;
  /** Bumped on each (re)connection, so a stale authentication flow can tell it lost the race. */
  private generation = 0;

  /**
   * Per-sender message counter, shared by every room and direct message this client sends.
   * It starts at Date.now() * 1000 (microseconds since the epoch, ~1.7e15, below 2^53) and
   * increments by one per message. Receivers keep a replay window per (sender, scope): per room
   * epoch for room messages, and per room for direct messages, which have no epoch. A reloaded tab
   * keeps its identity (IndexedDB) but loses this in-memory counter; if it restarted at 0, every
   * direct message it sent after the reload (same scope, lower counter) would be rejected as a
   * replay by peers who stayed. Seeding from the clock keeps the sequence increasing across
   * reloads unless a tab sent over 1000 messages per millisecond of its life or the clock went back.
   */
  private counter = Date.now() * 1000;

  /**
   * Direct messages use the pair key, which survives a reload, while the replay window lives in
   * memory. So that a recorded DM cannot be replayed into a reloaded tab, a DM whose authenticated
   * sentAt predates this client's start (less a clock-skew allowance) is rejected: the server only
   * delivers to present sockets, so no honest DM can be that old.
   */
  private readonly startedAt = Date.now();
  private readonly bb84: Bb84Manager;

  constructor(opts: ChatClientOptions) {
    super();
    this.url = opts.url;
    this.identity = opts.identity;
    this.userId = opts.identity.userId;
    this.storage = opts.storage ?? new MemoryStorage();
    this.socketOptions = opts.socketOptions ?? {};
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.keyWaitMs = opts.keyWaitMs ?? 10_000;
    this.waitingTtlMs = opts.waitingMessageTtlMs ?? 30_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this._state = { connection: "offline", userId: this.userId, rooms: {} };
    this.bb84 = new Bb84Manager(this.bb84Host(), opts.qkdEngine ?? ((init) => createLocalEngine(init)), opts.bb84IdleMs);
  }

  // ---- public surface ---------------------------------------------------------------------

  /** The current snapshot; a new object after every change (safe for React/zustand selectors). */
  get state(): ClientState {
    return this._state;
  }

  /** The underlying typed socket (tests listen on it; BB84 sessions use bb84:frame through it). */
  get socket(): ClientSocket | null {
    return this._socket;
  }

  /**
   * Connects and authenticates. Resolves once online; rejects with ClientError after
   * connectTimeoutMs (socket.io keeps retrying in the background until close()).
   */
  async connect(): Promise<void> {
    if (this.closed) throw new ClientError("OFFLINE", "this client is closed");
    if (!this._socket) {
      const socket: ClientSocket = io(this.url, {
        autoConnect: false,
        reconnection: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 5000,
        ...this.socketOptions,
        transports: ["websocket"],
      });
      this._socket = socket;
      this.wire(socket);
      this.setConnection("connecting");
      socket.connect();
    }
    await this.waitUntil(() => this._state.connection === "online", this.connectTimeoutMs, () => {
      if (this.replaced) return new ClientError("SESSION_REPLACED", "this identity connected elsewhere");
      return new ClientError("TIMEOUT", `could not connect to ${this.url} within ${this.connectTimeoutMs} ms`);
    });
  }

  /**
   * Sends a command and resolves with its ack's data, or throws ClientError {code, message}:
   * the server's code, or TIMEOUT/OFFLINE. Waits for the connection (bounded) when offline, so a
   * command issued during a reconnect is sent after the socket has authenticated again.
   */
  async request<K extends CommandName>(event: K, payload: CommandPayload<K>, timeoutMs = this.requestTimeoutMs): Promise<CommandData<K>> {
    const started = Date.now();
    if (event !== "auth:hello" && event !== "auth:prove") {
      await this.waitUntil(() => this._state.connection === "online", timeoutMs, () => new ClientError("OFFLINE", "not connected to the server"));
    }
    return this.emitWithAck(event, payload, Math.max(1, timeoutMs - (Date.now() - started)));
  }

  /**
   * Joins (or creates) a room. roomId undefined: the server picks a random id. The first joiner
   * sets the capacity. Loads the last 200 log rows in the background.
   */
  async join(roomId: string | undefined, displayName: string, capacity?: number): Promise<JoinResult> {
    if (roomId !== undefined) this.leftRooms.delete(roomId);
    const payload: CommandPayload<"room:join"> = { displayName };
    if (roomId !== undefined) payload.roomId = roomId;
    if (capacity !== undefined) payload.capacity = capacity;
    const result = await this.request("room:join", payload);
    this.leftRooms.delete(result.roomId);
    await this.serial(async () => {
      const room = this.ensureRoom(result.roomId, displayName);
      room.displayName = this.memberName(result.members, this.userId) ?? displayName;
      if (capacity !== undefined) room.requestedCapacity = capacity;
      await this.applyRoomState(result);
    });
    this.fetchLogs(result.roomId).catch((e) => this.fail(e));
    this.bb84.load(result.roomId).catch((e) => this.fail(e));
    return result;
  }

  /** Leaves a room (the server starts a new epoch for the others) and forgets it locally. */
  async leave(roomId: string): Promise<void> {
    this.leftRooms.add(roomId);
    try {
      await this.request("room:leave", { roomId });
    } catch (e) {
      if (!(e instanceof ClientError && (e.code === "NOT_A_MEMBER" || e.code === "OFFLINE"))) {
        this.leftRooms.delete(roomId);
        throw e;
      }
    }
    this.bb84.onLeave(roomId);
    await this.serial(async () => this.forgetRoom(roomId));
  }

  /**
   * Encrypts and sends a message. Without `to`: to the room under the current epoch's key (waits
   * up to keyWaitMs for it; retries once the new key is in if the epoch moved on meanwhile).
   * With `to` (a member's user id): a direct message under the pair's dmKey, epoch 0, delivered by
   * the server to that member only. Resolves with our own message as shown in the room.
   */
  async send(roomId: string, text: string, to?: string): Promise<ChatMessage> {
    const room = this.rooms.get(roomId);
    if (!room) throw new ClientError("NOT_JOINED", `not in room ${roomId}`);
    const payloadBytes = encodeChatPayload({ text, sentAt: Date.now() });
    let sent: { id: string; ts: string; epoch: number } | null = null;
    let sentHybrid = false;
    if (to !== undefined) {
      if (to === this.userId) throw new ClientError("UNKNOWN_PEER", "you cannot send a direct message to yourself");
      const peer = this.currentMember(roomId, to);
      if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in this room");
      if (!(await this.bindingOk(peer))) throw new ClientError("BINDING_FAILED", `${peer.displayName}'s agreement key is not signed by their identity key`);
      const pair = await this.pairKeys(peer);
      const counter = this.nextCounter();
      const env = await encryptMessage(this.identity, pair.dmKey, { roomId, epoch: 0, senderId: this.userId, counter, to }, payloadBytes);
      const res = await this.request("message:send", { roomId, epoch: 0, counter, iv: env.iv, ciphertext: env.ciphertext, signature: env.signature, to });
      sent = { ...res, epoch: 0 };
      sentHybrid = pair.hybrid;
    } else {
      for (let attempt = 0; ; attempt++) {
        const epoch = await this.waitForKey(roomId, this.keyWaitMs);
        const key = this.rooms.get(roomId)?.keys.get(epoch);
        if (!key) continue; // pruned between the wait and now: wait again
        const counter = this.nextCounter();
        const env = await encryptMessage(this.identity, key, { roomId, epoch, senderId: this.userId, counter }, payloadBytes);
        try {
          const res = await this.request("message:send", { roomId, epoch, counter, iv: env.iv, ciphertext: env.ciphertext, signature: env.signature });
          sent = { ...res, epoch };
          break;
        } catch (e) {
          // The room re-keyed between our encryption and the server's check: wait for the new key.
          if (e instanceof ClientError && e.code === "STALE_EPOCH" && attempt < 3) {
            await this.waitUntil(() => (this.view(roomId)?.epoch ?? epoch) !== epoch, this.keyWaitMs, () => new ClientError("NO_KEY", "the room moved to a new epoch but no update arrived"));
            continue;
          }
          throw e;
        }
      }
    }
    const msg: ChatMessage = {
      id: sent.id,
      from: this.userId,
      fromName: this.rooms.get(roomId)?.displayName ?? room.displayName,
      to: to ?? null,
      direct: to !== undefined,
      mine: true,
      epoch: sent.epoch,
      ts: sent.ts,
      status: "ok",
      text,
      ...(to !== undefined && { hybrid: sentHybrid }),
    };
    if (this.rooms.has(roomId)) {
      this.addMessage(roomId, msg);
      this.emit("message", msg);
    }
    return msg;
  }

  /** Loads log rows (the latest 200, or those after sinceId) and merges them into RoomView.logs. */
  async fetchLogs(roomId: string, sinceId?: number): Promise<LogEntry[]> {
    const payload: CommandPayload<"logs:fetch"> = { roomId, limit: LOG_FETCH_LIMIT };
    if (sinceId !== undefined) payload.sinceId = sinceId;
    const { logs } = await this.request("logs:fetch", payload);
    this.mergeLogs(roomId, logs);
    return logs;
  }

  /** Signal-style 60-digit safety number between us and a peer (any room we share). */
  async safetyNumberWith(peerId: string): Promise<string> {
    const peer = this.findPeer(peerId);
    if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in any room you are in");
    return safetyNumber(
      { userId: this.userId, signingKey: this.identity.signingKey },
      { userId: peer.userId, signingKey: peer.signingKey },
    );
  }

  /**
   * Marks a peer's current signing key verified (or not), persisted in storage keyed by that key.
   * Marking verified also accepts a changed key behind the peer's display name.
   */
  markVerified(peerId: string, verified: boolean): void {
    const peer = this.findPeer(peerId);
    if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in any room you are in");
    if (verified) {
      this.storage.set(verifiedKey(peer.signingKey), "1");
      this.rememberName(peer, true);
    } else {
      this.storage.remove(verifiedKey(peer.signingKey));
    }
    this.refreshMemberFlags();
  }

  /** Accepts a peer's new key behind a known display name (clears keyChanged without verifying). */
  acceptKeyChange(peerId: string): void {
    const peer = this.findPeer(peerId);
    if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in any room you are in");
    this.rememberName(peer, true);
    this.refreshMemberFlags();
  }

  /**
   * Hardens the pair keys with a peer by a QKD key (after a successful BB84 session): the pair's
   * wrapKey and dmKey are re-derived as HKDF(X25519 secret ‖ qkdKey). Security never drops below
   * X25519. Room keys shared afterwards by either of us are wrapped under the hybrid key.
   */
  async setPairQkdKey(peerId: string, qkdKey: Uint8Array): Promise<void> {
    const id = `manual-${Date.now()}`;
    await this.stageQkdKey(peerId, id, qkdKey, { qber: null, keyBits: qkdKey.length * 8 });
    await this.commitQkdKey(peerId, id, true);
  }

  /** Whether the pair keys with a peer are QKD-hardened; null when we share no room with them. */
  pairInfo(peerId: string): { hybrid: boolean } | null {
    const entry = this.pairs.get(peerId);
    if (entry) return { hybrid: entry.hybrid };
    return this.findPeer(peerId) ? { hybrid: false } : null;
  }

  // ---- BB84 over the relay (lib/client/bb84-session.ts does the work) ----------------------

  /**
   * Runs a BB84 session with one present member (we are Alice, they are Bob; their client accepts
   * automatically). Resolves when it ends, success or abort, with its final view; on success the
   * pair keys with that peer become hybrid. Throws ClientError when the server refuses to start it.
   */
  async startBb84(roomId: string, peerId: string, opts: StartBb84Options = {}): Promise<Bb84LiveView> {
    return this.bb84.start(roomId, peerId, opts);
  }

  /** Runs a session with every other present member in turn (the leader-with-each pattern). */
  async startBb84WithEach(roomId: string, opts: StartBb84Options = {}): Promise<Bb84LiveView[]> {
    return this.bb84.startWithEach(roomId, opts);
  }

  /** Cancels a running session of ours; the peer sees the abort with this reason. */
  async cancelBb84(sessionId: string, reason = "cancelled by the user"): Promise<void> {
    await this.bb84.cancel(sessionId, reason);
  }

  /** Stores the room's simulation channel settings on the server (pushed to every member). */
  async setChannel(roomId: string, channel: ChannelSettings): Promise<ChannelSettings> {
    const res = await this.request("channel:set", { roomId, channel });
    return res.channel;
  }

  /** Loads the room's recent BB84 session summaries into RoomView.bb84.sessions. */
  async loadBb84Sessions(roomId: string): Promise<void> {
    await this.bb84.load(roomId);
  }

  /** Disconnects for good: no reconnect, pending waits fail, listeners stay (call removeAllListeners). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this.waiters]) {
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.reject(new ClientError("OFFLINE", "client closed"));
    }
    this._socket?.disconnect();
    this.setConnection("offline");
  }

  // ---- connection and authentication --------------------------------------------------------

  private wire(socket: ClientSocket) {
    socket.on("connect", () => {
      void this.onConnect(socket);
    });
    socket.on("disconnect", (reason) => {
      this.generation++;
      this.setConnection("offline");
      this.markAllAbsent();
      this.bb84.onDisconnect();
      // The server closed us on purpose (restart, auth timeout): try again unless we were replaced.
      if (reason === "io server disconnect" && !this.closed && !this.replaced && this.everOnline) {
        this.later(() => {
          if (!this.closed && !this.replaced && !socket.connected) {
            this.setConnection("connecting");
            socket.connect();
          }
        }, 1000);
      }
    });
    socket.on("connect_error", (err) => {
      if (this.closed) return;
      this.setConnection(socket.active ? "connecting" : "offline");
      if (!socket.active) this.fail(new ClientError("OFFLINE", `connection failed: ${err.message}`));
    });
    socket.io.on("reconnect_attempt", () => {
      if (!this.closed) this.setConnection("connecting");
    });
    socket.on("session:replaced", () => {
      this.replaced = true;
      this.fail(new ClientError("SESSION_REPLACED", "this identity connected from another tab or device; this one stopped"));
    });
    socket.on("room:updated", (state) => {
      void this.serial(() => this.onRoomUpdated(state));
    });
    socket.on("roomkey:shared", (share) => {
      void this.serial(() => this.onShare(share));
    });
    socket.on("message:received", (msg) => {
      void this.serial(() => this.onMessage(msg));
    });
    socket.on("log:appended", (batch) => {
      if (this.rooms.has(batch.roomId)) this.mergeLogs(batch.roomId, batch.entries);
    });
    socket.on("channel:updated", (u) => {
      if (this.rooms.has(u.roomId)) this.patchRoom(u.roomId, (v) => ({ ...v, channel: { ...u.channel } }));
    });
    socket.on("bb84:updated", (summary) => this.bb84.onSummary(summary));
    socket.on("bb84:frame", (f) => this.bb84.onFrame(f));
  }

  private async onConnect(socket: ClientSocket) {
    const gen = ++this.generation;
    this.setConnection("authenticating");
    try {
      const { nonce } = await this.emitWithAck("auth:hello", {}, this.requestTimeoutMs);
      const signature = await signAuth(this.identity, nonce);
      const { userId } = await this.emitWithAck(
        "auth:prove",
        { signingKey: this.identity.signingKey, agreementKey: this.identity.agreementKey, agreementSig: this.identity.agreementSig, signature },
        this.requestTimeoutMs,
      );
      if (userId !== this.userId) throw new ClientError("AUTH_FAILED", "the server assigned an unexpected user id");
    } catch (e) {
      if (gen !== this.generation || this.closed) return;
      const err = toClientError(e);
      this.fail(err);
      if (err.code === "AUTH_FAILED") {
        socket.disconnect(); // fatal: retrying with the same keys cannot help
        this.setConnection("offline");
      } else {
        // Transient (timeout, rate limit): start over with a fresh nonce, after a pause.
        socket.disconnect();
        this.later(() => {
          if (!this.closed && !this.replaced && !socket.connected) {
            this.setConnection("connecting");
            socket.connect();
          }
        }, 1000);
      }
      return;
    }
    if (gen !== this.generation || this.closed) return;
    this.everOnline = true;
    this.setConnection("online");
    // Re-join every room we were in. The server starts a new epoch for each join, so this member
    // is re-keyed by the leader (or makes the key itself when it leads).
    for (const room of [...this.rooms.values()]) {
      if (this.leftRooms.has(room.roomId)) continue; // a leave is in progress
      const payload: CommandPayload<"room:join"> = { roomId: room.roomId, displayName: room.displayName };
      if (room.requestedCapacity !== undefined) payload.capacity = room.requestedCapacity;
      this.request("room:join", payload)
        .then((state) =>
          this.serial(async () => {
            if (this.rooms.has(state.roomId)) await this.applyRoomState(state);
          }),
        )
        .then(() => this.fetchLatestLogs(room.roomId))
        .catch((e) => {
          const err = toClientError(e);
          this.warn(room.roomId, "OFFLINE", `could not re-join ${room.roomId}: ${err.message}`);
          this.fail(new ClientError(err.code, `could not re-join ${room.roomId}: ${err.message}`));
        });
    }
  }

  /** After a re-join: the log rows we missed while away. */
  private async fetchLatestLogs(roomId: string) {
    const logs = this.view(roomId)?.logs;
    const last = logs && logs.length ? logs[logs.length - 1].id : undefined;
    await this.fetchLogs(roomId, last);
  }

  private emitWithAck<K extends CommandName>(event: K, payload: CommandPayload<K>, timeoutMs: number): Promise<CommandData<K>> {
    const socket = this._socket;
    if (!socket || this.closed) return Promise.reject(new ClientError("OFFLINE", "not connected"));
    return new Promise((resolve, reject) => {
      const emitter = socket.timeout(timeoutMs) as unknown as { emit(ev: string, p: unknown, cb: (err: Error | null, res: Ack<unknown>) => void): void };
      emitter.emit(event, payload, (err, res) => {
        if (err) return reject(new ClientError("TIMEOUT", `no answer to ${event} within ${timeoutMs} ms`));
        if (!res || typeof res !== "object") return reject(new ClientError("INTERNAL", `malformed answer to ${event}`));
        if (res.ok) resolve(res.data as CommandData<K>);
        else reject(new ClientError(res.error.code, res.error.message));
      });
    });
  }

  // ---- rooms and room keys ------------------------------------------------------------------

  private async onRoomUpdated(state: RoomState) {
    if (this.leftRooms.has(state.roomId)) return;
    const name = this.memberName(state.members, this.userId);
    if (!this.rooms.has(state.roomId)) {
      if (name === undefined) return; // not about us
      this.ensureRoom(state.roomId, name);
    }
    await this.applyRoomState(state);
  }

  private ensureRoom(roomId: string, displayName: string): RoomInternal {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { roomId, displayName, appliedEpoch: -1, epochs: new Map(), keys: new Map(), pendingShares: [], waiting: new Map() };
      this.rooms.set(roomId, room);
      const view: RoomView = {
        roomId,
        epoch: 0,
        leaderId: null,
        capacity: null,
        displayName,
        present: true,
        members: [],
        messages: [],
        logs: [],
        keyEpoch: null,
        waitingForKey: true,
        channel: { noise: 0, loss: 0, eve: 0 },
        bb84: { sessions: [], live: [], alarms: [] },
        warnings: [],
      };
      this.setRooms({ ...this._state.rooms, [roomId]: view });
    }
    return room;
  }

  /** Applies a RoomState for a new epoch (idempotent for one already applied). Runs on the queue. */
  private async applyRoomState(state: RoomState) {
    const room = this.rooms.get(state.roomId);
    if (!room || state.epoch <= room.appliedEpoch) return;
    const capped = capRoomMembers(state, this.userId);
    if (capped.dropped > 0) this.warn(state.roomId, "TOO_MANY_MEMBERS", capped.warning);
    state = capped.state;
    for (const w of this.nameWarnings.check(state.roomId, state.members)) this.warn(state.roomId, "CONFUSABLE_NAMES", w);
    room.appliedEpoch = state.epoch;
    const ids = state.members.map((m) => m.userId);
    const leaderId = leaderOf(ids);
    if (leaderId !== state.leaderId) {
      this.warn(state.roomId, "LEADER_MISMATCH", `the server named ${short(state.leaderId)} leader of epoch ${state.epoch}, but the rule gives ${short(leaderId)}; trusting our own computation`);
    }
    room.epochs.set(state.epoch, { leaderId, members: new Map(state.members.map((m) => [m.userId, m])) });
    for (const e of [...room.epochs.keys()]) if (e <= state.epoch - KEEP_EPOCHS * 2) room.epochs.delete(e);
    const me = state.members.find((m) => m.userId === this.userId);
    if (me) room.displayName = me.displayName;

    const members = await this.memberViews(state.roomId, state.members, leaderId);
    for (const m of members) {
      if (m.bindingValid || m.isMe || this.bindingWarned.has(`${state.roomId}|${m.signingKey}`)) continue;
      this.bindingWarned.add(`${state.roomId}|${m.signingKey}`);
      this.warn(state.roomId, "BINDING_FAILED", `${m.displayName}'s agreement key is not signed by their identity key; they get no room key from us`);
    }
    this.patchRoom(state.roomId, (v) => ({
      ...v,
      epoch: state.epoch,
      leaderId,
      capacity: state.capacity,
      displayName: room.displayName,
      present: true,
      members,
      waitingForKey: !room.keys.has(state.epoch),
      channel: { ...state.channel },
    }));

    if (leaderId === this.userId) await this.distributeKey(room, state.epoch, members);

    // Shares that raced ahead of this update.
    const pending = room.pendingShares.filter((s) => s.epoch <= state.epoch);
    room.pendingShares = room.pendingShares.filter((s) => s.epoch > state.epoch);
    for (const s of pending) await this.onShare(s);
    this.checkWaiters();
  }

  /** As the epoch's leader: a fresh room key, one signed wrapped share per verified member. */
  private async distributeKey(room: RoomInternal, epoch: number, members: MemberView[]) {
    const { raw, key } = await generateRoomKey();
    const shares: CommandPayload<"roomkey:share">["shares"] = [];
    try {
      for (const m of members) {
        if (m.isMe || !m.bindingValid) continue;
        try {
          const pair = await this.pairKeys(m);
          const share = await wrapRoomKeyShare(this.identity, pair.wrapKey, raw, { roomId: room.roomId, epoch, senderId: this.userId, recipientId: m.userId });
          shares.push({ to: share.to, iv: share.iv, wrapped: share.wrapped, signature: share.signature });
        } catch (e) {
          this.warn(room.roomId, "BAD_SHARE", `could not wrap the room key for ${m.displayName}: ${errorText(e)}`);
        }
      }
    } finally {
      if (raw instanceof Uint8Array) raw.fill(0);
    }
    await this.adoptKey(room, epoch, key);
    if (shares.length === 0) return;
    // Not awaited on the queue: the ack is a round trip and later events must not wait for it.
    void this.sendShares(room, epoch, shares);
  }

  /** Sends the epoch's shares; retries a few times on transient refusals while the epoch is current. */
  private async sendShares(room: RoomInternal, epoch: number, shares: CommandPayload<"roomkey:share">["shares"]) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.request("roomkey:share", { roomId: room.roomId, epoch, shares });
        return;
      } catch (e) {
        const err = toClientError(e);
        // A newer epoch started meanwhile (its own update re-keys) or we left: nothing to do.
        if (err.code === "STALE_EPOCH" || err.code === "NOT_A_MEMBER" || this.closed) return;
        const current = this.rooms.get(room.roomId) === room && room.appliedEpoch === epoch;
        if (current && attempt < 3 && (err.code === "RATE_LIMITED" || err.code === "TIMEOUT" || err.code === "OFFLINE")) {
          await new Promise((r) => this.later(() => r(undefined), 250 * 2 ** attempt));
          if (room.appliedEpoch !== epoch) return;
          continue;
        }
        this.fail(new ClientError(err.code, `room key distribution for epoch ${epoch} failed: ${err.message}`));
        return;
      }
    }
  }

  private async onShare(share: RoomkeyShared) {
    const room = this.rooms.get(share.roomId);
    if (!room) return;
    const info = room.epochs.get(share.epoch);
    if (!info) {
      if (share.epoch > room.appliedEpoch) {
        room.pendingShares.push(share);
        if (room.pendingShares.length > 8) room.pendingShares.shift();
      } else {
        this.warn(share.roomId, "BAD_SHARE", `ignored a room key share for old epoch ${share.epoch}`);
      }
      return;
    }
    if (share.from !== info.leaderId) {
      this.warn(share.roomId, "BAD_SHARE", `refused a room key share from ${this.nameOf(room, share.from)}, who is not the leader of epoch ${share.epoch}`);
      return;
    }
    const leader = info.members.get(share.from);
    if (!leader || !(await this.bindingOk(leader))) {
      this.warn(share.roomId, "BAD_SHARE", `refused the room key share for epoch ${share.epoch}: the leader's agreement key is not bound to their identity`);
      return;
    }
    let key: CryptoKey;
    const held = room.keys.get(share.epoch);
    try {
      // The leader may have wrapped under our hybrid key a moment before or after we switched.
      const candidates = await this.pairCandidates(leader);
      let unwrapped: CryptoKey | null = null;
      let firstError: unknown = null;
      for (const c of candidates) {
        try {
          unwrapped = await unwrapRoomKeyShare(
            c.keys.wrapKey,
            leader.signingKey,
            share, // the recipient (us) is implicit on the wire and bound by the signature
            { roomId: share.roomId, epoch: share.epoch, recipientId: this.userId },
          );
          break;
        } catch (e) {
          firstError ??= e;
          if (!(e instanceof CryptoError && e.reason === "decrypt-failed")) throw e;
        }
      }
      if (!unwrapped) throw firstError;
      key = unwrapped;
    } catch (e) {
      this.warn(share.roomId, "BAD_SHARE", `the room key share for epoch ${share.epoch} failed its check (${errorText(e)}) and was discarded`);
      return;
    }
    if (held) {
      // One key per epoch: a leader handing out a second, different key would split the room.
      if ((await keyCheckValue(held)) !== (await keyCheckValue(key))) {
        this.warn(share.roomId, "BAD_SHARE", `the leader sent a different key for epoch ${share.epoch}; kept the first one`);
      }
      return;
    }
    await this.adoptKey(room, share.epoch, key);
  }

  /** Stores an epoch key, prunes old ones and decrypts messages that were waiting for it. */
  private async adoptKey(room: RoomInternal, epoch: number, key: CryptoKey) {
    if (this.rooms.get(room.roomId) !== room) return;
    room.keys.set(epoch, key);
    const newest = Math.max(...room.keys.keys());
    for (const e of [...room.keys.keys()]) {
      if (e > newest - KEEP_EPOCHS) continue;
      room.keys.delete(e);
      this.replay.forgetScope(replayScope({ roomId: room.roomId, epoch: e, to: null })); // its messages can't decrypt any more
    }
    this.patchRoom(room.roomId, (v) => ({ ...v, keyEpoch: newest, waitingForKey: !room.keys.has(v.epoch) }));
    this.checkWaiters();
    for (const [id, env] of [...room.waiting]) {
      if (env.epoch !== epoch) continue;
      room.waiting.delete(id);
      await this.decryptInto(room, env, key);
    }
  }

  private forgetRoom(roomId: string) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    const rooms = { ...this._state.rooms };
    delete rooms[roomId];
    this.setRooms(rooms);
    this.checkWaiters();
  }

  private markAllAbsent() {
    if (this.rooms.size === 0) return;
    const rooms: Record<string, RoomView> = {};
    for (const [id, v] of Object.entries(this._state.rooms)) rooms[id] = { ...v, present: false, waitingForKey: true };
    this.setRooms(rooms);
  }

  // ---- messages -----------------------------------------------------------------------------

  private async onMessage(env: MessageReceived) {
    const room = this.rooms.get(env.roomId);
    if (!room) {
      this.warn(undefined, "NOT_JOINED", `a message for room ${env.roomId}, which you are not in, was discarded`);
      return;
    }
    if (this.view(env.roomId)?.messages.some((m) => m.id === env.id)) return; // the server's id is unique
    const sender = this.memberAt(room, env.from, env.to === null ? env.epoch : undefined);
    if (!sender) return this.reject(room, env, "Sender is not a member of this room — message discarded");
    if (env.to !== null) {
      if (env.to !== this.userId) return this.reject(room, env, "Direct message addressed to someone else — message discarded");
      if (!(await this.bindingOk(sender))) return this.reject(room, env, "Sender's agreement key is not bound to their identity — message discarded");
      let candidates: { keys: PairKeys; hybrid: boolean }[];
      try {
        candidates = await this.pairCandidates(sender);
      } catch (e) {
        return this.reject(room, env, rejectionReason(e));
      }
      return this.decryptInto(room, env, candidates.map((c) => ({ key: c.keys.dmKey, hybrid: c.hybrid })));
    }
    const key = room.keys.get(env.epoch);
    if (key) return this.decryptInto(room, env, key);
    const newest = room.keys.size ? Math.max(...room.keys.keys()) : null;
    if (newest !== null && env.epoch <= newest - KEEP_EPOCHS) {
      return this.reject(room, env, `Sent under epoch ${env.epoch}, whose key is no longer kept — message cannot be read`);
    }
    if (env.epoch > room.appliedEpoch + 64) {
      return this.reject(room, env, `Claims epoch ${env.epoch}, far ahead of the room (${room.appliedEpoch}) — message discarded`);
    }
    // Wait for the key of its epoch (bounded in time and count), visibly.
    if (room.waiting.size >= MAX_WAITING_PER_ROOM) {
      return this.reject(room, env, `Too many messages are waiting for a room key — message discarded`);
    }
    room.waiting.set(env.id, env);
    this.addMessage(room.roomId, this.baseMessage(room, env, "waiting-key"));
    this.later(() => {
      void this.serial(async () => {
        if (this.rooms.get(room.roomId) !== room || !room.waiting.has(env.id)) return;
        room.waiting.delete(env.id);
        this.reject(room, env, `The room key for epoch ${env.epoch} never arrived — message cannot be read`);
      });
    }, this.waitingTtlMs);
  }

  /**
   * Verifies and decrypts into the room's messages. A room message has one key (its epoch's); a
   * direct message may be tried under several pair keys (current, pending hybrid, previous).
   */
  private async decryptInto(room: RoomInternal, env: MessageReceived, keyOrCandidates: CryptoKey | { key: CryptoKey; hybrid: boolean }[]) {
    const direct = env.to !== null;
    const sender = this.memberAt(room, env.from, direct ? undefined : env.epoch);
    if (!sender) return this.reject(room, env, "Sender is not a member of this room — message discarded");
    const candidates = Array.isArray(keyOrCandidates) ? keyOrCandidates : [{ key: keyOrCandidates, hybrid: false }];
    let text: string;
    let hybrid = false;
    try {
      // decryptMessage verifies the signature first, then room, recipient and epoch, decrypts, and
      // only then records the counter in the replay guard (forgeries can't poison it).
      let bytes: Uint8Array | null = null;
      let firstError: unknown = null;
      for (const c of candidates) {
        try {
          bytes = await decryptMessage(
            c.key,
            sender.signingKey,
            env,
            direct
              ? { roomId: room.roomId, recipientId: this.userId, replayGuard: this.replay }
              : { roomId: room.roomId, epoch: env.epoch, replayGuard: this.replay },
          );
          hybrid = c.hybrid;
          break;
        } catch (e) {
          firstError ??= e;
          // Only a failed decryption is worth another key; a bad signature or a replay is final.
          if (!(e instanceof CryptoError && e.reason === "decrypt-failed")) throw e;
        }
      }
      if (!bytes) throw firstError;
      const payload = decodeChatPayload(bytes);
      if (direct && payload.sentAt < this.startedAt - DM_CLOCK_SKEW_MS) {
        return this.reject(room, env, "Replayed direct message (sent before this session started) — discarded");
      }
      text = payload.text;
    } catch (e) {
      return this.reject(room, env, rejectionReason(e));
    }
    const msg: ChatMessage = { ...this.baseMessage(room, env, "ok"), text, ...(direct && { hybrid }) };
    this.addMessage(room.roomId, msg);
    this.emit("message", msg);
  }

  private reject(room: RoomInternal, env: MessageReceived, reason: string) {
    const msg: ChatMessage = { ...this.baseMessage(room, env, "rejected"), reason };
    this.addMessage(room.roomId, msg);
    this.emit("rejected", msg);
  }

  private baseMessage(room: RoomInternal, env: MessageReceived, status: ChatMessage["status"]): ChatMessage {
    return {
      id: env.id,
      from: env.from,
      fromName: this.nameOf(room, env.from),
      to: env.to,
      direct: env.to !== null,
      mine: env.from === this.userId,
      epoch: env.epoch,
      ts: env.ts,
      status,
    };
  }

  /** Adds a message, or replaces the one with the same id (a waiting message that resolved). */
  private addMessage(roomId: string, msg: ChatMessage) {
    this.patchRoom(roomId, (v) => {
      const i = v.messages.findIndex((m) => m.id === msg.id);
      let messages: ChatMessage[];
      if (i >= 0) {
        messages = v.messages.slice();
        messages[i] = msg;
      } else {
        messages = [...v.messages, msg];
        if (messages.length > MAX_MESSAGES) messages = messages.slice(messages.length - MAX_MESSAGES);
      }
      return { ...v, messages };
    });
  }

  private nextCounter(): number {
    this.counter += 1;
    return this.counter;
  }

  /** Resolves with the current epoch once its key is held (and we are present), within ms. */
  private async waitForKey(roomId: string, ms: number): Promise<number> {
    const ready = () => {
      const v = this.view(roomId);
      const room = this.rooms.get(roomId);
      return !!v && !!room && v.present && room.keys.has(v.epoch) && this._state.connection === "online";
    };
    await this.waitUntil(ready, ms, () => {
      if (!this.rooms.has(roomId)) return new ClientError("NOT_JOINED", `not in room ${roomId}`);
      if (this._state.connection !== "online") return new ClientError("OFFLINE", "not connected to the server");
      return new ClientError("NO_KEY", `the room key for epoch ${this.view(roomId)?.epoch} did not arrive within ${ms} ms`);
    });
    return this.view(roomId)!.epoch;
  }

  // ---- members, pair keys, safety numbers ---------------------------------------------------

  private async memberViews(roomId: string, members: MemberInfo[], leaderId: string | null): Promise<MemberView[]> {
    return Promise.all(
      members.map(async (m) => {
        const isMe = m.userId === this.userId;
        const [bindingValid, fingerprint] = await Promise.all([this.bindingOk(m), this.fingerprint(m.signingKey)]);
        return {
          ...m,
          bindingValid,
          fingerprint,
          verified: !isMe && this.storage.get(verifiedKey(m.signingKey)) === "1",
          keyChanged: !isMe && this.checkName(roomId, m),
          qkd: isMe ? null : this.qkdView(m),
          isLeader: m.userId === leaderId,
          isMe,
        };
      }),
    );
  }

  /** True when a different signing key was seen before behind this display name in this room. */
  private checkName(roomId: string, m: MemberInfo): boolean {
    const k = knownKey(roomId, m.displayName);
    const prev = this.storage.get(k);
    if (prev === null) {
      this.storage.set(k, m.signingKey);
      return false;
    }
    return prev !== m.signingKey;
  }

  private rememberName(peer: MemberInfo, overwrite: boolean) {
    for (const [roomId, v] of Object.entries(this._state.rooms)) {
      const m = v.members.find((x) => x.userId === peer.userId);
      if (!m) continue;
      const k = knownKey(roomId, m.displayName);
      if (overwrite || this.storage.get(k) === null) this.storage.set(k, m.signingKey);
    }
  }

  private refreshMemberFlags() {
    const rooms: Record<string, RoomView> = {};
    for (const [roomId, v] of Object.entries(this._state.rooms)) {
      rooms[roomId] = {
        ...v,
        members: v.members.map((m) =>
          m.isMe
            ? m
            : { ...m, verified: this.storage.get(verifiedKey(m.signingKey)) === "1", keyChanged: this.storage.get(knownKey(roomId, m.displayName)) !== m.signingKey },
        ),
      };
    }
    this.setRooms(rooms);
  }

  /**
   * A member's published keys are usable only if its user id derives from its signing key and its
   * agreement key is signed by it; otherwise a server could list a victim's id and name with keys
   * of its own, and the room key or a DM would be wrapped for the server.
   */
  private bindingOk(m: Pick<MemberInfo, "userId" | "signingKey" | "agreementKey" | "agreementSig">): Promise<boolean> {
    const k = `${m.userId}|${m.signingKey}|${m.agreementKey}|${m.agreementSig}`;
    let p = this.bindingCache.get(k);
    if (!p) {
      p = Promise.resolve()
        .then(() => verifyMember({ userId: m.userId, signingKey: m.signingKey, agreementKey: m.agreementKey, agreementSig: m.agreementSig }))
        .catch(() => false);
      this.bindingCache.set(k, p);
    }
    return p;
  }

  private fingerprint(signingKey: string): Promise<string> {
    let p = this.fingerprintCache.get(signingKey);
    if (!p) {
      p = Promise.resolve()
        .then(() => shortFingerprint(signingKey))
        .catch(() => "invalid key");
      this.fingerprintCache.set(signingKey, p);
    }
    return p;
  }

  /** The pair's keys (cached per peer; re-derived when the peer's keys differ). */
  private pairKeys(peer: MemberInfo): Promise<PairKeys> {
    let entry = this.pairs.get(peer.userId);
    if (!entry || entry.signingKey !== peer.signingKey || entry.agreementKey !== peer.agreementKey) {
      entry = this.newPairEntry(peer, undefined);
      this.pairs.set(peer.userId, entry);
    }
    return entry.keys;
  }

  private newPairEntry(peer: MemberInfo, qkdKey: Uint8Array | undefined): PairEntry {
    const entry: PairEntry = {
      peerId: peer.userId,
      signingKey: peer.signingKey,
      agreementKey: peer.agreementKey,
      hybrid: false,
      keys: undefined as unknown as Promise<PairKeys>,
      pending: null,
      previous: null,
      qkd: null,
    };
    entry.keys = Promise.resolve()
      .then(() => derivePairKeys(this.identity, peerKeys(peer), qkdKey))
      .then((k) => {
        entry.hybrid = !!k.hybrid;
        return k;
      });
    entry.keys.catch(() => {
      if (this.pairs.get(peer.userId) === entry) this.pairs.delete(peer.userId); // retry next time
    });
    return entry;
  }

  /**
   * Keys to try when opening something from a peer: the pair's current keys, then the candidate
   * hybrid keys of a session awaiting its verdict, then the keys before the last switch. The peer
   * may switch a moment before or after us; nothing in flight across the switch is lost.
   */
  private async pairCandidates(peer: MemberInfo): Promise<{ keys: PairKeys; hybrid: boolean }[]> {
    const current = await this.pairKeys(peer);
    const entry = this.pairs.get(peer.userId);
    const out = [{ keys: current, hybrid: current.hybrid }];
    for (const p of [entry?.pending?.keys, entry?.previous ?? undefined]) {
      if (!p) continue;
      try {
        const k = await p;
        out.push({ keys: k, hybrid: k.hybrid });
      } catch {
        /* a failed derivation is simply not a candidate */
      }
    }
    return out;
  }

  /** Local success of a BB84 session: derive the candidate hybrid keys now (used for decryption only). */
  private async stageQkdKey(peerId: string, sessionId: string, qkdKey: Uint8Array, info: { qber: number | null; keyBits: number }): Promise<void> {
    const peer = this.findPeer(peerId);
    if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in any room you are in");
    await this.pairKeys(peer); // the entry for the peer's current keys
    const entry = this.pairs.get(peerId)!;
    const copy = qkdKey.slice();
    const keys = Promise.resolve().then(() => derivePairKeys(this.identity, peerKeys(peer), copy));
    entry.pending = { sessionId, keys, info: { hardened: true, sessionId, qber: info.qber, keyBits: info.keyBits, at: new Date().toISOString() } };
    try {
      await keys;
    } finally {
      copy.fill(0); // the derived AES keys live inside WebCrypto; the raw bytes need not
    }
  }

  /** The server's verdict: the candidate keys become the pair's keys (success) or are dropped. */
  private async commitQkdKey(peerId: string, sessionId: string, success: boolean): Promise<void> {
    const entry = this.pairs.get(peerId);
    if (!entry || entry.pending?.sessionId !== sessionId) return;
    const pending = entry.pending;
    entry.pending = null;
    if (!success) return;
    let keys: PairKeys;
    try {
      keys = await pending.keys;
    } catch {
      return;
    }
    entry.previous = entry.keys;
    entry.keys = Promise.resolve(keys);
    entry.hybrid = true;
    entry.qkd = { ...pending.info, at: new Date().toISOString() };
    this.refreshQkdViews(peerId);
  }

  private qkdView(m: MemberInfo): QkdPairView | null {
    const entry = this.pairs.get(m.userId);
    if (!entry || entry.signingKey !== m.signingKey || entry.agreementKey !== m.agreementKey) return null;
    return entry.qkd;
  }

  private refreshQkdViews(peerId: string) {
    const rooms: Record<string, RoomView> = {};
    for (const [roomId, v] of Object.entries(this._state.rooms)) {
      rooms[roomId] = v.members.some((m) => m.userId === peerId)
        ? { ...v, members: v.members.map((m) => (m.userId === peerId ? { ...m, qkd: this.qkdView(m) } : m)) }
        : v;
    }
    this.setRooms(rooms);
  }

  /** What the BB84 session manager may do with this client (lib/client/bb84-session.ts). */
  private bb84Host() {
    return {
      userId: this.userId,
      relay: async (p: { roomId: string; to: string; sessionId: string; frame: Uint8Array }) => {
        await this.request("bb84:relay", p);
      },
      start: (p: CommandPayload<"bb84:start">) => this.request("bb84:start", p),
      report: (p: Record<string, unknown> & { roomId: string; sessionId: string }) => this.request("bb84:report", p as CommandPayload<"bb84:report">),
      list: async (roomId: string) => (await this.request("bb84:list", { roomId })).sessions,
      frameKey: async (roomId: string, peerId: string, sessionId: string) => {
        const peer = this.currentMember(roomId, peerId);
        if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in this room");
        if (!(await this.bindingOk(peer))) throw new ClientError("BINDING_FAILED", `${peer.displayName}'s agreement key is not signed by their identity key`);
        return deriveBb84FrameKey(this.identity, peerKeys(peer), roomId, sessionId);
      },
      hasRoom: (roomId: string) => this.rooms.has(roomId),
      otherMembers: (roomId: string) => (this.view(roomId)?.members ?? []).filter((m) => !m.isMe).map((m) => m.userId),
      patchBb84: (roomId: string, fn: (v: RoomBb84View) => RoomBb84View) => {
        if (this.rooms.has(roomId)) this.patchRoom(roomId, (v) => ({ ...v, bb84: fn(v.bb84) }));
      },
      stageQkdKey: (peerId: string, sessionId: string, key: Uint8Array, info: { qber: number | null; keyBits: number }) => this.stageQkdKey(peerId, sessionId, key, info),
      commitQkdKey: (peerId: string, sessionId: string, success: boolean) => this.commitQkdKey(peerId, sessionId, success),
      warn: (roomId: string, message: string) => this.warn(roomId, "BB84_FAILED", message),
    };
  }

  /** A member as of an epoch (falls back to the current list, then any recent epoch). */
  private memberAt(room: RoomInternal, userId: string, epoch: number | undefined): MemberInfo | undefined {
    if (epoch !== undefined) {
      const m = room.epochs.get(epoch)?.members.get(userId);
      if (m) return m;
    }
    const current = room.epochs.get(room.appliedEpoch)?.members.get(userId);
    if (current) return current;
    if (epoch !== undefined) return undefined; // a room message must come from a member of its epoch
    const epochs = [...room.epochs.keys()].sort((a, b) => b - a);
    for (const e of epochs) {
      const m = room.epochs.get(e)!.members.get(userId);
      if (m) return m;
    }
    return undefined;
  }

  private currentMember(roomId: string, userId: string): MemberInfo | undefined {
    const room = this.rooms.get(roomId);
    return room?.epochs.get(room.appliedEpoch)?.members.get(userId);
  }

  private findPeer(peerId: string): MemberInfo | undefined {
    for (const room of this.rooms.values()) {
      const m = this.memberAt(room, peerId, undefined);
      if (m) return m;
    }
    return undefined;
  }

  private nameOf(room: RoomInternal, userId: string): string {
    if (userId === this.userId) return room.displayName;
    for (const e of [...room.epochs.keys()].sort((a, b) => b - a)) {
      const m = room.epochs.get(e)!.members.get(userId);
      if (m) return m.displayName;
    }
    return `unknown (${short(userId)})`;
  }

  private memberName(members: MemberInfo[], userId: string): string | undefined {
    return members.find((m) => m.userId === userId)?.displayName;
  }

  // ---- state plumbing -----------------------------------------------------------------------

  private view(roomId: string): RoomView | undefined {
    return this._state.rooms[roomId];
  }

  private setConnection(connection: ConnectionState) {
    if (this._state.connection === connection) return;
    this._state = { ...this._state, connection };
    this.emit("change", this._state);
    this.checkWaiters();
  }

  private setRooms(rooms: Record<string, RoomView>) {
    this._state = { ...this._state, rooms };
    this.emit("change", this._state);
  }

  private patchRoom(roomId: string, fn: (v: RoomView) => RoomView) {
    const v = this._state.rooms[roomId];
    if (!v) return;
    this.setRooms({ ...this._state.rooms, [roomId]: fn(v) });
  }

  private mergeLogs(roomId: string, entries: LogEntry[]) {
    if (!entries.length) return;
    this.patchRoom(roomId, (v) => {
      const byId = new Map(v.logs.map((l) => [l.id, l]));
      for (const e of entries) if (e.roomId === roomId) byId.set(e.id, e);
      let logs = [...byId.values()].sort((a, b) => a.id - b.id);
      if (logs.length > MAX_LOGS) logs = logs.slice(logs.length - MAX_LOGS);
      return { ...v, logs };
    });
  }

  private warn(roomId: string | undefined, code: ClientErrorCode, message: string) {
    if (roomId) {
      this.patchRoom(roomId, (v) => ({ ...v, warnings: [...v.warnings, message].slice(-MAX_WARNINGS) }));
    }
    this.emit("warning", { code, message, roomId });
  }

  private fail(e: unknown) {
    this.emit("error", toClientError(e));
  }

  /** Runs fn after everything queued before it (inbound events are processed in order). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch((e) => {
      if (!this.closed) this.fail(e);
    });
    return run;
  }

  private waitUntil(check: () => boolean, ms: number, onTimeout: () => ClientError): Promise<void> {
    if (check()) return Promise.resolve();
    if (this.closed) return Promise.reject(new ClientError("OFFLINE", "client closed"));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        check,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(onTimeout());
        }, ms),
      };
      this.waiters.add(w);
    });
  }

  private checkWaiters() {
    for (const w of [...this.waiters]) {
      if (!w.check()) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve();
    }
  }

  private later(fn: () => void, ms: number) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    (t as { unref?: () => void }).unref?.();
    this.timers.add(t);
  }
}

// ---- helpers ------------------------------------------------------------------------------

function peerKeys(m: MemberInfo) {
  return { userId: m.userId, signingKey: m.signingKey, agreementKey: m.agreementKey, agreementSig: m.agreementSig };
}

const verifiedKey = (signingKey: string) => `verified:${signingKey}`;
const knownKey = (roomId: string, displayName: string) => `known:${roomId}:${displayName.toLocaleLowerCase()}`;

function short(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : "nobody";
}

function errorText(e: unknown): string {
  if (e instanceof CryptoError) return e.reason;
  return e instanceof Error ? e.message : String(e);
}

function toClientError(e: unknown): ClientError {
  if (e instanceof ClientError) return e;
  return new ClientError("INTERNAL", e instanceof Error ? e.message : String(e));
}
