/**
 * createChatStore: every store owns its own ChatClient and state (nothing shared through module
 * variables), React StrictMode's double effect run (the same enter() twice at once) makes one
 * client and one join, and a client that could not be made is made again on the next try. The
 * clients are real but point at a port nothing listens on, so joins fail as with a server down.
 */
import { ChatClient } from "@/lib/client";
import { generateIdentity } from "@/lib/crypto";
import { createChatStore } from "@/lib/ui/store";

const made: ChatClient[] = [];
afterEach(() => {
  for (const c of made.splice(0)) c.close();
});

async function unreachableClient(): Promise<ChatClient> {
  const c = new ChatClient({ url: "http://127.0.0.1:1", identity: await generateIdentity(), connectTimeoutMs: 300, socketOptions: { reconnection: false } });
  made.push(c);
  return c;
}

function countingStore(createClient = unreachableClient) {
  const calls = { n: 0 };
  const store = createChatStore({
    createClient: () => {
      calls.n++;
      return createClient();
    },
  });
  return { store, calls };
}

test("two stores make two clients and keep separate state", async () => {
  const a = countingStore();
  const b = countingStore();
  const joined = await Promise.all([
    a.store.getState().enter({ roomId: "room-a", displayName: "Alice" }),
    b.store.getState().enter({ roomId: "room-b", displayName: "Bob" }),
  ]);
  expect(joined).toEqual([null, null]);
  expect([a.calls.n, b.calls.n]).toEqual([1, 1]);

  const sa = a.store.getState();
  const sb = b.store.getState();
  expect(sa.client).toBeInstanceOf(ChatClient);
  expect(sb.client).toBeInstanceOf(ChatClient);
  expect(sa.client).not.toBe(sb.client);
  expect(sa.snapshot?.userId).toBe(sa.client!.userId);
  expect(sb.snapshot?.userId).toBe(sb.client!.userId);
  expect(sa).toMatchObject({ phase: "failed", roomId: "room-a", displayName: "Alice" });
  expect(sb).toMatchObject({ phase: "failed", roomId: "room-b", displayName: "Bob" });
  expect(sa.error).not.toBeNull();

  a.store.getState().setSimulationOpen(true);
  expect(b.store.getState().simulationOpen).toBe(false);
});

test("the same join requested twice at once (StrictMode) is one join on one client", async () => {
  const { store, calls } = countingStore();
  const req = { roomId: "room-s", displayName: "Alice" };
  const first = store.getState().enter(req);
  const second = store.getState().enter({ ...req });
  expect(second).toBe(first);
  await first;
  expect(calls.n).toBe(1);
  expect(made).toHaveLength(1);
});

test("concurrent first uses make one client, and later ones reuse it", async () => {
  const { store, calls } = countingStore();
  const first = await Promise.allSettled([store.getState().ensureClient(), store.getState().ensureClient()]);
  expect(first.map((r) => r.status)).toEqual(["rejected", "rejected"]); // nothing listens
  expect(calls.n).toBe(1);
  // The client whose first connect failed stays this store's client (a browser's keeps retrying).
  const client = store.getState().client;
  expect(client).toBeInstanceOf(ChatClient);
  expect(await store.getState().ensureClient()).toBe(client);
  expect(calls.n).toBe(1);
});

test("a client that could not be made (no identity) is made on the next try", async () => {
  let fail = true;
  const { store, calls } = countingStore(async () => {
    if (fail) throw Object.assign(new Error("IndexedDB blocked"), { code: "IDENTITY" });
    return unreachableClient();
  });
  await expect(store.getState().enter({ roomId: "room-i", displayName: "Alice" })).resolves.toBeNull();
  expect(store.getState()).toMatchObject({ phase: "failed", client: null, error: { code: "IDENTITY" } });
  fail = false;
  await store.getState().enter({ roomId: "room-i", displayName: "Alice" });
  expect(store.getState().client).toBeInstanceOf(ChatClient);
  expect(calls.n).toBe(2);
});
