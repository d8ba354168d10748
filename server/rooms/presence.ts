/**
 * Who is in which room right now. Kept in memory by the one server process (the database keeps
 * memberships for the record, but presence is what membership checks on the hot path read).
 * requireMember() is the one membership check every feature's handlers start with.
 */
import { leaderOf, type ChannelSettings, type MemberInfo, type RoomState } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";

export interface PresentMember {
  userId: string;
  displayName: string;
  socketId: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
  joinedAt: Date;
}

export interface LiveRoom {
  id: string;
  epoch: number;
  capacity: number | null;
  /** Simulation channel settings (mirrors Room.channel* in the database). */
  channel: ChannelSettings;
  members: Map<string, PresentMember>;
}

export class Presence {
  readonly rooms = new Map<string, LiveRoom>();
  private locks = new Map<string, Promise<unknown>>();

  /** Serializes joins and leaves of one room (capacity, epoch and leader stay consistent). */
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

  member(roomId: string, userId: string): PresentMember | undefined {
    return this.rooms.get(roomId)?.members.get(userId);
  }

  isMember(roomId: string, userId: string, socketId: string): boolean {
    return this.rooms.get(roomId)?.members.get(userId)?.socketId === socketId;
  }

  /** The live room, if this socket is a present member of it; NOT_A_MEMBER otherwise. */
  requireMember(socket: QsecSocket, roomId: string): LiveRoom {
    const room = this.rooms.get(roomId);
    const userId = socket.data.userId;
    if (!room || !userId || room.members.get(userId)?.socketId !== socket.id) refuse("NOT_A_MEMBER", "you are not in this room");
    return room;
  }

  state(room: LiveRoom): RoomState {
    const members: MemberInfo[] = [...room.members.values()].map((m) => ({
      userId: m.userId,
      displayName: m.displayName,
      signingKey: m.signingKey,
      agreementKey: m.agreementKey,
      agreementSig: m.agreementSig,
      online: true,
      joinedAt: m.joinedAt.toISOString(),
      lastSeenAt: new Date().toISOString(),
    }));
    return {
      roomId: room.id,
      epoch: room.epoch,
      leaderId: leaderOf([...room.members.keys()]),
      capacity: room.capacity,
      channel: { ...room.channel },
      members,
      createdBy: null,
      historyDays: null,
    };
  }
}
