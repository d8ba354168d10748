"use client";
/**
 * The one zustand store of the chat UI. It owns this tab's ChatClient (one per tab: one identity,
 * one socket) and mirrors the client's state snapshot on every "change"; components subscribe to
 * the slices they render with selectors and call the actions below. No component talks to the
 * socket directly.
 */
import { create } from "zustand";
import { ChatClient, type ChatState, type RoomView } from "@/lib/client/chat-client";
import { DEFAULT_BB84_QUBITS, type Bb84LiveView } from "@/lib/client/bb84-types";
import { workerEngineFactory } from "@/lib/client/qkd-worker-engine";
import { webStorage } from "@/lib/client/storage";
import type { ChannelSettings } from "@/lib/protocol";
import { DEFAULT_CASCADE_VARIANT, type CascadeVariant } from "@/lib/qkd/cascade";
import { loadOrCreateIdentity } from "@/lib/crypto";
import { toUiError, type UiError } from "./errors";

export type Phase = "idle" | "starting" | "joining" | "joined" | "left" | "failed";

export interface JoinRequest {
  roomId?: string;
  displayName: string;
  capacity?: number;
}

/** The session settings the BB84 controls start with (shared by the member buttons and "with each"). */
export interface Bb84Choice {
  qubits: number;
  cascadeVariant: CascadeVariant;
}

export interface ChatStore {
  phase: Phase;
  error: UiError | null;
  /** The room this tab shows (known after the join answers when the server picked the id). */
  roomId: string | null;
  displayName: string | null;
  snapshot: ChatState | null;
  /** The last view of the room this tab left, kept so the page does not go blank after leaving. */
  frozenRoom: RoomView | null;
  /** userId → last display name seen, so log rows can name members who already left. */
  names: Record<string, string>;
  /** The latest background failure reported by the client (shown as a dismissable banner). */
  alert: UiError | null;

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

  enter(req: JoinRequest): Promise<string | null>;
  leave(): Promise<void>;
  send(text: string, to?: string): Promise<void>;
  markVerified(peerId: string, verified: boolean): void;
  safetyNumber(peerId: string): Promise<string>;
  clearError(): void;
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

let client: ChatClient | null = null;
let clientReady: Promise<ChatClient> | null = null;
let inflight: { key: string; promise: Promise<string | null> } | null = null;

export const useChatStore = create<ChatStore>()((set, get) => {
  function syncFromClient() {
    if (!client) return;
    const snapshot = client.state;
    let names = get().names;
    let copied = false;
    const learn = (userId: string, name: string, overwrite: boolean) => {
      if (names[userId] === name || (!overwrite && names[userId] !== undefined)) return;
      if (!copied) {
        names = { ...names };
        copied = true;
      }
      names[userId] = name;
    };
    for (const room of Object.values(snapshot.rooms)) {
      for (const m of room.members) learn(m.userId, m.displayName, true);
      // Members who left before this tab joined are named by their join log rows.
      for (const l of room.logs) {
        if (l.type === "MEMBER_JOINED" && l.actorId && typeof l.meta.displayName === "string") learn(l.actorId, l.meta.displayName, false);
      }
    }
    set({ snapshot, names });
  }

  let syncPending = false;
  function scheduleSync() {
    if (syncPending) return;
    syncPending = true;
    const run = () => {
      if (!syncPending) return;
      syncPending = false;
      syncFromClient();
    };
    // Whichever comes first: the next frame, or a timer for tabs that get no frames (hidden).
    if (typeof requestAnimationFrame === "function") requestAnimationFrame(run);
    setTimeout(run, 100);
  }

  async function ensureClient(): Promise<ChatClient> {
    if (client) return client;
    clientReady ??= (async () => {
      let identity;
      try {
        identity = await loadOrCreateIdentity();
      } catch (e) {
        clientReady = null;
        throw Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: "IDENTITY" });
      }
      // BB84 parties run in Web Workers, so a session of a million qubits never blocks the page.
      const c = new ChatClient({ url: window.location.origin, identity, storage: webStorage(window.localStorage), qkdEngine: workerEngineFactory });
      // A BB84 session changes the state on every frame; one render per animation frame is enough.
      c.on("change", scheduleSync);
      // Failures outside a command the UI awaits (re-join after a reconnect, a replaced session).
      c.on("error", (e) => set({ alert: toUiError(e) }));
      client = c;
      syncFromClient();
      await c.connect();
      syncFromClient();
      return c;
    })();
    return clientReady;
  }

  return {
    phase: "idle",
    error: null,
    roomId: null,
    displayName: null,
    snapshot: null,
    frozenRoom: null,
    names: {},
    alert: null,
    bb84Choice: { qubits: DEFAULT_BB84_QUBITS, cascadeVariant: DEFAULT_CASCADE_VARIANT },
    bb84Starting: 0,
    bb84Error: null,
    dismissedAlarms: {},
    simulationOpen: false,

    enter(req) {
      const key = `${req.roomId ?? ""}|${req.displayName}|${req.capacity ?? ""}`;
      const s = get();
      // React's strict mode runs effects twice; the same request must not join twice.
      if (inflight?.key === key) return inflight.promise;
      if (s.phase === "joined" && req.roomId && s.roomId === req.roomId) return Promise.resolve(req.roomId);
      const promise = (async () => {
        set({ phase: "starting", error: null, roomId: req.roomId ?? null, displayName: req.displayName, frozenRoom: null });
        try {
          const c = await ensureClient();
          // One room shown per tab: leave the previous one before joining another.
          const prev = get().roomId;
          if (s.phase === "joined" && s.roomId && s.roomId !== req.roomId && prev !== req.roomId) {
            await c.leave(s.roomId).catch(() => undefined);
          }
          set({ phase: "joining" });
          const res = await c.join(req.roomId, req.displayName, req.capacity);
          set({ phase: "joined", roomId: res.roomId });
          syncFromClient();
          // The room's earlier BB84 sessions, for the dashboard's chart (best effort).
          void c.loadBb84Sessions(res.roomId).then(syncFromClient, () => undefined);
          return res.roomId;
        } catch (e) {
          set({ phase: "failed", error: toUiError(e) });
          return null;
        } finally {
          inflight = null;
        }
      })();
      inflight = { key, promise };
      return promise;
    },

    async leave() {
      const { roomId, snapshot } = get();
      if (!client || !roomId) return;
      const last = snapshot?.rooms[roomId] ?? null;
      try {
        await client.leave(roomId);
      } catch (e) {
        set({ alert: toUiError(e) });
        return;
      }
      set({ phase: "left", frozenRoom: last });
      syncFromClient();
    },

    async send(text, to) {
      const { roomId } = get();
      if (!client || !roomId) throw Object.assign(new Error("not in a room"), { code: "NOT_JOINED" });
      await client.send(roomId, text, to);
    },

    markVerified(peerId, verified) {
      client?.markVerified(peerId, verified);
      syncFromClient();
    },

    async safetyNumber(peerId) {
      if (!client) throw new Error("not connected");
      return await client.safetyNumberWith(peerId);
    },

    clearError() {
      set({ error: null, alert: null });
    },

    setBb84Choice(choice) {
      set({ bb84Choice: { ...get().bb84Choice, ...choice } });
    },

    async startBb84(peerId) {
      return runBb84((c, roomId, opts) => c.startBb84(roomId, peerId, opts));
    },

    async startBb84WithEach() {
      return runBb84((c, roomId, opts) => c.startBb84WithEach(roomId, opts));
    },

    async cancelBb84(sessionId) {
      if (!client) return;
      try {
        await client.cancelBb84(sessionId);
      } catch (e) {
        set({ bb84Error: toUiError(e) });
      }
    },

    async setChannel(channel) {
      const { roomId } = get();
      if (!client || !roomId) throw Object.assign(new Error("not in a room"), { code: "NOT_JOINED" });
      await client.setChannel(roomId, channel);
      syncFromClient();
    },

    dismissAlarm(sessionId) {
      set({ dismissedAlarms: { ...get().dismissedAlarms, [sessionId]: true } });
    },

    clearBb84Error() {
      set({ bb84Error: null });
    },

    setSimulationOpen(open) {
      set({ simulationOpen: open });
    },
  };

  /**
   * Starts a session (or a series) with the current choice. The promise lasts as long as the
   * session runs; bb84Starting covers the gap until the client lists it as live.
   */
  async function runBb84<T>(go: (c: ChatClient, roomId: string, opts: Bb84Choice) => Promise<T>): Promise<T | null> {
    const { roomId, bb84Choice } = get();
    if (!client || !roomId) {
      set({ bb84Error: toUiError(Object.assign(new Error("not in a room"), { code: "NOT_JOINED" })) });
      return null;
    }
    set({ bb84Error: null, bb84Starting: get().bb84Starting + 1 });
    const c = client;
    let counted = true;
    const settle = () => {
      if (!counted) return;
      counted = false;
      set({ bb84Starting: Math.max(0, get().bb84Starting - 1) });
    };
    // The "starting…" state ends when a new live session shows up (or the request fails).
    const lastLive = () => c.state.rooms[roomId]?.bb84.live.at(-1)?.sessionId ?? null;
    const before = lastLive();
    const off = c.on("change", () => {
      if (lastLive() !== before) {
        settle();
        off();
      }
    });
    try {
      return await go(c, roomId, bb84Choice);
    } catch (e) {
      set({ bb84Error: toUiError(e) });
      return null;
    } finally {
      off();
      settle();
      syncFromClient();
    }
  }
});

/** The room this tab shows: live while joined, the last snapshot after leaving. */
export function useCurrentRoom(): RoomView | null {
  return useChatStore((s) => (s.roomId ? (s.snapshot?.rooms[s.roomId] ?? (s.phase === "left" ? s.frozenRoom : null)) : null));
}

export function useConnection(): ChatState["connection"] | "idle" {
  return useChatStore((s) => s.snapshot?.connection ?? "idle");
}

// Tests (and curious developers) can read the store from the console in development builds.
if (typeof window !== "undefined" && process.env.NODE_ENV !== "production") {
  const w = window as unknown as { __qsecStore?: typeof useChatStore; __qsecClient?: () => ChatClient | null; __qsecQkdWorker?: typeof workerEngineFactory };
  w.__qsecStore = useChatStore;
  w.__qsecClient = () => client;
  // Lets a browser test run two worker engines against each other without the relay.
  w.__qsecQkdWorker = workerEngineFactory;
}
