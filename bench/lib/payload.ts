/**
 * Encrypted-looking message payloads: what a real client sends with message:send (AES-GCM iv,
 * ciphertext of a short chat line plus tag, Ed25519 signature), as random base64url of the real
 * sizes. The relay never looks inside, so random bytes cost exactly what real ones do.
 */
import { randomBytes } from "node:crypto";

export interface WirePayload {
  roomId: string;
  epoch: number;
  counter: number;
  iv: string;
  ciphertext: string;
  signature: string;
}

export const PAYLOAD_SIZES = { ivBytes: 12, ciphertextBytes: 200, signatureBytes: 64 } as const;

const b64 = (n: number) => randomBytes(n).toString("base64url");

/**
 * A pool of distinct payload bodies (so nothing along the path can benefit from identical frames);
 * the sender stamps roomId, epoch and counter per message.
 */
export function payloadPool(size = 256): Omit<WirePayload, "roomId" | "epoch" | "counter">[] {
  return Array.from({ length: size }, () => ({
    iv: b64(PAYLOAD_SIZES.ivBytes),
    ciphertext: b64(PAYLOAD_SIZES.ciphertextBytes),
    signature: b64(PAYLOAD_SIZES.signatureBytes),
  }));
}
