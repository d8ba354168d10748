/**
 * Connection and re-join: the typed socket, authentication (auth:hello / auth:prove, a signed
 * fresh nonce) on every (re)connection, commands with their acks, and after each successful
 * authentication a re-join of every room we were in. The server starts a new epoch on that join,
 * so a returning member is re-keyed by the epoch's leader without anyone's help.
 *
 * Inbound notifications other than the connection's own are routed by the caller (onSocket).
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { signAuth, type Identity } from "@/lib/crypto";
import type { Ack, ClientToServerEvents, CommandData, CommandName, CommandPayload, JoinResult, ServerToClientEvents } from "@/lib/protocol";
import { ClientError, toClientError } from "../errors";
import type { ClientStateStore, WarnFn } from "./client-state";
import type { Scheduler } from "./scheduler";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Sends a command and resolves with its ack's data (throws ClientError otherwise). */
export type Requester = <K extends CommandName>(event: K, payload: CommandPayload<K>, timeoutMs?: number) => Promise<CommandData<K>>;

/** A room to join again after a reconnect, as we first joined it. */
export interface RejoinTarget {
  roomId: string;
  displayName: string;
  requestedCapacity?: number;
}

export interface ConnectionDeps {
  url: string;
  identity: Identity;
  socketOptions: Partial<ManagerOptions & SocketOptions>;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  store: Pick<ClientStateStore, "connection" | "setConnection">;
  scheduler: Pick<Scheduler, "closed" | "later" | "waitUntil">;
  /** The socket was made: subscribe to the notifications the other modules handle. */
  onSocket(socket: ClientSocket): void;
  /** The connection dropped (rooms show us absent, BB84 sessions end). */
  onDisconnected(): void;
  /** Rooms to re-join after authenticating (a room being left is not among them). */
  rejoinTargets(): RejoinTarget[];
  /** A re-join's ack: apply its RoomState, then catch up on the room's log. */
  onRejoined(state: JoinResult): Promise<void>;
  warn: WarnFn;
  fail(e: unknown): void;
}

export class Connection {
  private _socket: ClientSocket | null = null;
  private _replaced = false;
  private everOnline = false;
  /** Bumped on each (re)connection, so a stale authentication flow can tell it lost the race. */
  private generation = 0;

  constructor(private readonly deps: ConnectionDeps) {}

  get socket(): ClientSocket | null {
    return this._socket;
  }

  /** The same identity connected elsewhere: this client stopped for good. */
  get replaced(): boolean {
    return this._replaced;
  }

  /**
   * Connects and authenticates. Resolves once online; rejects with ClientError after
   * connectTimeoutMs (socket.io keeps retrying in the background until close()).
   */
  async connect(): Promise<void> {
    const { url, connectTimeoutMs } = this.deps;
    if (this.deps.scheduler.closed) throw new ClientError("OFFLINE", "this client is closed");
    if (!this._socket) {
      const socket: ClientSocket = io(url, {
        autoConnect: false,
        reconnection: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 5000,
        ...this.deps.socketOptions,
        transports: ["websocket"],
      });
      this._socket = socket;
      this.wire(socket);
      this.deps.onSocket(socket);
      this.deps.store.setConnection("connecting");
      socket.connect();
    }
    await this.deps.scheduler.waitUntil(
      () => this.deps.store.connection === "online",
      connectTimeoutMs,
      () => {
        if (this._replaced) return new ClientError("SESSION_REPLACED", "this identity connected elsewhere");
        return new ClientError("TIMEOUT", `could not connect to ${url} within ${connectTimeoutMs} ms`);
      },
    );
  }

  /**
   * Sends a command and resolves with its ack's data, or throws ClientError {code, message}:
   * the server's code, or TIMEOUT/OFFLINE. Waits for the connection (bounded) when offline, so a
   * command issued during a reconnect is sent after the socket has authenticated again.
   */
  readonly request: Requester = async (event, payload, timeoutMs = this.deps.requestTimeoutMs) => {
    const started = Date.now();
    if (event !== "auth:hello" && event !== "auth:prove") {
      await this.deps.scheduler.waitUntil(
        () => this.deps.store.connection === "online",
        timeoutMs,
        () => new ClientError("OFFLINE", "not connected to the server"),
      );
    }
    return this.emitWithAck(event, payload, Math.max(1, timeoutMs - (Date.now() - started)));
  };

  /** Disconnects for good (the scheduler is closed by the caller). */
  close(): void {
    this._socket?.disconnect();
    this.deps.store.setConnection("offline");
  }

  private wire(socket: ClientSocket) {
    const { store, scheduler } = this.deps;
    socket.on("connect", () => {
      void this.onConnect(socket);
    });
    socket.on("disconnect", (reason) => {
      this.generation++;
      store.setConnection("offline");
      this.deps.onDisconnected();
      // The server closed us on purpose (restart, auth timeout): try again unless we were replaced.
      if (reason === "io server disconnect" && !scheduler.closed && !this._replaced && this.everOnline) this.reconnectSoon(socket);
    });
    socket.on("connect_error", (err) => {
      if (scheduler.closed) return;
      store.setConnection(socket.active ? "connecting" : "offline");
      if (!socket.active) this.deps.fail(new ClientError("OFFLINE", `connection failed: ${err.message}`));
    });
    socket.io.on("reconnect_attempt", () => {
      if (!scheduler.closed) store.setConnection("connecting");
    });
    socket.on("session:replaced", () => {
      this._replaced = true;
      this.deps.fail(new ClientError("SESSION_REPLACED", "this identity connected from another tab or device; this one stopped"));
    });
  }

  private reconnectSoon(socket: ClientSocket) {
    this.deps.scheduler.later(() => {
      if (!this.deps.scheduler.closed && !this._replaced && !socket.connected) {
        this.deps.store.setConnection("connecting");
        socket.connect();
      }
    }, 1000);
  }

  private async onConnect(socket: ClientSocket) {
    const { identity, requestTimeoutMs, store, scheduler } = this.deps;
    const gen = ++this.generation;
    store.setConnection("authenticating");
    try {
      const { nonce } = await this.emitWithAck("auth:hello", {}, requestTimeoutMs);
      const signature = await signAuth(identity, nonce);
      const { userId } = await this.emitWithAck(
        "auth:prove",
        { signingKey: identity.signingKey, agreementKey: identity.agreementKey, agreementSig: identity.agreementSig, signature },
        requestTimeoutMs,
      );
      if (userId !== identity.userId) throw new ClientError("AUTH_FAILED", "the server assigned an unexpected user id");
    } catch (e) {
      if (gen !== this.generation || scheduler.closed) return;
      const err = toClientError(e);
      this.deps.fail(err);
      if (err.code === "AUTH_FAILED") {
        socket.disconnect(); // fatal: retrying with the same keys cannot help
        store.setConnection("offline");
      } else {
        // Transient (timeout, rate limit): start over with a fresh nonce, after a pause.
        socket.disconnect();
        this.reconnectSoon(socket);
      }
      return;
    }
    if (gen !== this.generation || scheduler.closed) return;
    this.everOnline = true;
    store.setConnection("online");
    this.rejoinAll();
  }

  /** Re-joins every room we were in; a failure is reported per room, the others go on. */
  private rejoinAll() {
    for (const room of this.deps.rejoinTargets()) {
      const payload: CommandPayload<"room:join"> = { roomId: room.roomId, displayName: room.displayName };
      if (room.requestedCapacity !== undefined) payload.capacity = room.requestedCapacity;
      this.request("room:join", payload)
        .then((state) => this.deps.onRejoined(state))
        .catch((e) => {
          const err = toClientError(e);
          this.deps.warn(room.roomId, "OFFLINE", `could not re-join ${room.roomId}: ${err.message}`);
          this.deps.fail(new ClientError(err.code, `could not re-join ${room.roomId}: ${err.message}`));
        });
    }
  }

  private emitWithAck<K extends CommandName>(event: K, payload: CommandPayload<K>, timeoutMs: number): Promise<CommandData<K>> {
    const socket = this._socket;
    if (!socket || this.deps.scheduler.closed) return Promise.reject(new ClientError("OFFLINE", "not connected"));
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
}
