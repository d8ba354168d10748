/**
 * The connection slice: makes this store's ChatClient on first use and mirrors its state snapshot
 * on every "change". The client lives in the store's state and its bookkeeping (the pending
 * creation, the coalesced sync) in this creator's closure, so each store owns exactly one client
 * and two stores never share one.
 */
import type { ChatClient, ChatState } from "@/lib/client";
import { toUiError } from "../errors";
import { learnNames } from "./names";
import type { ChatSlice, ChatStoreDeps, ConnectionSlice } from "./types";

/** How often the store mirrors the client while one of its BB84 sessions runs (progress reads fine at 5 Hz). */
const BUSY_SYNC_MS = 200;

function bb84Running(state: ChatState): boolean {
  for (const room of Object.values(state.rooms)) if (room.bb84.live.some((l) => l.status === "running")) return true;
  return false;
}

export const createConnectionSlice =
  (deps: ChatStoreDeps): ChatSlice<ConnectionSlice> =>
  (set, get) => {
    /** The client being made and connected; shared by concurrent callers (StrictMode runs effects twice). */
    let clientReady: Promise<ChatClient> | null = null;
    let syncPending = false;
    let lastSync = 0;

    function syncFromClient() {
      const { client, names } = get();
      if (!client) return;
      const snapshot = client.state;
      set({ snapshot, names: learnNames(names, snapshot) });
    }

    /**
     * Mirrors the client's snapshot at most once per animation frame; while a BB84 session runs
     * here, at most every BUSY_SYNC_MS: each sync re-renders the room on the page's main thread,
     * which is also where the session's frames arrive, so renders would delay its round trips.
     */
    function scheduleSync() {
      if (syncPending) return;
      syncPending = true;
      const run = () => {
        if (!syncPending) return;
        syncPending = false;
        lastSync = Date.now();
        syncFromClient();
      };
      // Whichever comes first: the next frame, or a timer for tabs that get no frames (hidden).
      const go = () => {
        if (typeof requestAnimationFrame === "function") requestAnimationFrame(run);
        setTimeout(run, 100);
      };
      const client = get().client;
      const wait = client && bb84Running(client.state) ? lastSync + BUSY_SYNC_MS - Date.now() : 0;
      if (wait > 0) setTimeout(go, wait);
      else go();
    }

    return {
      client: null,
      snapshot: null,
      names: {},
      alert: null,

      async ensureClient() {
        const existing = get().client;
        if (existing) return existing;
        clientReady ??= (async () => {
          let c: ChatClient;
          try {
            c = await deps.createClient();
          } catch (e) {
            clientReady = null;
            throw e;
          }
          // A BB84 session changes the state on every frame; one render per animation frame is enough.
          c.on("change", scheduleSync);
          // Failures outside a command the UI awaits (re-join after a reconnect, a replaced session).
          c.on("error", (e) => set({ alert: toUiError(e) }));
          set({ client: c });
          syncFromClient();
          await c.connect();
          syncFromClient();
          return c;
        })();
        return clientReady;
      },

      syncFromClient,
    };
  };
