/**
 * The shape of the chat UI's store: three slices combined into one zustand store (zustand's slices
 * pattern). Every slice's interface lives here, not in its own file, so a slice can type `get()` as
 * the whole store without the slice files importing each other.
 */
import type { StateCreator } from "zustand";
import type { ChatClient, ChatState, RoomView } from "@/lib/client";
import type { Bb84LiveView } from "@/lib/client/bb84-types";
import type { AttachmentRef } from "@/lib/crypto";
import type { ChannelSettings, HistoryMode } from "@/lib/protocol";
import type { CascadeVariant } from "@/lib/qkd/cascade";
import type { UiError } from "../errors";

export type Phase = "idle" | "starting" | "joining" | "joined" | "left" | "failed";

export interface JoinRequest {
  roomId?: string;
  displayName: string;
  capacity?: number;
  /** For a new room: keep its encrypted history N days, or "ephemeral". */
  history?: HistoryMode;
}

/** The session settings the BB84 controls start with (shared by the member buttons and "with each"). */
export interface Bb84Choice {
  qubits: number;
  cascadeVariant: CascadeVariant;
}

/** This store's ChatClient and the mirror of its state that components render. */
export interface ConnectionSlice {
  /** The client, once made: one per store (one identity, one socket). Set before it has connected. */
  client: ChatClient | null;
  snapshot: ChatState | null;
  /** userId → last display name seen, so log rows can name members who already left. */
  names: Record<string, string>;
  /** The latest background failure reported by the client (shown as a dismissable banner). */
  alert: UiError | null;

  /** Makes and connects the client on first use; every later call (StrictMode's second run too) gets the same one. */
  ensureClient(): Promise<ChatClient>;
  /** Copies the client's state into the store now (after a change an action awaited). */
  syncFromClient(): void;
}

/** The one room this tab shows, and the chat actions in it. */
export interface RoomSlice {
  phase: Phase;
  error: UiError | null;
  /** The room this tab shows (known after the join answers when the server picked the id). */
  roomId: string | null;
  displayName: string | null;
  /** The last view of the room this tab left, kept so the page does not go blank after leaving. */
  frozenRoom: RoomView | null;

  enter(req: JoinRequest): Promise<string | null>;
  leave(): Promise<void>;
  /** Sends a message (optionally announcing an uploaded attachment: its AttachmentRef rides inside the encrypted message). */
  send(text: string, to?: string, attachment?: AttachmentRef): Promise<void>;
  markVerified(peerId: string, verified: boolean): void;
  safetyNumber(peerId: string): Promise<string>;
  /** Loads the next older page of the room's stored history (the newest on the first call). */
  loadOlder(): Promise<number>;
  /** Loads all of the room's older stored history at once (large pages, pipelined). */
  loadAllOlder(): Promise<number>;
  /** The room's creator removes a member. */
  removeMember(userId: string): Promise<void>;
  clearError(): void;
}

/** The BB84 panel's settings and requests, and the simulation channel. */
export interface Bb84Slice {
  /** Qubits and Cascade variant for the next BB84 session started from this tab. */
  bb84Choice: Bb84Choice;
  /** bb84:start requests sent whose session has not shown up in RoomView.bb84.live yet. */
  bb84Starting: number;
  /** The last BB84 command the server or client refused (start, cancel). */
  bb84Error: UiError | null;
  /** Alarms (by session id) the user dismissed from the banner; the dashboard still lists them. */
  dismissedAlarms: Record<string, true>;
  /** The "Simulation controls" drawer is open. */
  simulationOpen: boolean;

  setBb84Choice(choice: Partial<Bb84Choice>): void;
  /** Runs BB84 with one member (we are Alice); resolves when it ends, null if it could not start. */
  startBb84(peerId: string): Promise<Bb84LiveView | null>;
  /** Runs BB84 with every other present member in turn. */
  startBb84WithEach(): Promise<Bb84LiveView[] | null>;
  cancelBb84(sessionId: string): Promise<void>;
  /** Saves the room's simulation channel settings on the server; throws a UiError-shaped error. */
  setChannel(channel: ChannelSettings): Promise<void>;
  dismissAlarm(sessionId: string): void;
  clearBb84Error(): void;
  setSimulationOpen(open: boolean): void;
}

export type ChatStore = ConnectionSlice & RoomSlice & Bb84Slice;

/** A slice's creator: sees the whole store through set/get, returns its own part. */
export type ChatSlice<T> = StateCreator<ChatStore, [], [], T>;

/** What a store needs from outside: how to make its client (the browser's, or a test's). */
export interface ChatStoreDeps {
  /** Makes an unconnected client; the store subscribes to it and connects it. A rejection lets the next call try again. */
  createClient(): Promise<ChatClient>;
}
