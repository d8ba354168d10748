/**
 * Argon2id in a Web Worker (lib/client/argon2.worker.ts): the browser's Argon2Fn for key backups.
 * One worker per derivation, terminated afterwards, so its 64 MiB are freed at once.
 */
import type { Argon2Params } from "@/lib/crypto";
import type { Argon2Fn } from "./key-backup";

export interface Argon2Request {
  id: number;
  passphrase: string;
  salt: Uint8Array;
  params: Argon2Params;
}
export type Argon2Response = { id: number; ok: true; key: Uint8Array; ms: number } | { id: number; ok: false; error: string };

let nextId = 1;

/** Derives in a fresh worker; resolves with the key and the time the worker spent hashing. */
export function argon2InWorker(passphrase: string, salt: Uint8Array, params: Argon2Params): Promise<{ key: Uint8Array; ms: number }> {
  // Written out in full so the bundler (Turbopack in `next dev` and `next build`) sees the worker entry.
  const worker = new Worker(new URL("./argon2.worker.ts", import.meta.url), { type: "module", name: "qsec-argon2" });
  const id = nextId++;
  return new Promise((resolve, reject) => {
    worker.addEventListener("message", (ev: MessageEvent<Argon2Response>) => {
      if (ev.data.id !== id) return;
      worker.terminate();
      if (ev.data.ok) resolve({ key: ev.data.key, ms: ev.data.ms });
      else reject(new Error(`Argon2id failed: ${ev.data.error}`));
    });
    worker.addEventListener("error", (ev) => {
      worker.terminate();
      reject(new Error(`Argon2id worker failed: ${ev.message || "could not start"}`));
    });
    worker.postMessage({ id, passphrase, salt: new Uint8Array(salt), params } satisfies Argon2Request);
  });
}

export const workerArgon2: Argon2Fn = async (passphrase, salt, params) => (await argon2InWorker(passphrase, salt, params)).key;
