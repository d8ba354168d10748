/**
 * The client's public state: an immutable snapshot (`ClientState`) replaced on every change and
 * announced through `changed`, so React/zustand selectors can compare by reference. Everything that
 * edits a RoomView goes through here; secrets never do (they live in the room records of roster.ts
 * and in pair-keys.ts).
 */
import type { LogEntry } from "@/lib/protocol";
import type { ClientErrorCode } from "../errors";
import type { ChatMessage, ClientState, ConnectionState, RoomView } from "../types";

/** Messages kept per room view: a room's stored history (10,000 in the benchmark) plus live ones. */
const MAX_MESSAGES = 20_000;
const MAX_LOGS = 1000;
const MAX_WARNINGS = 20;

/** Records an integrity or failure warning (in the room's view when roomId is given, and as an event). */
export type WarnFn = (roomId: string | undefined, code: ClientErrorCode, message: string) => void;

export interface StateHooks {
  /** A new snapshot (the client's "change" event). */
  changed(state: ClientState): void;
  /** The connection state changed: waits on it may now hold. */
  connectionChanged(): void;
}

export class ClientStateStore {
  private _state: ClientState;

  constructor(
    userId: string,
    private readonly hooks: StateHooks,
  ) {
    this._state = { connection: "offline", userId, rooms: {} };
  }

  get state(): ClientState {
    return this._state;
  }

  get connection(): ConnectionState {
    return this._state.connection;
  }

  get rooms(): Readonly<Record<string, RoomView>> {
    return this._state.rooms;
  }

  view(roomId: string): RoomView | undefined {
    return this._state.rooms[roomId];
  }

  setConnection(connection: ConnectionState): void {
    if (this._state.connection === connection) return;
    this._state = { ...this._state, connection };
    this.hooks.changed(this._state);
    this.hooks.connectionChanged();
  }

  setRooms(rooms: Record<string, RoomView>): void {
    this._state = { ...this._state, rooms };
    this.hooks.changed(this._state);
  }

  patchRoom(roomId: string, fn: (v: RoomView) => RoomView): void {
    const v = this._state.rooms[roomId];
    if (!v) return;
    this.setRooms({ ...this._state.rooms, [roomId]: fn(v) });
  }

  /** The view of a room just joined: no members, no key yet. */
  addRoom(roomId: string, displayName: string): void {
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
      createdBy: null,
      historyDays: null,
      history: { visibleFrom: null, nextBefore: undefined, loading: false, error: null },
    };
    this.setRooms({ ...this._state.rooms, [roomId]: view });
  }

  removeRoom(roomId: string): void {
    const rooms = { ...this._state.rooms };
    delete rooms[roomId];
    this.setRooms(rooms);
  }

  /** Disconnected: every room shows us absent and waiting for a key until the re-join re-keys it. */
  markAllAbsent(): void {
    const rooms: Record<string, RoomView> = {};
    for (const [id, v] of Object.entries(this._state.rooms)) rooms[id] = { ...v, present: false, waitingForKey: true };
    this.setRooms(rooms);
  }

  /** Adds a message, or replaces the one with the same id (a waiting message that resolved). */
  addMessage(roomId: string, msg: ChatMessage): void {
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

  /**
   * Puts a page of stored history (oldest first) before what the room shows: each page is older
   * than the ones before it and than live messages, except for messages already shown (same id),
   * which are skipped.
   */
  addHistory(roomId: string, page: ChatMessage[]): void {
    if (!page.length) return;
    this.patchRoom(roomId, (v) => {
      const shown = new Set(v.messages.map((m) => m.id));
      const older = page.filter((m) => !shown.has(m.id));
      if (!older.length) return v;
      let messages = [...older, ...v.messages];
      if (messages.length > MAX_MESSAGES) messages = messages.slice(messages.length - MAX_MESSAGES);
      return { ...v, messages };
    });
  }

  patchHistory(roomId: string, patch: Partial<RoomView["history"]>): void {
    this.patchRoom(roomId, (v) => ({ ...v, history: { ...v.history, ...patch } }));
  }

  /** Merges log rows by id (fetched pages and live pushes overlap), oldest first, bounded. */
  mergeLogs(roomId: string, entries: LogEntry[]): void {
    if (!entries.length) return;
    this.patchRoom(roomId, (v) => {
      const byId = new Map(v.logs.map((l) => [l.id, l]));
      for (const e of entries) if (e.roomId === roomId) byId.set(e.id, e);
      let logs = [...byId.values()].sort((a, b) => a.id - b.id);
      if (logs.length > MAX_LOGS) logs = logs.slice(logs.length - MAX_LOGS);
      return { ...v, logs };
    });
  }

  addWarning(roomId: string, message: string): void {
    this.patchRoom(roomId, (v) => ({ ...v, warnings: [...v.warnings, message].slice(-MAX_WARNINGS) }));
  }
}
