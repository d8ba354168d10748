/**
 * The state nodes share when QSEC runs as several processes behind one load balancer
 * (docs/deploy.md), behind one interface with two implementations:
 *
 * - MemoryState: one process (no QSEC_REDIS_URL, the default). Room presence lives in this
 *   process's memory alone (server/rooms/presence.ts is the truth, its promise chain the lock), and
 *   every cap and counter is this process's: exactly the single-process behaviour.
 * - RedisState (redis-state.ts): every node's view of a room is a snapshot in Redis, changed only
 *   under the room's lock (SET NX PX, released and fenced by Lua compare-and-delete/compare-and-set)
 *   and pushed to the other nodes by the same Lua script that stores it, so they see the same
 *   members, epochs and leaders in the order they were made. Caps across nodes (connections per
 *   address, connections per identity, BB84's running sessions per member and per pair) are Lua
 *   scripts over entries tagged with their node, so a dead node's share stops counting once its
 *   heart-beat key has expired; per-address row budgets and backup look-up limits are Lua token
 *   buckets. After Redis comes back from an outage each node counts what it holds again
 *   (RedisState.onReconnect). Liveness is read inside the script
 *   (the heart-beat keys themselves), never from a node's cached list of live nodes: a cache a beat
 *   old does not know a node that just started, and the identity script would drop that node's
 *   connections as a dead node's (the per-identity cap then never replaced anyone).
 */

import type { ChannelSettings } from "@/lib/protocol";

/** One member as every node sees it (dates as epoch milliseconds). */
export interface MemberSnapshot {
  userId: string;
  displayName: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
  joinedAt: number;
  lastSeenAt: number;
  visibleFrom: number;
  /** [socket id, node id] of each connection of the member in the room. */
  sockets: [string, string][];
}

export interface RoomSnapshot {
  id: string;
  epoch: number;
  capacity: number | null;
  createdBy: string | null;
  historyDays: number | null;
  keyedBy: string | null;
  channel: ChannelSettings;
  members: MemberSnapshot[];
}

/** A snapshot another node stored; `rev` orders them (a node ignores one older than what it has). */
export interface RoomSync {
  roomId: string;
  rev: number;
  room: RoomSnapshot | null;
}

export interface SharedState {
  readonly kind: "memory" | "redis";
  /** This process's name among the nodes. */
  readonly nodeId: string;
  /**
   * Runs fn holding the room's lock on every node. Memory: runs fn (the caller's promise chain is
   * the lock). Redis: refuses UNAVAILABLE when the lock can't be had in time.
   */
  withRoomLock<T>(roomId: string, fn: (lock: RoomLock) => Promise<T>): Promise<T>;
  /** Called with each room snapshot another node stores (never with this node's own). */
  onRoomSync(fn: (sync: RoomSync) => void): void;
  /** Nodes whose heart-beat is current (this node included). */
  liveNodes(): Promise<Set<string>>;
  /** Rooms with at least one connection on some node (memory: none; presence knows). */
  roomsWithPresence(): Promise<string[]>;
  /**
   * Connections per remote address across nodes: takes one slot for this node when the address
   * holds fewer than `max` on live nodes, else false. release() gives it back.
   */
  reserveAddress(addr: string, max: number): Promise<boolean>;
  releaseAddress(addr: string): Promise<void>;
  /**
   * An identity's connections across nodes, oldest first: adds this one and answers the connections
   * beyond `max` (the oldest) with the node each is on; they are dropped here, and the caller has
   * their node replace them (session:replaced, then close).
   */
  addIdentitySocket(userId: string, socketId: string, max: number): Promise<SocketRef[]>;
  removeIdentitySocket(userId: string, socketId: string): Promise<void>;
  /** Admin sessions revoked (logout) until they expire, on every node. */
  revokeAdminSession(jti: string, expiresAtMs: number): Promise<void>;
  isAdminSessionRevoked(jti: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A token bucket shared by every node (RedisState.takeTokens): `cost` tokens, refilled at `ratePerSecond` up to `burst`. */
export interface BucketTake {
  /** Its name under <prefix>rl: (e.g. "read:<address>"). */
  key: string;
  ratePerSecond: number;
  burst: number;
  cost: number;
}

/** A connection somewhere in the cluster: its node and its Socket.IO id. */
export interface SocketRef {
  node: string;
  socketId: string;
}

/** Held while a room's lock is: `load` reads the shared snapshot, `save` replaces it (fenced by the lock). */
export interface RoomLock {
  /** undefined: this process is the truth (memory); null: no connection in the room on any node. */
  load(): Promise<{ rev: number; room: RoomSnapshot | null } | undefined>;
  save(room: RoomSnapshot | null): Promise<void>;
}

/** One process: nothing to share, every answer from this process's memory. */
export class MemoryState implements SharedState {
  readonly kind = "memory" as const;
  readonly nodeId: string;
  private readonly addresses = new Map<string, number>();
  private readonly identities = new Map<string, string[]>();
  private readonly revoked = new Map<string, number>();

  constructor(nodeId = "single") {
    this.nodeId = nodeId;
  }

  withRoomLock<T>(_roomId: string, fn: (lock: RoomLock) => Promise<T>): Promise<T> {
    return fn(MEMORY_LOCK);
  }
  onRoomSync(): void {}
  async liveNodes(): Promise<Set<string>> {
    return new Set([this.nodeId]);
  }
  async roomsWithPresence(): Promise<string[]> {
    return [];
  }
  async reserveAddress(addr: string, max: number): Promise<boolean> {
    const n = this.addresses.get(addr) ?? 0;
    if (n >= max) return false;
    this.addresses.set(addr, n + 1);
    return true;
  }
  async releaseAddress(addr: string): Promise<void> {
    const n = (this.addresses.get(addr) ?? 1) - 1;
    if (n <= 0) this.addresses.delete(addr);
    else this.addresses.set(addr, n);
  }
  async addIdentitySocket(userId: string, socketId: string, max: number): Promise<SocketRef[]> {
    const list = this.identities.get(userId) ?? [];
    list.push(socketId);
    this.identities.set(userId, list);
    return (list.length > max ? list.splice(0, list.length - max) : []).map((sid) => ({ node: this.nodeId, socketId: sid }));
  }
  async removeIdentitySocket(userId: string, socketId: string): Promise<void> {
    const rest = (this.identities.get(userId) ?? []).filter((s) => s !== socketId);
    if (rest.length > 0) this.identities.set(userId, rest);
    else this.identities.delete(userId);
  }
  async revokeAdminSession(jti: string, expiresAtMs: number): Promise<void> {
    const now = Date.now();
    for (const [j, exp] of this.revoked) if (exp < now) this.revoked.delete(j);
    this.revoked.set(jti, expiresAtMs);
  }
  async isAdminSessionRevoked(jti: string): Promise<boolean> {
    return this.revoked.has(jti);
  }
  async close(): Promise<void> {}
}

const MEMORY_LOCK: RoomLock = {
  load: async () => undefined,
  save: async () => {},
};
