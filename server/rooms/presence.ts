/**
 * Who is in which room, kept in memory for rooms with at least one connection in them (the
 * database keeps memberships, periods and epochs; a room with nobody connected lives there only).
 * A member stays a member while offline: `sockets` is empty then. requireMember() is the one
 * membership check every feature's handlers start with: this connection must have joined the room.
 *
 * With several nodes (server/cluster), `rooms` is this node's copy of rooms that have a connection
 * on some node: withRoom() holds the room's lock on every node, loads the shared snapshot first and
 * stores it after (when changed); other nodes' changes arrive as snapshots (applySync). A member's
 * `sockets` then holds the ids of its connections on every node (io.to(id) reaches any of them).
 */
import { leaderOf, type ChannelSettings, type MemberInfo, type RoomState } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { MemoryState, type RoomSnapshot, type SharedState } from "../cluster/shared-state";

export interface RoomMember {
  userId: string;
  displayName: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
  joinedAt: Date;
  lastSeenAt: Date;
  /** The first epoch of the current membership period (history before it is not theirs). */
  visibleFrom: number;
  /** Ids of this member's connections that joined the room (empty: offline). */
  sockets: Set<string>;
}

export interface LiveRoom {
  id: string;
  epoch: number;
  capacity: number | null;
  createdBy: string | null;
  /** Days of encrypted history kept; null: ephemeral. */
  historyDays: number | null;
  /** Who distributed the current epoch's key (null until someone has). */
  keyedBy: string | null;
  /** Simulation channel settings (mirrors Room.channel* in the database). */
  channel: ChannelSettings;
  /** Every member, online or not. */
  members: Map<string, RoomMember>;
}

export function onlineIds(room: LiveRoom): string[] {
  const ids: string[] = [];
  for (const m of room.members.values()) if (m.sockets.size > 0) ids.push(m.userId);
  return ids;
}

export function onlineSocketCount(room: LiveRoom): number {
  let n = 0;
  for (const m of room.members.values()) n += m.sockets.size;
  return n;
}

/** The epoch's leader: who keyed it, else the online member with the smallest user id. */
export function epochLeader(room: LiveRoom): string | null {
  return room.keyedBy ?? leaderOf(onlineIds(room));
}

export interface PresenceHooks {
  /** Whether a socket id is a connection of this node. */
  isLocal(socketId: string): boolean;
  /** This node's connections another node took out of a room (its member left or was removed). */
  evicted(roomId: string, socketIds: string[]): void;
}

export class Presence {
  readonly rooms = new Map<string, LiveRoom>();
  private locks = new Map<string, Promise<unknown>>();
  /** Snapshot revision of each room this node holds a copy of (several nodes). */
  private readonly revs = new Map<string, number>();
  /** Node of each remote connection in a room (several nodes). */
  private readonly nodeOf = new Map<string, string>();
  hooks: PresenceHooks = { isLocal: () => true, evicted: () => {} };

  constructor(readonly shared: SharedState = new MemoryState()) {
    shared.onRoomSync(({ roomId, rev, room }) => {
      // Only rooms this node holds a copy of; a stale message (older than a load) is ignored.
      if (!this.rooms.has(roomId) || rev <= (this.revs.get(roomId) ?? 0)) return;
      this.apply(roomId, rev, room);
    });
  }

  /** Serializes joins, leaves, disconnects and expiry of one room (capacity, epoch and leader stay consistent), on every node. */
  async withRoom<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(roomId) ?? Promise.resolve();
    const body = () =>
      this.shared.withRoomLock(roomId, async (lock) => {
        const loaded = await lock.load();
        if (loaded === undefined) return fn(); // one process: this copy is the truth
        // No snapshot and no revision counter (kept after a room empties), while this node holds a
        // copy: Redis lost its memory (a restart). This node's copy, current until then, is the best
        // there is: it is kept and stored below, so members on other nodes stay in the room.
        const lost = loaded.room === null && loaded.rev === 0 && this.rooms.has(roomId);
        if (!lost) this.apply(roomId, loaded.rev, loaded.room);
        const before = lost ? "lost" : JSON.stringify(loaded.room);
        try {
          return await fn();
        } finally {
          const after = this.snapshot(roomId);
          if (JSON.stringify(after) !== before) await lock.save(after);
        }
      });
    const run = prev.then(body, body);
    const tail = run.catch(() => {});
    this.locks.set(roomId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(roomId) === tail) this.locks.delete(roomId);
    }
  }

  /** The node a connection of a room is on (this node's when it is local or unknown). */
  nodeOfSocket(socketId: string): string {
    return this.hooks.isLocal(socketId) ? this.shared.nodeId : (this.nodeOf.get(socketId) ?? this.shared.nodeId);
  }

  /** This node's copy of a room as the snapshot every node shares (null: not held, nobody connected). */
  snapshot(roomId: string): RoomSnapshot | null {
    const room = this.rooms.get(roomId);
    if (!room) return null;
    return {
      id: room.id,
      epoch: room.epoch,
      capacity: room.capacity,
      createdBy: room.createdBy,
      historyDays: room.historyDays,
      keyedBy: room.keyedBy,
      channel: { ...room.channel },
      members: [...room.members.values()].map((m) => ({
        userId: m.userId,
        displayName: m.displayName,
        signingKey: m.signingKey,
        agreementKey: m.agreementKey,
        agreementSig: m.agreementSig,
        joinedAt: m.joinedAt.getTime(),
        lastSeenAt: m.lastSeenAt.getTime(),
        visibleFrom: m.visibleFrom,
        sockets: [...m.sockets].map((sid): [string, string] => [sid, this.nodeOfSocket(sid)]),
      })),
    };
  }

  /** Replaces this node's copy of a room with a shared snapshot (in place: handlers may hold the LiveRoom). */
  private apply(roomId: string, rev: number, snap: RoomSnapshot | null) {
    this.revs.set(roomId, rev);
    const old = this.rooms.get(roomId);
    const before = new Set<string>();
    if (old) for (const m of old.members.values()) for (const sid of m.sockets) if (this.hooks.isLocal(sid)) before.add(sid);
    if (!snap) {
      this.rooms.delete(roomId);
      this.revs.delete(roomId);
    } else {
      const members = new Map<string, RoomMember>();
      for (const m of snap.members) {
        for (const [sid, node] of m.sockets) {
          before.delete(sid);
          if (node !== this.shared.nodeId) this.nodeOf.set(sid, node);
        }
        members.set(m.userId, {
          userId: m.userId,
          displayName: m.displayName,
          signingKey: m.signingKey,
          agreementKey: m.agreementKey,
          agreementSig: m.agreementSig,
          joinedAt: new Date(m.joinedAt),
          lastSeenAt: new Date(m.lastSeenAt),
          visibleFrom: m.visibleFrom,
          sockets: new Set(m.sockets.map(([sid]) => sid)),
        });
      }
      const room: LiveRoom = old ?? ({ id: roomId } as LiveRoom);
      room.epoch = snap.epoch;
      room.capacity = snap.capacity;
      room.createdBy = snap.createdBy;
      room.historyDays = snap.historyDays;
      room.keyedBy = snap.keyedBy;
      room.channel = { ...snap.channel };
      room.members = members;
      this.rooms.set(roomId, room);
    }
    if (before.size > 0) this.hooks.evicted(roomId, [...before]);
  }

  /** Forgets where remote connections were (their node is gone or they closed). */
  forgetSockets(socketIds: Iterable<string>) {
    for (const sid of socketIds) this.nodeOf.delete(sid);
  }

  member(roomId: string, userId: string): RoomMember | undefined {
    return this.rooms.get(roomId)?.members.get(userId);
  }

  isMember(roomId: string, userId: string, socketId: string): boolean {
    return this.rooms.get(roomId)?.members.get(userId)?.sockets.has(socketId) ?? false;
  }

  /** The live room, if this connection joined it as a member; NOT_A_MEMBER otherwise. */
  requireMember(socket: QsecSocket, roomId: string): LiveRoom {
    const room = this.rooms.get(roomId);
    const userId = socket.data.userId;
    if (!room || !userId || !room.members.get(userId)?.sockets.has(socket.id)) refuse("NOT_A_MEMBER", "you are not in this room");
    return room;
  }

  state(room: LiveRoom): RoomState {
    const now = new Date().toISOString();
    const members: MemberInfo[] = [...room.members.values()].map((m) => ({
      userId: m.userId,
      displayName: m.displayName,
      signingKey: m.signingKey,
      agreementKey: m.agreementKey,
      agreementSig: m.agreementSig,
      online: m.sockets.size > 0,
      joinedAt: m.joinedAt.toISOString(),
      lastSeenAt: m.sockets.size > 0 ? now : m.lastSeenAt.toISOString(),
    }));
    return {
      roomId: room.id,
      epoch: room.epoch,
      leaderId: epochLeader(room),
      capacity: room.capacity,
      channel: { ...room.channel },
      members,
      createdBy: room.createdBy,
      historyDays: room.historyDays,
    };
  }
}
