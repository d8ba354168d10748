/**
 * The connection slice: makes this store's ChatClient on first use and mirrors its state snapshot
 * on every "change". The client lives in the store's state and its bookkeeping (the pending
 * creation, the coalesced sync) in this creator's closure, so each store owns exactly one client
 * and two stores never share one.
 */
import type { ChatClient } from "@/lib/client";
import { toUiError } from "../errors";
import { learnNames } from "./names";
import type { ChatSlice, ChatStoreDeps, ConnectionSlice } from "./types";

export const createConnectionSlice =
  (deps: ChatStoreDeps): ChatSlice<ConnectionSlice> =>
  (set, get) => {
    /** The client being made and connected; shared by concurrent callers (StrictMode runs effects twice). */
    let clientReady: Promise<ChatClient> | null = null;
    let syncPending = false;

    function syncFromClient() {
      const { client, names } = get();
      if (!client) return;
      const snapshot = client.state;
      set({ snapshot, names: learnNames(names, snapshot) });
    }

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
