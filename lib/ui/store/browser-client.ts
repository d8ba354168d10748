/**
 * The client a browser tab's store makes: this profile's identity from IndexedDB (or, after "Join as
 * someone else in this tab", the tab's own), the page's own origin, verified marks in localStorage,
 * BB84 parties in Web Workers, and (issue 12) the epoch keys it held and its message counters in
 * IndexedDB (lib/ui/persist), shared by the profile's tabs, as are (issue 14) the QKD-hardened pair keys; these two stores are also the
 * ones a key backup exports and a restore fills, and a new key in them updates the profile's backup (if set up).
 */
import { ChatClient, webStorage } from "@/lib/client";
import { registerBackupEpochKeyStore, registerBackupPairKeyStore, watchEpochKeys, watchPairKeys } from "@/lib/client/key-backup";
import { workerEngineFactory } from "@/lib/client/qkd-worker-engine";
import { loadOrCreateIdentity, loadOrCreateTabIdentity } from "@/lib/crypto";
import { identityMode } from "../identity-mode";
import { browserCounterStore } from "../persist/counters";
import { browserEpochKeyStore } from "../persist/epoch-keys";
import { browserPairKeyStore } from "../persist/pair-keys";
import { profileBackupKeeper } from "../key-backup";

export async function createBrowserClient(): Promise<ChatClient> {
  let identity;
  try {
    identity = identityMode() === "tab" ? await loadOrCreateTabIdentity() : await loadOrCreateIdentity();
  } catch (e) {
    throw Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: "IDENTITY" });
  }
  const stored = browserEpochKeyStore(identity.userId);
  registerBackupEpochKeyStore(stored);
  const storedPairs = browserPairKeyStore(identity.userId);
  registerBackupPairKeyStore(storedPairs);
  // The profile's key backup follows its keys (a tab-scoped identity is not the one backed up).
  let client: ChatClient | null = null;
  const epochKeys = identityMode() === "tab" ? stored : watchEpochKeys(stored, () => keeper.changed());
  const keeper = profileBackupKeeper(() => client);
  // So do a BB84 session's keys committed by this tab (each tab of the profile keeps the backup of its own changes).
  const pairKeys = identityMode() === "tab" ? storedPairs : watchPairKeys(storedPairs, () => keeper.changed());
  // BB84 parties run in Web Workers, so a session of a million qubits never blocks the page.
  client = new ChatClient({
    url: window.location.origin,
    identity,
    storage: webStorage(window.localStorage),
    qkdEngine: workerEngineFactory,
    epochKeys,
    counters: browserCounterStore(),
    // QKD-hardened pair keys, shared by the identity's tabs (the tab that ran a session leaves them there).
    pairKeys,
  });
  return client;
}
