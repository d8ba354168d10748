/** HKDF-SHA-256 (RFC 5869) through WebCrypto. */
import { CryptoError } from "./errors";
import { buf } from "./encoding";
import { subtle } from "./subtle";

export async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, lengthBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 1 || lengthBytes > 255 * 32) {
    throw new CryptoError("bad-key", "HKDF output length out of range");
  }
  const s = subtle();
  const key = await s.importKey("raw", buf(ikm), "HKDF", false, ["deriveBits"]);
  const bits = await s.deriveBits({ name: "HKDF", hash: "SHA-256", salt: buf(salt), info: buf(info) }, key, lengthBytes * 8);
  return new Uint8Array(bits);
}
