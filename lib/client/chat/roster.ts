/**
 * Roster and epochs: the rooms this client is in, and for each our own record of its recent epochs,
 * who leads each one and who was a member. The leader is the member the server names (the one who
 * keyed the epoch, or the online member with the smallest id while nobody has: epochLeaderOf); a
 * claim naming a non-member is refused in favour of our own leaderOf over the online members. Messages and key shares are judged against these lists: a room message must come from
 * a member of its epoch, a room key share from that epoch's leader.
 *
 * A RoomRecord also carries the room's secrets (epoch keys, shares and messages waiting for their
 * epoch), which room-keys.ts and message-inbox.ts maintain; none of it enters the public state.
 */
import { leaderOf, type MemberInfo, type MessageReceived, type RoomkeyShared, type RoomState } from "@/lib/protocol";
import { ClientError } from "../errors";
import type { MemberView } from "../types";
import type { ClientStateStore, WarnFn } from "./client-state";
import { capRoomMembers } from "./member-cap";
import { ConfusableNameWarnings } from "./name-warnings";

/** Keys of this many most recent epochs are kept, so messages in flight across a re-key still decrypt. */
export const KEEP_EPOCHS = 4;

export interface EpochInfo {
  leaderId: string | null;
  members: Map<string, MemberInfo>;
}

/** Per-room secrets and bookkeeping that never enter the public state. */
export interface RoomRecord {
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
  /** The room's creator (may remove members) and history setting (null: ephemeral). */
  createdBy: string | null;
  historyDays: number | null;
}

/** A RoomState recorded as a new epoch: what the room key step needs next. */
export interface AppliedEpoch {
  room: RoomRecord;
  epoch: number;
  leaderId: string | null;
  members: MemberView[];
}

export interface RosterDeps {
  userId: string;
  store: Pick<ClientStateStore, "addRoom" | "removeRoom" | "patchRoom">;
  /** The member list as shown (trust flags, QKD state; member-trust.ts). */
  memberViews(roomId: string, members: MemberInfo[], leaderId: string | null): Promise<MemberView[]>;
  warn: WarnFn;
}

export class Roster {
  private rooms = new Map<string, RoomRecord>();
  /** Rooms we left: a late room:updated for them must not bring them back. */
  private left = new Set<string>();
  private readonly nameWarnings = new ConfusableNameWarnings();

  constructor(private readonly deps: RosterDeps) {}

  get size(): number {
    return this.rooms.size;
  }

  get(roomId: string): RoomRecord | undefined {
    return this.rooms.get(roomId);
  }

  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  all(): RoomRecord[] {
    return [...this.rooms.values()];
  }

  /** False once the room was left or forgotten (a record held across an await may be stale). */
  isCurrent(room: RoomRecord): boolean {
    return this.rooms.get(room.roomId) === room;
  }

  /** A leave is in progress (or done): updates for the room are ignored, re-joins skip it. */
  markLeft(roomId: string): void {
    this.left.add(roomId);
  }

  unmarkLeft(roomId: string): void {
    this.left.delete(roomId);
  }

  isLeft(roomId: string): boolean {
    return this.left.has(roomId);
  }

  ensure(roomId: string, displayName: string): RoomRecord {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = {
        roomId,
        displayName,
        appliedEpoch: -1,
        epochs: new Map(),
        keys: new Map(),
        pendingShares: [],
        waiting: new Map(),
        createdBy: null,
        historyDays: null,
      };
      this.rooms.set(roomId, room);
      this.deps.store.addRoom(roomId, displayName);
    }
    return room;
  }

  forget(roomId: string): void {
    if (!this.rooms.has(roomId)) return;
    this.rooms.delete(roomId);
    this.deps.store.removeRoom(roomId);
  }

  /** Whether a room:updated concerns us: a room we are in, or one whose member list names us. */
  admitUpdate(state: RoomState): boolean {
    if (this.left.has(state.roomId)) return false;
    if (!this.rooms.has(state.roomId)) {
      const name = memberName(state.members, this.deps.userId);
      if (name === undefined) return false; // not about us
      this.ensure(state.roomId, name);
    }
    return true;
  }

  /**
   * Records a RoomState and shows it. Runs on the serial queue. A new epoch is returned for the room
   * key step; an update of the epoch already applied (a member came online or went offline) only
   * refreshes the view, and is returned only when the epoch's leader changed (the one named before
   * went offline before sharing), so a new leader can key it. Older epochs: null.
   */
  async apply(state: RoomState, joined = false): Promise<AppliedEpoch | null> {
    const room = this.rooms.get(state.roomId);
    if (!room || state.epoch < room.appliedEpoch) return null;
    const capped = capRoomMembers(state, this.deps.userId);
    if (capped.dropped > 0) this.deps.warn(state.roomId, "TOO_MANY_MEMBERS", capped.warning);
    state = capped.state;
    const sameEpoch = state.epoch === room.appliedEpoch;
    if (!sameEpoch) for (const w of this.nameWarnings.check(state.roomId, state.members)) this.deps.warn(state.roomId, "CONFUSABLE_NAMES", w);
    room.appliedEpoch = state.epoch;
    const leaderId = epochLeaderOf(state);
    if (leaderId !== state.leaderId) {
      this.deps.warn(
        state.roomId,
        "LEADER_MISMATCH",
        `the server named ${shortId(state.leaderId)} leader of epoch ${state.epoch}, who is not a member; trusting our own computation (${shortId(leaderId)})`,
      );
    }
    const previousLeader = room.epochs.get(state.epoch)?.leaderId;
    room.epochs.set(state.epoch, { leaderId, members: new Map(state.members.map((m) => [m.userId, m])) });
    for (const e of [...room.epochs.keys()]) if (e <= state.epoch - KEEP_EPOCHS * 2) room.epochs.delete(e);
    const me = state.members.find((m) => m.userId === this.deps.userId);
    if (me) room.displayName = me.displayName;
    room.createdBy = state.createdBy ?? null;
    room.historyDays = state.historyDays ?? null;

    const members = await this.deps.memberViews(state.roomId, state.members, leaderId);
    this.deps.store.patchRoom(state.roomId, (v) => ({
      ...v,
      epoch: state.epoch,
      leaderId,
      capacity: state.capacity,
      displayName: room.displayName,
      // Present only by a join's answer: a room:updated (one replayed by connection-state recovery,
      // or broadcast while our re-join is on its way) must not let sends out before the server has
      // us in the room again.
      present: joined || v.present,
      members,
      waitingForKey: !room.keys.has(state.epoch),
      channel: { ...state.channel },
      createdBy: state.createdBy ?? null,
      historyDays: state.historyDays ?? null,
    }));
    if (sameEpoch && previousLeader === leaderId) return null;
    return { room, epoch: state.epoch, leaderId, members };
  }

  /** A member as of an epoch (falls back to the current list, then any recent epoch). */
  memberAt(room: RoomRecord, userId: string, epoch: number | undefined): MemberInfo | undefined {
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

  /** A member of the room's current epoch. */
  currentMember(roomId: string, userId: string): MemberInfo | undefined {
    const room = this.rooms.get(roomId);
    return room?.epochs.get(room.appliedEpoch)?.members.get(userId);
  }

  /** A peer in any room we are in. */
  findPeer(peerId: string): MemberInfo | undefined {
    for (const room of this.rooms.values()) {
      const m = this.memberAt(room, peerId, undefined);
      if (m) return m;
    }
    return undefined;
  }

  /** A peer in any room we are in, or UNKNOWN_PEER. */
  requirePeer(peerId: string): MemberInfo {
    const peer = this.findPeer(peerId);
    if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in any room you are in");
    return peer;
  }

  nameOf(room: RoomRecord, userId: string): string {
    if (userId === this.deps.userId) return room.displayName;
    for (const e of [...room.epochs.keys()].sort((a, b) => b - a)) {
      const m = room.epochs.get(e)!.members.get(userId);
      if (m) return m.displayName;
    }
    return `unknown (${shortId(userId)})`;
  }
}

/** The epoch's leader: the member the server names, or (naming a non-member) leaderOf the online members. */
export function epochLeaderOf(state: RoomState): string | null {
  if (state.leaderId !== null && state.members.some((m) => m.userId === state.leaderId)) return state.leaderId;
  return leaderOf(state.members.filter((m) => m.online).map((m) => m.userId));
}

export function memberName(members: MemberInfo[], userId: string): string | undefined {
  return members.find((m) => m.userId === userId)?.displayName;
}

function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : "nobody";
}
