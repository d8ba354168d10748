/**
 * Argon2id (RFC 9106) for passphrase-protected key backups, from hash-wasm (a maintained WASM
 * build of the reference implementation; its WASM ships inside the package, nothing downloads).
 * In the browser it runs in a Web Worker (lib/client/argon2.worker.ts) so the page stays responsive.
 *
 * Parameters (lib/crypto/argon2-params.ts): m = 64 MiB, t = 3, p = 1. `npm run bench:argon2`
 * measures them in Chromium's worker and in Node; docs/security.md states the figures.
 */
import { argon2id } from "hash-wasm";
import { ARGON2_DEFAULT, checkArgon2Params, type Argon2Params } from "@/lib/crypto/argon2-params";

export { ARGON2_DEFAULT, type Argon2Params } from "@/lib/crypto/argon2-params";

/** The 32-byte key Argon2id derives from a passphrase (NFKC-normalized UTF-8) and a 16-byte salt. */
export async function argon2idKey(passphrase: string, salt: Uint8Array, params: Argon2Params = ARGON2_DEFAULT): Promise<Uint8Array<ArrayBuffer>> {
  checkArgon2Params(params);
  const out = await argon2id({
    password: passphrase.normalize("NFKC"),
    salt,
    parallelism: params.parallelism,
    iterations: params.iterations,
    memorySize: params.memoryKiB,
    hashLength: 32,
    outputType: "binary",
  });
  return new Uint8Array(out);
}
