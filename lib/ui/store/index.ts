/**
 * createChatStore: the chat UI's zustand store, built from its slices (connection, room, BB84).
 * Each call makes an independent store that owns its own client; the page makes one per tab
 * (lib/ui/chat-store.ts), tests make as many as they need.
 */
import { create } from "zustand";
import { createBb84Slice } from "./bb84-slice";
import { createConnectionSlice } from "./connection-slice";
import { createRoomSlice } from "./room-slice";
import type { ChatStore, ChatStoreDeps } from "./types";

export function createChatStore(deps: ChatStoreDeps) {
  return create<ChatStore>()((...a) => ({
    ...createConnectionSlice(deps)(...a),
    ...createRoomSlice(...a),
    ...createBb84Slice(...a),
  }));
}

export type ChatStoreHook = ReturnType<typeof createChatStore>;
export { selectConnection, selectCurrentRoom } from "./selectors";
export type { Bb84Choice, Bb84Slice, ChatStore, ChatStoreDeps, ConnectionSlice, JoinRequest, Phase, RoomSlice } from "./types";
