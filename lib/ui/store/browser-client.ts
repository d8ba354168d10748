/**
 * The client a browser tab's store makes: this profile's identity from IndexedDB (or, after "Join as
 * someone else in this tab", the tab's own), the page's own origin, verified marks in localStorage,
 * and BB84 parties in Web Workers.
 */
import { ChatClient, webStorage } from "@/lib/client";
import { workerEngineFactory } from "@/lib/client/qkd-worker-engine";
import { loadOrCreateIdentity, loadOrCreateTabIdentity } from "@/lib/crypto";
import { identityMode } from "../identity-mode";

export async function createBrowserClient(): Promise<ChatClient> {
  let identity;
  try {
    identity = identityMode() === "tab" ? await loadOrCreateTabIdentity() : await loadOrCreateIdentity();
  } catch (e) {
    throw Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: "IDENTITY" });
  }
  // BB84 parties run in Web Workers, so a session of a million qubits never blocks the page.
  return new ChatClient({ url: window.location.origin, identity, storage: webStorage(window.localStorage), qkdEngine: workerEngineFactory });
}
