/**
 * SharedState over Redis (QSEC_REDIS_URL). Every key starts with the configured prefix
 * (QSEC_REDIS_PREFIX), so deployments and tests sharing one Redis never see each other's keys.
 *
 *   <p>node:<id>            heart-beat of a node (PX 3 × beat); gone: the node is dead
 *   <p>nodes                set of node ids that have beaten (the reaper removes dead ones)
 *   <p>lock:room:<id>       a room's lock: "<node> <random>", SET NX PX (or taken from a dead node), released by compare-and-delete
 *   <p>room:<id>            the room's snapshot (JSON), stored only by the lock's holder (Lua)
 *   <p>rev:room:<id>        the snapshot's revision, incremented by the same script
 *   <p>rooms                set of rooms with a snapshot (someone connected on some node)
 *   <p>addr:<address>       hash node id → connections of that address on that node
 *   <p>ident:<user id>      sorted set "<node> <socket id>" by connect time (µs): an identity's connections
 *   <p>identseq:<user id>   the last score given in it (scores only grow, also within one µs)
 *   <p>bb84:<id>            a BB84 session's record (room, parties, node), while it runs and a minute after
 *   <p>bb84node:<node>      ids of the running BB84 sessions a node holds (ended with NODE_LOST if it dies)
 *   <p>bb84m:<user id>      sorted set "<node> <session> <room> <peer>" by expiry (ms): a member's running
 *                           BB84 sessions on every node (the BUSY caps)
 *   <p>rl:<kind>:<key>      a token bucket (hash t: tokens, ts: ms of the last refill) shared by every node:
 *                           read and history row budgets per address, backup look-ups per address and id
 *   <p>revoked:<jti>        an admin session logged out, until it would have expired
 *   <p>sync                 pub/sub channel: "<rev> <room id> <snapshot JSON | null>" from the save script
 *
 * Socket.IO's streams adapter (server/app.ts) uses <p>sio… for its stream and sessions.
 */
import { randomBytes } from "node:crypto";
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  type RedisClientType,
} from "redis";
import { ProtocolError, type ErrorCode } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { BucketTake, RoomLock, RoomSnapshot, RoomSync, SharedState, SocketRef } from "./shared-state";

const SAVE_ROOM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local rev = redis.call('INCR', KEYS[3])
if rev == 1 then
  -- A new counter (a new room, or Redis lost its memory): start from the clock in microseconds, so
  -- revisions stay above any a node still holds from before a Redis restart.
  local t = redis.call('TIME')
  rev = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', KEYS[3], rev)
end
-- Written with %d: Lua's own number-to-string keeps 14 digits, and a clock-seeded revision has 16.
local r = string.format('%d', rev)
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[4], ARGV[3])
  redis.call('PUBLISH', KEYS[5], r .. ' ' .. ARGV[3] .. ' null')
else
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[3])
  redis.call('PUBLISH', KEYS[5], r .. ' ' .. ARGV[3] .. ' ' .. ARGV[2])
end
return rev`;

// KEYS[1] a room's lock; ARGV[1] heart-beat key prefix, ARGV[2] this node, ARGV[3] token
// "<node> <random>", ARGV[4] PX. Taken when free; also when its holder's heart-beat is gone (a node
// killed while holding it would otherwise keep the room, and the reaping of its connections and
// sessions, waiting until the lock expired). Its save, were it alive after all, fails the fence.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[4]) then return 1 end
local holder = string.match(redis.call('GET', KEYS[1]) or '', '^(%S+) ')
if holder and holder ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. holder) == 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  return 2
end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// A node counts while its heart-beat key exists (or it is the caller): read here, in the script, so
// the answer is as fresh as Redis's (a node's cached list of live nodes is up to a beat old and
// would not know a node that just started). ARGV[1] of each script below is the heart-beat key
// prefix ("<p>node:"), ARGV[2] this node.
const LIVE = `
local live = {}
local function alive(node)
  if live[node] == nil then live[node] = node == ARGV[2] or redis.call('EXISTS', ARGV[1] .. node) == 1 end
  return live[node]
end`;

// KEYS[1] addr hash; ARGV[3] max
const RESERVE_ADDRESS = `${LIVE}
local total = 0
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  if alive(h[i]) then total = total + tonumber(h[i + 1]) end
end
if total >= tonumber(ARGV[3]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
return 1`;

const RELEASE_ADDRESS = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n`;

// An identity's connections are scored by connect time in microseconds (Redis's clock for a new
// one; the node's for one re-registered after a Redis restart, so it keeps its place among the
// others), and KEYS[2] holds the highest score given, so a newer connection always sorts after.
// Entries of dead nodes are dropped first; after adding, the oldest beyond max are removed and
// answered (their nodes replace them).
const IDENTITY_CAP = `
for _, e in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local node = string.match(e, '^(%S+) ')
  if not node or not alive(node) then redis.call('ZREM', KEYS[1], e) end
end
local function cap(max)
  local n = redis.call('ZCARD', KEYS[1])
  local over = {}
  if n > max then
    over = redis.call('ZRANGE', KEYS[1], 0, n - max - 1)
    for _, e in ipairs(over) do redis.call('ZREM', KEYS[1], e) end
  end
  if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
  return over
end`;

// KEYS[1] ident zset, KEYS[2] its highest score; ARGV[3] "<node> <sid>", ARGV[4] max
const ADD_IDENTITY = `${LIVE}${IDENTITY_CAP}
local t = redis.call('TIME')
local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if us <= last then us = last + 1 end
local score = string.format('%d', us)
redis.call('SET', KEYS[2], score)
redis.call('ZADD', KEYS[1], score, ARGV[3])
return cap(tonumber(ARGV[4]))`;

// Re-registration after Redis came back (a restart forgets every key): KEYS and ARGV[1..2] as
// above, ARGV[3] max, then (score, "<node> <sid>") pairs; entries already there keep their score.
const RESTORE_IDENTITY = `${LIVE}${IDENTITY_CAP}
for i = 4, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'NX', ARGV[i], ARGV[i + 1]) end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] and tonumber(top[2]) > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], string.format('%d', tonumber(top[2])))
end
return cap(tonumber(ARGV[3]))`;

const REMOVE_IDENTITY = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return 0`;

// A member's running BB84 sessions on every node, checked and registered in one step (the BUSY
// caps: one session per pair in a room, LIMITS.maxBb84SessionsPerMember per member).
// KEYS[1] Alice's sessions, KEYS[2] Bob's (sorted sets "<node> <session> <room> <peer>" scored by
// the ms they expire at), KEYS[3] the session's record, KEYS[4] its node's set of sessions.
// ARGV[3] session id, ARGV[4] room, ARGV[5] Alice, ARGV[6] Bob, ARGV[7] max per member, ARGV[8] ms
// the entries last, ARGV[9] the record (JSON), ARGV[10] its PX, ARGV[11] '1' to check the caps
// (bb84:start), '0' to register only (re-registration of a running session after a Redis restart).
// Entries past their expiry and entries of dead nodes (heart-beat key gone: their sessions end
// NODE_LOST) are dropped first. Answers 0 (registered), 1 (the pair runs one), 2 (Alice is at the
// cap), 3 (Bob is).
const START_BB84 = `${LIVE}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function prune(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%d', now))
  for _, e in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local node = string.match(e, '^(%S+) ')
    if not node or not alive(node) then redis.call('ZREM', key, e) end
  end
end
prune(KEYS[1])
prune(KEYS[2])
if ARGV[11] == '1' then
  for _, e in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local room, peer = string.match(e, '^%S+ %S+ (%S+) (%S+)$')
    if room == ARGV[4] and peer == ARGV[6] then return 1 end
  end
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[7]) then return 2 end
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then return 3 end
end
local ttl = tonumber(ARGV[8])
local exp = string.format('%d', now + ttl)
redis.call('ZADD', KEYS[1], exp, ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[6])
redis.call('ZADD', KEYS[2], exp, ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
for _, k in ipairs({ KEYS[1], KEYS[2] }) do
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
redis.call('SET', KEYS[3], ARGV[9], 'PX', ARGV[10])
redis.call('SADD', KEYS[4], ARGV[3])
return 0`;

// Token buckets shared by every node, all taken or none: KEYS the buckets (hash t: tokens, ts: ms
// of the last refill; a missing one is full), ARGV (rate per second, burst, cost) for each in turn.
// Redis's clock, so nodes with skewed clocks refill alike. A bucket is kept until it would be full
// again (at most a day). Answers 0 (taken from every bucket) or the 1-based index of the first
// bucket that lacks the tokens (nothing taken).
const TAKE_TOKENS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = {}
for i, k in ipairs(KEYS) do
  local rate, burst, cost = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local v = redis.call('HMGET', k, 't', 'ts')
  local tokens = burst
  if v[1] and v[2] then tokens = math.min(burst, tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * rate / 1000) end
  if tokens < cost then return i end
  left[i] = tokens - cost
end
for i, k in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  redis.call('HSET', k, 't', string.format('%.6f', left[i]), 'ts', string.format('%d', now))
  local keep = 86400000
  if rate > 0 then keep = math.min(keep, math.ceil((burst - left[i]) * 1000 / rate) + 1000) end
  redis.call('PEXPIRE', k, keep)
end
return 0`;

/** Whether an error means Redis can't be reached now (commands answer UNAVAILABLE, never INTERNAL). */
export function isRedisUnreachable(e: unknown): boolean {
  return (
    e instanceof ClientOfflineError ||
    e instanceof ClientClosedError ||
    e instanceof SocketClosedUnexpectedlyError ||
    e instanceof ConnectionTimeoutError ||
    e instanceof ReconnectStrategyError ||
    e instanceof SocketTimeoutError ||
    (e instanceof Error && /^LOADING\b/.test(e.message))
  );
}

export interface RedisStateOptions {
  url: string;
  prefix: string;
  nodeId?: string;
  /** Heart-beat period (default 2 s); a node is dead 3 beats after its last. */
  beatMs?: number;
  /** How long a room's lock may be waited for before UNAVAILABLE (default 10 s). */
  lockWaitMs?: number;
  onError?: (e: Error) => void;
}

export class RedisState implements SharedState {
  readonly kind = "redis" as const;
  readonly nodeId: string;
  readonly prefix: string;
  readonly beatMs: number;
  private readonly lockWaitMs: number;
  private sub: RedisClientType | null = null;
  /** The client Socket.IO's streams adapter publishes and reads with (server/app.ts). */
  adapterClient!: RedisClientType;
  private beat: NodeJS.Timeout | null = null;
  private readonly syncListeners: ((s: RoomSync) => void)[] = [];
  private readonly reconnectHooks: (() => void)[] = [];
  private readonly handlers = new Map<string, (args: unknown, from: string) => unknown>();
  private readonly pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private seq = 0;
  private closed = false;

  private constructor(
    readonly client: RedisClientType,
    opts: RedisStateOptions,
  ) {
    this.prefix = opts.prefix;
    this.nodeId = opts.nodeId ?? randomBytes(6).toString("hex");
    this.beatMs = opts.beatMs ?? 2000;
    this.lockWaitMs = opts.lockWaitMs ?? 10_000;
  }

  /**
   * Connects (three clients: commands, the sync subscription, and Socket.IO's adapter) and starts
   * the heart-beat. Each reconnects by itself (every 100 ms to 2 s) while Redis is away. The command
   * client queues nothing while offline: a command needing shared state fails at once, and
   * answers UNAVAILABLE (server/command.ts), instead of hanging until Redis is back. The adapter's
   * client keeps node-redis's offline queue: its stream reader waits for Redis instead of spinning,
   * and room events published meanwhile go out when it is back.
   */
  static async connect(opts: RedisStateOptions): Promise<RedisState> {
    const onError = opts.onError ?? (() => {});
    const socket = { reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2000) };
    const client = createClient({ url: opts.url, socket, disableOfflineQueue: true }) as RedisClientType;
    client.on("error", onError);
    await client.connect();
    const state = new RedisState(client, opts);
    const adapterClient = createClient({ url: opts.url, socket }) as RedisClientType;
    adapterClient.on("error", onError);
    await adapterClient.connect();
    state.adapterClient = adapterClient;
    // Back after an outage (a Redis restart forgets every key): beat at once, so the other nodes
    // see this node alive again before they would take its room locks as a dead node's, then
    // re-register what this node holds (onReconnect). Both are sent here, synchronously, so they
    // are the first commands on the new connection: no cap check of this node runs before them.
    client.on("ready", () => {
      void state.heartbeat().catch(onError);
      for (const fn of state.reconnectHooks) {
        try {
          fn();
        } catch (e) {
          onError(e instanceof Error ? e : new Error(String(e)));
        }
      }
    });
    const sub = client.duplicate() as RedisClientType;
    sub.on("error", onError);
    await sub.connect();
    state.sub = sub;
    await sub.subscribe(state.key("sync"), (message) => state.onSyncMessage(message));
    await sub.subscribe(state.key("rpc", state.nodeId), (message) => void state.onRpcMessage(message));
    await sub.subscribe(state.key("bcast"), (message) => void state.onBroadcast(message));
    await state.heartbeat();
    state.beat = setInterval(() => void state.heartbeat().catch(onError), state.beatMs);
    state.beat.unref();
    return state;
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(":");
  }

  private async heartbeat() {
    if (this.closed) return;
    await this.client
      .multi()
      .set(this.key("node", this.nodeId), String(Date.now()), { PX: this.beatMs * 3 })
      .sAdd(this.key("nodes"), this.nodeId)
      .exec();
  }

  private onSyncMessage(message: string) {
    const a = message.indexOf(" ");
    const b = message.indexOf(" ", a + 1);
    if (a < 0 || b < 0) return;
    const rev = Number(message.slice(0, a));
    const roomId = message.slice(a + 1, b);
    const json = message.slice(b + 1);
    let room: RoomSnapshot | null;
    try {
      room = JSON.parse(json) as RoomSnapshot | null;
    } catch {
      return;
    }
    for (const fn of this.syncListeners) fn({ roomId, rev, room });
  }

  /** Answers calls of `method` from other nodes (call()) and broadcasts of it (broadcast()). */
  handle(method: string, fn: (args: unknown, from: string) => unknown): void {
    this.handlers.set(method, fn);
  }

  /** Calls `method` on one node and waits for its answer (UNAVAILABLE after timeoutMs). */
  call(node: string, method: string, args: unknown, timeoutMs = 5000): Promise<unknown> {
    const id = `${this.nodeId}.${this.seq++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError("UNAVAILABLE", "another node did not answer in time; retry shortly"));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.client.publish(this.key("rpc", node), JSON.stringify({ t: "req", id, from: this.nodeId, method, args })).catch((e: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      });
    });
  }

  /** Tells every other node (fire and forget). */
  async broadcast(method: string, args: unknown): Promise<void> {
    await this.client.publish(this.key("bcast"), JSON.stringify({ from: this.nodeId, method, args }));
  }

  private async onRpcMessage(message: string) {
    let m: { t: string; id: string; from?: string; method?: string; args?: unknown; ok?: boolean; value?: unknown; code?: string; error?: string };
    try {
      m = JSON.parse(message) as typeof m;
    } catch {
      return;
    }
    if (m.t === "res") {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new ProtocolError((m.code as ErrorCode) ?? "INTERNAL", m.error ?? "failed on another node"));
      return;
    }
    if (m.t !== "req" || !m.from || !m.method) return;
    const fn = this.handlers.get(m.method);
    let reply: object;
    try {
      if (!fn) throw new Error(`no handler for ${m.method}`);
      reply = { t: "res", id: m.id, ok: true, value: (await fn(m.args, m.from)) ?? null };
    } catch (e) {
      reply =
        e instanceof ProtocolError
          ? { t: "res", id: m.id, ok: false, code: e.code, error: e.message }
          : { t: "res", id: m.id, ok: false, code: "INTERNAL", error: "failed on another node" };
    }
    await this.client.publish(this.key("rpc", m.from), JSON.stringify(reply)).catch(() => {});
  }

  private async onBroadcast(message: string) {
    try {
      const m = JSON.parse(message) as { from: string; method: string; args: unknown };
      if (m.from === this.nodeId) return;
      await this.handlers.get(m.method)?.(m.args, m.from);
    } catch {
      /* a bad message or a failing handler: nothing to answer */
    }
  }

  /**
   * Runs fn each time the command client is connected again after losing Redis (not at the first
   * connect), right after the heart-beat: fn must send its commands before it awaits anything, so
   * they go out first on the new connection.
   */
  onReconnect(fn: () => void): void {
    this.reconnectHooks.push(fn);
  }

  onRoomSync(fn: (sync: RoomSync) => void): void {
    this.syncListeners.push(fn);
  }

  async withRoomLock<T>(roomId: string, fn: (lock: RoomLock) => Promise<T>): Promise<T> {
    const lockKey = this.key("lock", "room", roomId);
    const token = `${this.nodeId} ${randomBytes(12).toString("base64url")}`;
    const deadline = Date.now() + this.lockWaitMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      let got: unknown;
      try {
        got = await this.client.eval(ACQUIRE, { keys: [lockKey], arguments: [this.key("node", ""), this.nodeId, token, "30000"] });
      } catch (e) {
        if (isRedisUnreachable(e)) refuse("UNAVAILABLE", "the shared state (Redis) is unreachable; retry shortly");
        got = 0;
      }
      if (got === 1 || got === 2) break;
      if (Date.now() > deadline) refuse("UNAVAILABLE", "the room is busy or the shared state is unreachable; retry shortly");
      await new Promise((r) => setTimeout(r, wait));
    }
    const lock: RoomLock = {
      load: async () => {
        const [json, rev] = await this.client.mGet([this.key("room", roomId), this.key("rev", "room", roomId)]);
        return { rev: Number(rev ?? 0), room: json ? (JSON.parse(json) as RoomSnapshot) : null };
      },
      save: async (room) => {
        const rev = await this.client.eval(SAVE_ROOM, {
          keys: [lockKey, this.key("room", roomId), this.key("rev", "room", roomId), this.key("rooms"), this.key("sync")],
          arguments: [token, room ? JSON.stringify(room) : "", roomId],
        });
        if (rev === -1) refuse("UNAVAILABLE", "lost the room's lock (the shared state was too slow); retry");
      },
    };
    try {
      return await fn(lock);
    } finally {
      await this.client.eval(RELEASE, { keys: [lockKey], arguments: [token] }).catch(() => {});
    }
  }

  /** Live nodes: those whose heart-beat key exists now (this node included). */
  async liveNodes(): Promise<Set<string>> {
    const ids = await this.client.sMembers(this.key("nodes"));
    const beats = ids.length > 0 ? await this.client.mGet(ids.map((id) => this.key("node", id))) : [];
    const nodes = new Set(ids.filter((_, i) => beats[i] !== null));
    nodes.add(this.nodeId);
    return nodes;
  }

  /** Nodes that beat once and stopped (their entries are reaped, then they are forgotten). */
  async deadNodes(): Promise<string[]> {
    const ids = await this.client.sMembers(this.key("nodes"));
    const beats = ids.length > 0 ? await this.client.mGet(ids.map((id) => this.key("node", id))) : [];
    return ids.filter((id, i) => beats[i] === null && id !== this.nodeId);
  }

  async forgetNode(nodeId: string): Promise<void> {
    await this.client.sRem(this.key("nodes"), nodeId);
  }

  async roomsWithPresence(): Promise<string[]> {
    return this.client.sMembers(this.key("rooms"));
  }

  async reserveAddress(addr: string, max: number): Promise<boolean> {
    const r = await this.client.eval(RESERVE_ADDRESS, { keys: [this.key("addr", addr)], arguments: [this.key("node", ""), this.nodeId, String(max)] });
    return r === 1;
  }

  async releaseAddress(addr: string): Promise<void> {
    await this.client.eval(RELEASE_ADDRESS, { keys: [this.key("addr", addr)], arguments: [this.nodeId] });
  }

  async addIdentitySocket(userId: string, socketId: string, max: number): Promise<SocketRef[]> {
    const over = (await this.client.eval(ADD_IDENTITY, {
      keys: [this.key("ident", userId), this.key("identseq", userId)],
      arguments: [this.key("node", ""), this.nodeId, `${this.nodeId} ${socketId}`, String(max)],
    })) as string[];
    return over.map((e) => ({ node: e.slice(0, e.indexOf(" ")), socketId: e.slice(e.indexOf(" ") + 1) }));
  }

  /**
   * After Redis came back: this node's authenticated connections of each identity, with their
   * connect times (ms). Entries already there are kept; answers the connections now beyond `max`
   * (the oldest, on any node), which their nodes replace as after a connect.
   */
  restoreIdentitySockets(identities: Map<string, { socketId: string; at: number }[]>, max: number): Promise<SocketRef[]> {
    const calls: Promise<unknown>[] = [];
    for (const [userId, list] of identities) {
      if (list.length === 0) continue;
      const args = [this.key("node", ""), this.nodeId, String(max)];
      for (const { socketId, at } of list) args.push(String(Math.floor(at) * 1000), `${this.nodeId} ${socketId}`);
      calls.push(this.client.eval(RESTORE_IDENTITY, { keys: [this.key("ident", userId), this.key("identseq", userId)], arguments: args }));
    }
    return Promise.all(calls).then((all) =>
      (all as string[][]).flat().map((e) => ({ node: e.slice(0, e.indexOf(" ")), socketId: e.slice(e.indexOf(" ") + 1) })),
    );
  }

  /** After Redis came back: this node's connection count of each address (its field of <p>addr:<address>, set, not added to). */
  async restoreAddresses(counts: Map<string, number>): Promise<void> {
    if (counts.size === 0) return;
    const m = this.client.multi();
    for (const [addr, n] of counts) {
      if (n > 0) m.hSet(this.key("addr", addr), this.nodeId, String(n));
      else m.hDel(this.key("addr", addr), this.nodeId);
    }
    await m.exec();
  }

  /**
   * Takes `cost` tokens from every bucket or from none (a Lua script: no read-modify-write race
   * between nodes). Answers -1 when taken, else the index of the first bucket short of tokens.
   */
  async takeTokens(buckets: BucketTake[]): Promise<number> {
    // A bucket with no rate limit (benchmarks lift the limits with Infinity) always has the tokens.
    const limited = buckets.map((b, i) => ({ b, i })).filter(({ b }) => b.ratePerSecond !== Infinity);
    if (limited.length === 0) return -1;
    const r = Number(
      await this.client.eval(TAKE_TOKENS, {
        keys: limited.map(({ b }) => this.key("rl", b.key)),
        arguments: limited.flatMap(({ b }) => [String(b.ratePerSecond), String(b.burst), String(b.cost)]),
      }),
    );
    return r === 0 ? -1 : limited[r - 1].i;
  }

  /**
   * Registers a BB84 session held by this node (its record, its node's set, and both parties'
   * running sessions) after checking the BUSY caps across nodes, in one step. `check` false:
   * registers only (a running session re-registered after a Redis restart).
   */
  async startBb84(
    s: { id: string; roomId: string; aliceId: string; bobId: string },
    opts: { max: number; entryMs: number; record: string; recordMs: number; check: boolean },
  ): Promise<"ok" | "pair" | "alice" | "bob"> {
    const r = await this.client.eval(START_BB84, {
      keys: [this.key("bb84m", s.aliceId), this.key("bb84m", s.bobId), this.key("bb84", s.id), this.key("bb84node", this.nodeId)],
      arguments: [
        this.key("node", ""),
        this.nodeId,
        s.id,
        s.roomId,
        s.aliceId,
        s.bobId,
        String(opts.max),
        String(opts.entryMs),
        opts.record,
        String(opts.recordMs),
        opts.check ? "1" : "0",
      ],
    });
    return (["ok", "pair", "alice", "bob"] as const)[Number(r)] ?? "ok";
  }

  /**
   * A BB84 session ended (held by `node`: this one, or a dead one being reaped): both parties'
   * entries go, its node's set forgets it, and its record is replaced (`record`: kept `recordMs`
   * for late reports) or deleted (null).
   */
  async endBb84(s: { id: string; roomId: string; aliceId: string; bobId: string }, node: string, record: string | null, recordMs = 0): Promise<void> {
    const m = this.client
      .multi()
      .zRem(this.key("bb84m", s.aliceId), `${node} ${s.id} ${s.roomId} ${s.bobId}`)
      .zRem(this.key("bb84m", s.bobId), `${node} ${s.id} ${s.roomId} ${s.aliceId}`)
      .sRem(this.key("bb84node", node), s.id);
    if (record === null) m.del(this.key("bb84", s.id));
    else m.set(this.key("bb84", s.id), record, { PX: recordMs });
    await m.exec();
  }

  async removeIdentitySocket(userId: string, socketId: string): Promise<void> {
    await this.client.eval(REMOVE_IDENTITY, { keys: [this.key("ident", userId), this.key("identseq", userId)], arguments: [`${this.nodeId} ${socketId}`] });
  }

  async revokeAdminSession(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.max(1000, expiresAtMs - Date.now());
    await this.client.set(this.key("revoked", jti), "1", { PX: ttl });
  }

  async isAdminSessionRevoked(jti: string): Promise<boolean> {
    return (await this.client.exists(this.key("revoked", jti))) === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.beat) clearInterval(this.beat);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ProtocolError("UNAVAILABLE", "node shutting down"));
    }
    this.pending.clear();
    // A clean stop: the node is gone at once (no wait for its heart-beat to expire).
    await this.client
      .multi()
      .del(this.key("node", this.nodeId))
      .exec()
      .catch(() => {});
    await this.sub?.quit().catch(() => {});
    await this.adapterClient.quit().catch(() => {});
    await this.client.quit().catch(() => {});
  }
}
