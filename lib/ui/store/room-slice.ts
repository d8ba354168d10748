/**
 * The room slice: joining (one room shown per tab), leaving, sending and verifying peers, through
 * the client the connection slice owns.
 */
import { toUiError } from "../errors";
import type { ChatSlice, RoomSlice } from "./types";

export const createRoomSlice: ChatSlice<RoomSlice> = (set, get) => {
  /** The join in progress, by request; owned by this store so React's double effect run joins once. */
  let inflight: { key: string; promise: Promise<string | null> } | null = null;

  return {
    phase: "idle",
    error: null,
    roomId: null,
    displayName: null,
    frozenRoom: null,

    enter(req) {
      const key = `${req.roomId ?? ""}|${req.displayName}|${req.capacity ?? ""}|${JSON.stringify(req.history ?? "")}`;
      const s = get();
      // React's strict mode runs effects twice; the same request must not join twice.
      if (inflight?.key === key) return inflight.promise;
      if (s.phase === "joined" && req.roomId && s.roomId === req.roomId) return Promise.resolve(req.roomId);
      const promise = (async () => {
        set({ phase: "starting", error: null, roomId: req.roomId ?? null, displayName: req.displayName, frozenRoom: null });
        try {
          const c = await get().ensureClient();
          // One room shown per tab: leave the previous one before joining another.
          const prev = get().roomId;
          if (s.phase === "joined" && s.roomId && s.roomId !== req.roomId && prev !== req.roomId) {
            await c.leave(s.roomId).catch(() => undefined);
          }
          set({ phase: "joining" });
          const res = await c.join(req.roomId, req.displayName, req.capacity, req.history);
          set({ phase: "joined", roomId: res.roomId });
          get().syncFromClient();
          // The newest page of stored history, as soon as the room opens (best effort: shown in the timeline).
          void c.loadHistory(res.roomId).then(
            () => get().syncFromClient(),
            () => get().syncFromClient(),
          );
          // The room's earlier BB84 sessions, for the dashboard's chart (best effort).
          void c.loadBb84Sessions(res.roomId).then(
            () => get().syncFromClient(),
            () => undefined,
          );
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
      const { client, roomId, snapshot } = get();
      if (!client || !roomId) return;
      const last = snapshot?.rooms[roomId] ?? null;
      try {
        await client.leave(roomId);
      } catch (e) {
        set({ alert: toUiError(e) });
        return;
      }
      set({ phase: "left", frozenRoom: last });
      get().syncFromClient();
    },

    async send(text, to, attachment) {
      const { client, roomId } = get();
      if (!client || !roomId) throw Object.assign(new Error("not in a room"), { code: "NOT_JOINED" });
      await client.send(roomId, text, to, attachment);
    },

    markVerified(peerId, verified) {
      get().client?.markVerified(peerId, verified);
      get().syncFromClient();
    },

    async safetyNumber(peerId) {
      const { client } = get();
      if (!client) throw new Error("not connected");
      return await client.safetyNumberWith(peerId);
    },

    async loadOlder() {
      const { client, roomId } = get();
      if (!client || !roomId) return 0;
      try {
        return await client.loadHistory(roomId);
      } catch {
        return 0; // shown as RoomView.history.error
      } finally {
        get().syncFromClient();
      }
    },

    async loadAllOlder() {
      const { client, roomId } = get();
      if (!client || !roomId) return 0;
      try {
        return await client.loadAllHistory(roomId);
      } catch {
        return 0; // shown as RoomView.history.error
      } finally {
        get().syncFromClient();
      }
    },

    async removeMember(userId) {
      const { client, roomId } = get();
      if (!client || !roomId) return;
      try {
        await client.remove(roomId, userId);
      } catch (e) {
        set({ alert: toUiError(e) });
      }
    },

    clearError() {
      set({ error: null, alert: null });
    },
  };
};
