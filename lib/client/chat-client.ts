/**
 * ChatClient: the headless, framework-free QSEC client core. It runs in browsers (the React pages
 * wrap it in a zustand store) and in Node (integration tests, benchmarks, BB84 sessions), speaks
 * the typed wire protocol of lib/protocol over socket.io-client, and does every piece of
 * cryptography itself through lib/crypto: the server only ever sees public keys, wrapped shares
 * and ciphertext.
 *
 * This class is a facade: it builds the modules under lib/client/chat/ and routes the socket's
 * notifications to them. What happens, in protocol order, and where:
 *   connect   → auth:hello / auth:prove (signed nonce); after any reconnect it authenticates again
 *               and re-joins its rooms; the server starts a new epoch on that join, so the member
 *               is re-keyed by the epoch's leader without anyone's help.      chat/connection.ts
 *   room:updated (new epoch) → our own leader computation and member list.     chat/roster.ts
 *               (member flags: key bindings, verified marks, changed keys)     chat/member-trust.ts
 *               If we lead: a fresh room key, one signed wrapped share for every other present
 *               member whose agreement key binding verifies.                   chat/room-keys.ts
 *   roomkey:shared → accepted only from our own view of the epoch's leader, unwrapped, the last
 *               few epochs' keys kept, waiting messages released.              chat/room-keys.ts
 *   message:received → verify (signature) then decrypt, reject replays, record every failure
 *               visibly as status "rejected" with a reason; never drop.        chat/message-inbox.ts
 *               (counters, replay window, the DM replay rule)                  chat/replay-policy.ts
 *   send      → room or direct message.                                        chat/message-sender.ts
 *   pair keys → X25519, or hybrid with a BB84 key (staged, then committed).    chat/pair-keys.ts
 *   BB84      → lib/client/bb84-session.ts, through the host adapter.          chat/bb84-host-adapter.ts
 *
 * State is an immutable snapshot (`client.state`, chat/client-state.ts) replaced on every change,
 * announced by "change". All inbound events are processed one at a time, in arrival order, on a
 * single async queue (chat/scheduler.ts), so a share can never be handled before the room:updated
 * that announced its epoch.
 */
import type { AttachmentRef, Identity } from "@/lib/crypto";
import type {
  ChannelSettings,
  CommandData,
  CommandName,
  CommandPayload,
  HistoryMode,
  JoinResult,
  LogEntry,
  RoomkeyShared,
  RoomLeft,
  RoomState,
} from "@/lib/protocol";
import type { Bb84LiveView, StartBb84Options } from "./bb84-types";
import { Bb84Manager } from "./bb84-session";
import { createBb84Host } from "./chat/bb84-host-adapter";
import { ClientStateStore, type WarnFn } from "./chat/client-state";
import { Connection, type ClientSocket } from "./chat/connection";
import { History } from "./chat/history";
import type { EpochKeyStore } from "./persist";
import { MemberTrust } from "./chat/member-trust";
import { MessageInbox } from "./chat/message-inbox";
import { MessageSender } from "./chat/message-sender";
import { resolveOptions, type ChatClientOptions } from "./chat/options";
import { PairKeyring } from "./chat/pair-keys";
import { ReplayPolicy } from "./chat/replay-policy";
import { RoomKeys } from "./chat/room-keys";
import { memberName, Roster } from "./chat/roster";
import { Scheduler } from "./chat/scheduler";
import { TypedEmitter } from "./emitter";
import { ClientError, toClientError, type ClientErrorCode } from "./errors";
import type { ChatClientEvents, ChatMessage, ClientState } from "./types";

export type { ChatMessage, ChatClientEvents, ClientState, ClientWarning, ConnectionState, MemberView, MessageStatus, RoomView } from "./types";
/** Alias of ClientState (the name the UI store uses). */
export type ChatState = ClientState;
export { ClientError, type ClientErrorCode } from "./errors";
export type { KeyValueStorage } from "./storage";
export type { ClientSocket } from "./chat/connection";
export type { ChatClientOptions } from "./chat/options";
/** The payload a command takes and the data its successful ack carries (lib/protocol/commands.ts). */
export type { CommandPayload, CommandData } from "@/lib/protocol";

const LOG_FETCH_LIMIT = 200;
/** Room events asked per page when paging back beside stored history (logs:fetch events: true). */
const EVENTS_BACK_PAGE = 100;

export class ChatClient extends TypedEmitter<ChatClientEvents> {
  readonly identity: Identity;
  readonly userId: string;
  private readonly scheduler: Scheduler;
  private readonly store: ClientStateStore;
  private readonly connection: Connection;
  private readonly roster: Roster;
  private readonly trust: MemberTrust;
  private readonly pairs: PairKeyring;
  private readonly replay: ReplayPolicy;
  private readonly roomKeys: RoomKeys;
  private readonly inbox: MessageInbox;
  private readonly sender: MessageSender;
  private readonly bb84: Bb84Manager;
  private readonly history: History;
  /** Rooms whose log we hold back to its first row (a fetch returned fewer rows than asked). */
  private readonly logsComplete = new Set<string>();
  private readonly epochKeys: EpochKeyStore;
  /** Room updates that arrived while our join of that room was in flight, applied after its answer. */
  private readonly joinsInFlight = new Map<string, RoomState[]>();

  constructor(options: ChatClientOptions) {
    super();
    const opts = resolveOptions(options);
    const identity = (this.identity = opts.identity);
    const userId = (this.userId = identity.userId);
    this.replay = new ReplayPolicy(userId, opts.counters);
    const warn: WarnFn = (roomId, code, message) => this.warn(roomId, code, message);
    const fail = (e: unknown) => this.fail(e);
    const scheduler = (this.scheduler = new Scheduler(fail));
    const store = (this.store = new ClientStateStore(userId, { changed: (s) => this.emit("change", s), connectionChanged: () => scheduler.checkWaiters() }));
    const pairs = (this.pairs = new PairKeyring({ identity, store, shared: opts.pairKeys }));
    const trust = (this.trust = new MemberTrust({ identity, storage: opts.storage, store, qkdView: (m) => pairs.qkdView(m), warn }));
    const roster = (this.roster = new Roster({
      userId,
      store,
      memberViews: (roomId, members, leaderId) => trust.memberViews(roomId, members, leaderId),
      warn,
    }));
    this.connection = new Connection({
      url: opts.url,
      identity,
      socketOptions: opts.socketOptions,
      requestTimeoutMs: opts.requestTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      store,
      scheduler,
      onSocket: (socket) => this.route(socket),
      onDisconnected: () => {
        if (roster.size) store.markAllAbsent();
        this.bb84.onDisconnect();
      },
      rejoinTargets: () => roster.all().filter((room) => !roster.isLeft(room.roomId)), // a leave may be in progress
      onRejoined: async (state) => {
        await scheduler.serial(async () => {
          if (roster.has(state.roomId)) await this.applyJoinResult(state);
        });
        await this.fetchLatestLogs(state.roomId);
        // Sessions that ended while we were away (one another tab ran and this one follows, say).
        await this.bb84.load(state.roomId).catch(() => undefined);
      },
      warn,
      fail,
    });
    const request = this.connection.request;
    const replay = this.replay;
    const emit = (event: "message" | "rejected", msg: ChatMessage) => this.emit(event, msg);
    const inbox = (this.inbox = new MessageInbox({
      userId,
      roster,
      trust,
      pairs,
      replay,
      store,
      scheduler,
      emit,
      warn,
      waitingTtlMs: opts.waitingMessageTtlMs,
    }));
    this.roomKeys = new RoomKeys({ identity, request, roster, trust, pairs, replay, inbox, store, scheduler, epochKeys: opts.epochKeys, warn, fail });
    this.sender = new MessageSender({
      identity,
      request,
      roster,
      trust,
      pairs,
      replay,
      store,
      scheduler,
      emitMessage: (msg) => this.emit("message", msg),
      keyWaitMs: opts.keyWaitMs,
    });
    this.epochKeys = opts.epochKeys;
    this.history = new History({ userId, request, roster, pairs, replay, store, epochKeys: opts.epochKeys });
    const host = createBb84Host({ identity, url: opts.url, request, roster, trust, pairs, store, warn });
    this.bb84 = new Bb84Manager(host, opts.qkdEngine, opts.bb84IdleMs);
  }

  // ---- public surface ---------------------------------------------------------------------

  /** The current snapshot; a new object after every change (safe for React/zustand selectors). */
  get state(): ClientState {
    return this.store.state;
  }

  /** The underlying typed socket (tests listen on it; BB84 sessions use bb84:frame through it). */
  get socket(): ClientSocket | null {
    return this.connection.socket;
  }

  /**
   * Connects and authenticates. Resolves once online; rejects with ClientError after
   * connectTimeoutMs (socket.io keeps retrying in the background until close()).
   */
  async connect(): Promise<void> {
    await this.connection.connect();
  }

  /**
   * Sends a command and resolves with its ack's data, or throws ClientError {code, message}:
   * the server's code, or TIMEOUT/OFFLINE. Waits for the connection (bounded) when offline, so a
   * command issued during a reconnect is sent after the socket has authenticated again.
   */
  async request<K extends CommandName>(event: K, payload: CommandPayload<K>, timeoutMs?: number): Promise<CommandData<K>> {
    return this.connection.request(event, payload, timeoutMs);
  }

  /**
   * Joins (or creates) a room. roomId undefined: the server picks a random id. The first joiner
   * sets the capacity. Loads the last 200 log rows in the background.
   */
  async join(roomId: string | undefined, displayName: string, capacity?: number, history?: HistoryMode): Promise<JoinResult> {
    if (roomId !== undefined) this.roster.unmarkLeft(roomId);
    const payload: CommandPayload<"room:join"> = { displayName };
    if (roomId !== undefined) payload.roomId = roomId;
    if (capacity !== undefined) payload.capacity = capacity;
    if (history !== undefined) payload.history = history;
    // A room:updated of this room can arrive before the join's answer (the server tells the room we
    // are back first). It is held until the answer is applied: the answer carries the key shares the
    // server kept for us, and a member who leads the epoch (say, a reloaded tab of the one who keyed
    // it) must take its key back from them rather than make a second key for the same epoch.
    const holding = roomId !== undefined && !this.joinsInFlight.has(roomId);
    if (holding) this.joinsInFlight.set(roomId, []);
    const releaseHeld = () => {
      if (!holding) return [];
      const held = this.joinsInFlight.get(roomId) ?? [];
      this.joinsInFlight.delete(roomId);
      return held;
    };
    let result: JoinResult;
    try {
      result = await this.request("room:join", payload);
    } catch (e) {
      for (const state of releaseHeld()) void this.scheduler.serial(() => this.onRoomUpdated(state));
      throw e;
    }
    this.roster.unmarkLeft(result.roomId);
    const held = releaseHeld();
    await this.scheduler.serial(async () => {
      const room = this.roster.ensure(result.roomId, displayName);
      room.displayName = memberName(result.members, this.userId) ?? displayName;
      if (capacity !== undefined) room.requestedCapacity = capacity;
      await this.applyJoinResult(result);
      for (const state of held) await this.onRoomUpdated(state);
    });
    this.fetchLogs(result.roomId).catch((e) => this.fail(e));
    this.bb84.load(result.roomId).catch((e) => this.fail(e));
    return result;
  }

  /** Leaves a room (the server starts a new epoch for the others) and forgets it locally. */
  async leave(roomId: string): Promise<void> {
    this.roster.markLeft(roomId);
    try {
      await this.request("room:leave", { roomId });
    } catch (e) {
      if (!(e instanceof ClientError && (e.code === "NOT_A_MEMBER" || e.code === "OFFLINE"))) {
        this.roster.unmarkLeft(roomId);
        throw e;
      }
    }
    await this.forgetRoom(roomId);
  }

  /** The room's creator removes a member (a new epoch starts without them). */
  async remove(roomId: string, userId: string): Promise<void> {
    await this.request("room:remove", { roomId, userId });
  }

  /**
   * Loads the next older page of the room's stored history into RoomView.messages (the newest page
   * on the first call): verified and decrypted, or shown as not available / rejected. Resolves
   * with the number of envelopes in the page (0: nothing older).
   */
  async loadHistory(roomId: string, limit?: number): Promise<number> {
    if (!this.roster.has(roomId)) throw new ClientError("NOT_JOINED", `not in room ${roomId}`);
    const n = await this.history.loadOlder(roomId, limit);
    // The room events of the time the page covers, so the timeline shows them in line (best effort).
    await this.loadEventsBack(roomId).catch(() => undefined);
    return n;
  }

  /**
   * Loads all of the room's older stored history we may read (History.loadAll: large pages, the
   * next fetched while one is verified and decrypted, each merged in one step), then the room
   * events of the time it covers. Resolves with the number of envelopes loaded.
   */
  async loadAllHistory(roomId: string): Promise<number> {
    if (!this.roster.has(roomId)) throw new ClientError("NOT_JOINED", `not in room ${roomId}`);
    const n = await this.history.loadAll(roomId);
    await this.loadEventsBack(roomId).catch(() => undefined);
    return n;
  }

  /**
   * Room events (joins, leaves, key changes, BB84 results, channel changes) older than the log rows
   * we hold, back to the oldest message loaded from history: logs:fetch with `events: true` and
   * `beforeId`, a page at a time, until the oldest row held is older than that message or the log
   * has nothing older.
   */
  private async loadEventsBack(roomId: string): Promise<void> {
    for (let pages = 0; pages < 5 && !this.logsComplete.has(roomId); pages++) {
      const view = this.store.view(roomId);
      const oldestMessage = view?.messages.find((m) => m.fromHistory)?.ts;
      if (!view || !oldestMessage) return;
      const oldestRow = view.logs[0];
      if (oldestRow && oldestRow.createdAt <= oldestMessage) return;
      const payload: CommandPayload<"logs:fetch"> = { roomId, events: true, limit: EVENTS_BACK_PAGE };
      if (oldestRow) payload.beforeId = oldestRow.id;
      const { logs } = await this.request("logs:fetch", payload);
      this.store.mergeLogs(roomId, logs);
      if (logs.length < EVENTS_BACK_PAGE) this.logsComplete.add(roomId);
      // The view keeps at most its newest log rows: what did not stay can't be paged past.
      if (logs.length && (this.store.view(roomId)?.logs[0]?.id ?? 0) > logs[0].id) return;
    }
  }

  /** We are out of a room (our leave, any tab's leave, removal, expiry): forget it and its keys. */
  private async forgetRoom(roomId: string) {
    this.bb84.onLeave(roomId);
    this.replay.forgetRoom(roomId);
    this.history.forget(roomId);
    this.logsComplete.delete(roomId);
    await this.scheduler.serial(async () => {
      this.roster.forget(roomId);
      this.scheduler.checkWaiters();
    });
    await this.epochKeys.deleteRoom(roomId).catch((e) => this.fail(e));
  }

  private async onRoomLeft(left: RoomLeft) {
    if (!this.roster.has(left.roomId) || this.roster.isLeft(left.roomId)) return;
    this.roster.markLeft(left.roomId);
    const why =
      left.reason === "removed"
        ? "you were removed from the room by its creator"
        : left.reason === "expired"
          ? "you were away longer than the room keeps members"
          : "you left the room (in another tab)";
    this.emit("warning", { code: "NOT_JOINED", message: why, roomId: left.roomId });
    await this.forgetRoom(left.roomId);
  }

  /**
   * Encrypts and sends a message. Without `to`: to the room under the current epoch's key (waits
   * up to keyWaitMs for it; retries once the new key is in if the epoch moved on meanwhile).
   * With `to` (a member's user id): a direct message under the pair's dmKey, epoch 0, delivered by
   * the server to that member only. Resolves with our own message as shown in the room.
   */
  async send(roomId: string, text: string, to?: string, attachment?: AttachmentRef): Promise<ChatMessage> {
    return this.sender.send(roomId, text, to, attachment);
  }

  /** Loads log rows (the latest 200, or those after sinceId) and merges them into RoomView.logs. */
  async fetchLogs(roomId: string, sinceId?: number): Promise<LogEntry[]> {
    const payload: CommandPayload<"logs:fetch"> = { roomId, limit: LOG_FETCH_LIMIT };
    if (sinceId !== undefined) payload.sinceId = sinceId;
    const { logs } = await this.request("logs:fetch", payload);
    this.store.mergeLogs(roomId, logs);
    if (sinceId === undefined && logs.length < LOG_FETCH_LIMIT) this.logsComplete.add(roomId);
    return logs;
  }

  /** Signal-style 60-digit safety number between us and a peer (any room we share). */
  async safetyNumberWith(peerId: string): Promise<string> {
    return this.trust.safetyNumberWith(this.roster.requirePeer(peerId));
  }

  /**
   * Marks a peer's current signing key verified (or not), persisted in storage keyed by that key.
   * Marking verified also accepts a changed key behind the peer's display name.
   */
  markVerified(peerId: string, verified: boolean): void {
    this.trust.markVerified(this.roster.requirePeer(peerId), verified);
  }

  /** Accepts a peer's new key behind a known display name (clears keyChanged without verifying). */
  acceptKeyChange(peerId: string): void {
    this.trust.acceptKeyChange(this.roster.requirePeer(peerId));
  }

  /**
   * Hardens the pair keys with a peer by a QKD key (after a successful BB84 session): the pair's
   * wrapKey and dmKey are re-derived as HKDF(X25519 secret ‖ qkdKey). Security never drops below
   * X25519. Room keys shared afterwards by either of us are wrapped under the hybrid key.
   */
  async setPairQkdKey(peerId: string, qkdKey: Uint8Array): Promise<void> {
    const id = `manual-${Date.now()}`;
    await this.pairs.stage(this.roster.requirePeer(peerId), id, qkdKey, { qber: null, keyBits: qkdKey.length * 8 });
    await this.pairs.commit(peerId, id, true);
  }

  /** Whether the pair keys with a peer are QKD-hardened; null when we share no room with them. */
  pairInfo(peerId: string): { hybrid: boolean } | null {
    const hybrid = this.pairs.isHybrid(peerId);
    if (hybrid !== undefined) return { hybrid };
    return this.roster.findPeer(peerId) ? { hybrid: false } : null;
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
    if (this.scheduler.closed) return;
    this.scheduler.close();
    this.connection.close();
    this.pairs.close();
  }

  // ---- routing ------------------------------------------------------------------------------

  /** Inbound notifications (the connection's own are handled in chat/connection.ts). */
  private route(socket: ClientSocket) {
    const { scheduler, roster, store } = this;
    socket.on("room:updated", (state) => {
      // While our join of this room is in flight, its updates wait for the join's answer (below).
      const held = this.joinsInFlight.get(state.roomId);
      if (held) held.push(state);
      else void scheduler.serial(() => this.onRoomUpdated(state));
    });
    socket.on("room:left", (left) => {
      void this.onRoomLeft(left).catch((e) => this.fail(e));
    });
    socket.on("roomkey:shared", (share) => {
      void scheduler.serial(() => this.roomKeys.accept(share));
    });
    socket.on("message:received", (msg) => {
      void scheduler.serial(() => this.inbox.receive(msg));
    });
    socket.on("log:appended", (batch) => {
      if (roster.has(batch.roomId)) store.mergeLogs(batch.roomId, batch.entries);
    });
    socket.on("channel:updated", (u) => {
      if (roster.has(u.roomId)) store.patchRoom(u.roomId, (v) => ({ ...v, channel: { ...u.channel } }));
    });
    socket.on("bb84:updated", (summary) => this.bb84.onSummary(summary));
    socket.on("bb84:frame", (f) => this.bb84.onFrame(f));
  }

  private async onRoomUpdated(state: RoomState) {
    if (this.roster.admitUpdate(state)) await this.applyRoomState(state);
  }

  /** Applies a RoomState for a new epoch (idempotent for one already applied). Runs on the queue. */
  private async applyRoomState(state: RoomState, storedShares: RoomkeyShared[] = [], joined = false) {
    const applied = await this.roster.apply(state, joined);
    if (!applied) return;
    await this.roomKeys.onEpoch(applied, storedShares);
    this.scheduler.checkWaiters();
  }

  /**
   * A join or re-join answer: its room state, then the key shares the server kept for us (epochs that
   * started while we were away): older epochs' keys go to the EpochKeyStore (history decrypts) and
   * are acknowledged, so the server deletes their blobs; the current one is adopted as usual.
   */
  private async applyJoinResult(result: JoinResult) {
    await this.applyRoomState(result, result.keyShares ?? [], true);
    this.store.patchHistory(result.roomId, { visibleFrom: result.visibleFrom });
    // Keys of epochs that started while we were away (key blobs): kept for history, and the current one adopted.
    await this.roomKeys.acceptStored(result.roomId, result.keyShares ?? []);
  }

  /** After a re-join: the log rows we missed while away. */
  private async fetchLatestLogs(roomId: string) {
    const logs = this.store.view(roomId)?.logs;
    const last = logs && logs.length ? logs[logs.length - 1].id : undefined;
    await this.fetchLogs(roomId, last);
  }

  private warn(roomId: string | undefined, code: ClientErrorCode, message: string) {
    if (roomId) this.store.addWarning(roomId, message);
    this.emit("warning", { code, message, roomId });
  }

  private fail(e: unknown) {
    this.emit("error", toClientError(e));
  }
}
