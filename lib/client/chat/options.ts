/**
 * What a ChatClient is configured with, and every default in one place.
 */
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import type { Identity } from "@/lib/crypto";
import type { QkdEngineFactory } from "../bb84-types";
import { createLocalEngine } from "../qkd-engine";
import { MemoryCounterStore, MemoryEpochKeyStore, MemoryPairKeyStore, type CounterStore, type EpochKeyStore, type PairKeyStore } from "../persist";
import { MemoryStorage, type KeyValueStorage } from "../storage";

export interface ChatClientOptions {
  /** Server origin, e.g. "http://localhost:3000" (socket.io path /socket.io). */
  url: string;
  identity: Identity;
  /** Verified marks and known display names → signing keys. Default: in memory. */
  storage?: KeyValueStorage;
  /** The epoch keys this member has held, kept so stored history decrypts after a reload. Default: in memory. */
  epochKeys?: EpochKeyStore;
  /** Where message counters are reserved (shared by the tabs of one identity in a browser). Default: in memory. */
  counters?: CounterStore;
  /**
   * Where QKD-hardened pair keys are shared with this identity's other clients (its tabs) and kept
   * (issue 14). Default: in memory, this client's own.
   */
  pairKeys?: PairKeyStore;
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
  /** A running BB84 session with no frame from the peer for this long is aborted. Default 60 s (bb84-session.ts). */
  bb84IdleMs?: number;
}

/** The options with their defaults filled in (bb84IdleMs stays optional: Bb84Manager owns its default). */
export type ResolvedOptions = Required<Omit<ChatClientOptions, "bb84IdleMs">> & Pick<ChatClientOptions, "bb84IdleMs">;

export function resolveOptions(opts: ChatClientOptions): ResolvedOptions {
  return {
    url: opts.url,
    identity: opts.identity,
    storage: opts.storage ?? new MemoryStorage(),
    epochKeys: opts.epochKeys ?? new MemoryEpochKeyStore(),
    counters: opts.counters ?? new MemoryCounterStore(),
    pairKeys: opts.pairKeys ?? new MemoryPairKeyStore(),
    socketOptions: opts.socketOptions ?? {},
    requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
    keyWaitMs: opts.keyWaitMs ?? 10_000,
    waitingMessageTtlMs: opts.waitingMessageTtlMs ?? 30_000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    qkdEngine: opts.qkdEngine ?? ((init) => createLocalEngine(init)),
    bb84IdleMs: opts.bb84IdleMs,
  };
}
