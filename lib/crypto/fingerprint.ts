/**
 * Safety numbers: Signal's numeric fingerprint, byte for byte as libsignal
 * (rust/protocol/src/fingerprint.rs): per side, hash0 = version(u16 BE, always 0) ‖ publicKey ‖
 * stableId, then `iterations` times hash = SHA-512(hash ‖ publicKey); the first 30 bytes make six
 * 5-byte big-endian integers, each mod 100000 as 5 digits; the two 30-digit halves are joined in
 * sorted order, so both members see the same 60 digits.
 */
import { CryptoError } from "./errors";
import { buf, concatBytes, toHex, utf8 } from "./encoding";
import { decodePublicKey } from "./identity";
import { subtle } from "./subtle";

export const FINGERPRINT_ITERATIONS = 5200;

/** libsignal's get_fingerprint: the full 64-byte iterated SHA-512 for one side. */
export async function fingerprintHash(publicKey: Uint8Array, stableId: Uint8Array, iterations = FINGERPRINT_ITERATIONS): Promise<Uint8Array> {
  if (!Number.isInteger(iterations) || iterations <= 1 || iterations > 1_000_000) throw new CryptoError("bad-key", "invalid iteration count");
  const s = subtle();
  let hash: Uint8Array = concatBytes(new Uint8Array([0, 0]), publicKey, stableId);
  const input = new Uint8Array(64 + publicKey.length);
  input.set(publicKey, 64);
  // First round hashes (version ‖ key ‖ id ‖ key); later rounds (previous 64 bytes ‖ key).
  hash = new Uint8Array(await s.digest("SHA-512", buf(concatBytes(hash, publicKey))));
  for (let i = 1; i < iterations; i++) {
    input.set(hash, 0);
    hash = new Uint8Array(await s.digest("SHA-512", input));
  }
  return hash;
}

/** libsignal's get_encoded_string: 30 digits from the first 30 bytes. */
export function encodeFingerprintDigits(hash: Uint8Array): string {
  if (hash.length < 30) throw new CryptoError("bad-encoding", "fingerprint hash too short");
  let out = "";
  for (let c = 0; c < 6; c++) {
    let x = 0;
    for (let i = 0; i < 5; i++) x = x * 256 + hash[c * 5 + i]; // < 2^40: exact in a double
    out += String(x % 100000).padStart(5, "0");
  }
  return out;
}

/** The 60-digit displayable fingerprint for two (publicKey, stableId) sides, as libsignal computes it. */
export async function displayableFingerprint(
  local: { publicKey: Uint8Array; stableId: Uint8Array },
  remote: { publicKey: Uint8Array; stableId: Uint8Array },
  iterations = FINGERPRINT_ITERATIONS,
): Promise<string> {
  const [l, r] = await Promise.all([
    fingerprintHash(local.publicKey, local.stableId, iterations),
    fingerprintHash(remote.publicKey, remote.stableId, iterations),
  ]);
  const a = encodeFingerprintDigits(l);
  const b = encodeFingerprintDigits(r);
  return a < b ? a + b : b + a;
}

/**
 * The safety number for two members (same for both): stable identifier = user id (UTF-8), public
 * key = raw 32-byte Ed25519 signing key. 60 digits.
 */
export async function safetyNumber(a: { userId: string; signingKey: string }, b: { userId: string; signingKey: string }): Promise<string> {
  return displayableFingerprint(
    { publicKey: decodePublicKey(a.signingKey), stableId: utf8(a.userId) },
    { publicKey: decodePublicKey(b.signingKey), stableId: utf8(b.userId) },
  );
}

/** 12 groups of 5 digits separated by spaces. */
export function formatSafetyNumber(s: string): string {
  const digits = s.replace(/\s+/g, "");
  if (!/^\d{60}$/.test(digits)) throw new CryptoError("bad-encoding", "a safety number has 60 digits");
  return digits.match(/.{5}/g)!.join(" ");
}

/** A short visual fingerprint of one signing key: first 8 bytes of SHA-256 as 4 groups of 4 hex. */
export async function shortFingerprint(signingKey: string): Promise<string> {
  const d = new Uint8Array(await subtle().digest("SHA-256", decodePublicKey(signingKey)));
  return toHex(d.subarray(0, 8)).match(/.{4}/g)!.join(" ");
}
