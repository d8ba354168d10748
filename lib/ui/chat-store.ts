"use client";
/**
 * The one zustand store of this tab's chat UI (built in lib/ui/store from its slices). It owns
 * the tab's ChatClient (one per tab: one identity, one socket) and mirrors the client's state
 * snapshot on every "change"; components subscribe to the slices they render with selectors and
 * call the store's actions. No component talks to the socket directly.
 */
import type { ChatClient, ChatState, RoomView } from "@/lib/client";
import { workerEngineFactory } from "@/lib/client/qkd-worker-engine";
import { useShallow } from "zustand/react/shallow";
import { createBrowserClient } from "./store/browser-client";
import { createChatStore, selectConnection, selectCurrentRoom, type ChatStoreHook } from "./store";

export type { Bb84Choice, ChatStore, JoinRequest, Phase } from "./store";

export const useChatStore: ChatStoreHook = createChatStore({ createClient: createBrowserClient });

/** The room this tab shows: live while joined, the last snapshot after leaving. */
export function useCurrentRoom(): RoomView | null {
  return useChatStore(selectCurrentRoom);
}

/**
 * Only these fields of the current room, compared one by one: a component re-renders when one of
 * them changes, not on every change of the room (a BB84 session changes its live view and the
 * room log several times a second; re-rendering the whole room for each took the page's main
 * thread, where the session's frames arrive, for tens of milliseconds at a time).
 */
export function useRoomFields<K extends keyof RoomView>(...keys: K[]): Pick<RoomView, K> | null {
  return useChatStore(
    useShallow((s) => {
      const room = selectCurrentRoom(s);
      if (!room) return null;
      const out = {} as Pick<RoomView, K>;
      for (const k of keys) out[k] = room[k];
      return out;
    }),
  );
}

export function useConnection(): ChatState["connection"] | "idle" {
  return useChatStore(selectConnection);
}

// Tests (and curious developers) can read the store from the console in development builds.
if (typeof window !== "undefined" && process.env.NODE_ENV !== "production") {
  const w = window as unknown as { __qsecStore?: ChatStoreHook; __qsecClient?: () => ChatClient | null; __qsecQkdWorker?: typeof workerEngineFactory };
  w.__qsecStore = useChatStore;
  w.__qsecClient = () => useChatStore.getState().client;
  // Lets a browser test run two worker engines against each other without the relay.
  w.__qsecQkdWorker = workerEngineFactory;
}
