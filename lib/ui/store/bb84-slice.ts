/**
 * The BB84 slice: the panel's session settings, starting and cancelling sessions through this
 * store's client, the alarms the user dismissed, and the simulation channel drawer.
 */
import type { ChatClient } from "@/lib/client";
import { DEFAULT_BB84_QUBITS } from "@/lib/client/bb84-types";
import { DEFAULT_CASCADE_VARIANT } from "@/lib/qkd/cascade";
import { toUiError } from "../errors";
import type { Bb84Choice, Bb84Slice, ChatSlice } from "./types";

export const createBb84Slice: ChatSlice<Bb84Slice> = (set, get) => {
  /**
   * Starts a session (or a series) with the current choice. The promise lasts as long as the
   * session runs; bb84Starting covers the gap until the client lists it as live.
   */
  async function runBb84<T>(go: (c: ChatClient, roomId: string, opts: Bb84Choice) => Promise<T>): Promise<T | null> {
    const { client: c, roomId, bb84Choice } = get();
    if (!c || !roomId) {
      set({ bb84Error: toUiError(Object.assign(new Error("not in a room"), { code: "NOT_JOINED" })) });
      return null;
    }
    set({ bb84Error: null, bb84Starting: get().bb84Starting + 1 });
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
      get().syncFromClient();
    }
  }

  return {
    bb84Choice: { qubits: DEFAULT_BB84_QUBITS, cascadeVariant: DEFAULT_CASCADE_VARIANT },
    bb84Starting: 0,
    bb84Error: null,
    dismissedAlarms: {},
    simulationOpen: false,

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
      const { client } = get();
      if (!client) return;
      try {
        await client.cancelBb84(sessionId);
      } catch (e) {
        set({ bb84Error: toUiError(e) });
      }
    },

    async setChannel(channel) {
      const { client, roomId } = get();
      if (!client || !roomId) throw Object.assign(new Error("not in a room"), { code: "NOT_JOINED" });
      await client.setChannel(roomId, channel);
      get().syncFromClient();
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
};
