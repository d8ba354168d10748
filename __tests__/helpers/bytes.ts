/**
 * Filler bytes in base64url: the shape of an IV, a ciphertext, a wrapped key or a signature that the
 * relay must carry (or refuse by size) without ever reading it, so its content never matters.
 */
export const b64 = (n: number, fill = 7): string => Buffer.alloc(n, fill).toString("base64url");
