/**
 * Honest members: the real ChatClient (lib/client) with a fresh identity unless given one, short
 * timeouts so a failing test fails fast, and in-memory storage. The hostile counterpart, which
 * speaks the protocol by hand, is raw-client.ts.
 */
import { ChatClient, MemoryStorage, type KeyValueStorage, type PairKeyStore } from "@/lib/client";
import type { QkdEngineFactory } from "@/lib/client/bb84-types";
import { generateIdentity, type Identity } from "@/lib/crypto";
import { spreadUrl } from "./spread";

export interface HonestClientOptions {
  storage?: KeyValueStorage;
  /** How this member runs its BB84 party (default: lib/client's in-thread engine). */
  qkdEngine?: QkdEngineFactory;
  /** Where QKD-hardened pair keys are shared (give one identity's clients the same store: its tabs). */
  pairKeys?: PairKeyStore;
}

/** One honest member of the server at `url` (in the cluster project, of one of its nodes in turn), not yet connected. */
export async function honestClient(url: string, identity?: Identity, opts: HonestClientOptions = {}): Promise<ChatClient> {
  return new ChatClient({
    url: spreadUrl(url),
    identity: identity ?? (await generateIdentity()),
    storage: opts.storage ?? new MemoryStorage(),
    requestTimeoutMs: 5000,
    keyWaitMs: 5000,
    ...(opts.qkdEngine && { qkdEngine: opts.qkdEngine }),
    ...(opts.pairKeys && { pairKeys: opts.pairKeys }),
  });
}

/**
 * The members of one test file, against a server that each test starts anew (hence `url` is read at
 * each call). `clients` holds every member made since the test began, connected or not, so that
 * afterEach closes them all (`for (const c of clients.splice(0)) c.close()`).
 */
export function honestClients(url: () => string) {
  const clients: ChatClient[] = [];
  return {
    clients,
    /** A connected honest member. */
    async makeClient(identity?: Identity, opts: HonestClientOptions = {}): Promise<ChatClient> {
      const c = await honestClient(url(), identity, opts);
      clients.push(c);
      await c.connect();
      return c;
    },
  };
}
