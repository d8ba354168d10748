/**
 * Refuses public keys a forger can use without a private key. WebCrypto accepts small-order
 * Ed25519 points: with A = identity, the signature (R = identity, S = 0) verifies for every
 * message, so a hostile client could authenticate as the user id derived from that key. X25519
 * small-order points force an all-zero (or attacker-known) shared secret. Non-canonical encodings
 * (a coordinate ≥ p, "negative zero") let one key have several byte strings, hence several user ids.
 *
 * Pure BigInt arithmetic on the encoded coordinate; no point decompression is needed:
 * - Ed25519 (twisted Edwards, -x² + y² = 1 + d·x²·y²): the 8 small-order points have
 *   y ∈ {1, -1, 0} or y a root of d·y⁴ + 2·y² − 1 (the order-8 points, where x² = −y²).
 * - X25519 (Montgomery, v² = u³ + A·u² + u, on the curve or its twist): the points killed by the
 *   cofactor have u ∈ {0, 1, −1} or u halving to ±1: (u² − 1)² ∓ 4u(u² + A·u + 1) = 0.
 */
const P = (1n << 255n) - 19n;
/** Order of the Ed25519 base point; a canonical signature has S < L. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const A = 486662n;

const mod = (a: bigint) => ((a % P) + P) % P;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}
const D = mod(-121665n * pow(121666n, P - 2n));

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** True for a canonical Ed25519 public key encoding that is not a small-order point. */
export function acceptableEd25519PublicKey(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  const y = littleEndian(raw) & ((1n << 255n) - 1n);
  if (y >= P) return false; // non-canonical
  if (y === 0n || y === 1n || y === P - 1n) return false; // orders 4, 1, 2 (±1 also covers "negative zero" x)
  const y2 = (y * y) % P;
  if (mod(D * y2 * y2 + 2n * y2 - 1n) === 0n) return false; // order 8
  return true;
}

/** True for a canonical X25519 public key (u < p, top bit clear) that is not a small-order point. */
export function acceptableX25519PublicKey(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  if (raw[31] & 0x80) return false; // RFC 7748 masks this bit; an honest encoder never sets it
  const u = littleEndian(raw);
  if (u >= P) return false;
  if (u === 0n || u === 1n || u === P - 1n) return false;
  const sq = mod(u * u - 1n);
  const t = mod(4n * u * (u * u + A * u + 1n));
  const lhs = (sq * sq) % P;
  if (lhs === t || mod(lhs + t) === 0n) return false; // halves of the order-4 points (order 8)
  return true;
}

/** True when a 64-byte Ed25519 signature's S half is canonical (S < L; RFC 8032 §5.1.7). */
export function canonicalEd25519Signature(sig: Uint8Array): boolean {
  return sig.length === 64 && littleEndian(sig.subarray(32)) < L;
}
