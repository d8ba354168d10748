/**
 * Who is in which room, kept in memory for rooms with at least one connection in them (the
 * database keeps memberships, periods and epochs; a room with nobody connected lives there only).
 * A member stays a member while offline: `sockets` is empty then. requireMember() is the one
 * membership check every feature's handlers start with: this connection must have joined the room.
 */
import { leaderOf, type ChannelSettings, type MemberInfo, type RoomState } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";

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

export class Presence {
  readonly rooms = new Map<string, LiveRoom>();
  private locks = new Map<string, Promise<unknown>>();

  /** Serializes joins, leaves, disconnects and expiry of one room (capacity, epoch and leader stay consistent). */
  async withRoom<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(roomId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(roomId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(roomId) === tail) this.locks.delete(roomId);
    }
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
