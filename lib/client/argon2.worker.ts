/**
 * The Web Worker that runs Argon2id for key backups (lib/client/argon2.ts, the same code Node runs),
 * so seconds of hashing at 64 MiB never freeze the page. One request in, one answer out; the
 * derived key is transferred, so the worker keeps no copy.
 */
import { argon2idKey } from "./argon2";
import type { Argon2Request, Argon2Response } from "./argon2-worker";

const scope = globalThis as unknown as {
  postMessage(m: Argon2Response, transfer: Transferable[]): void;
  addEventListener(type: "message", fn: (ev: MessageEvent<Argon2Request>) => void): void;
};

scope.addEventListener("message", (ev) => {
  const { id, passphrase, salt, params } = ev.data;
  const started = performance.now();
  argon2idKey(passphrase, salt, params).then(
    (key) => scope.postMessage({ id, ok: true, key, ms: performance.now() - started }, [key.buffer]),
    (e: unknown) => scope.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) }, []),
  );
});
