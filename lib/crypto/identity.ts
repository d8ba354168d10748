/**
 * Identities: an Ed25519 signing key (who you are; the user id is derived from it) and an X25519
 * agreement key (for pairwise secrets), the latter bound to the former by a signature. Private keys
 * are generated non-extractable: JavaScript can use them but never read them.
 */
import { CryptoError } from "./errors";
import { buf, fromB64url, toB64url, toHex, transcript, utf8 } from "./encoding";
import { subtle } from "./subtle";
import { acceptableEd25519PublicKey, acceptableX25519PublicKey, canonicalEd25519Signature } from "./keys-check";

export interface Identity {
  signingKeyPair: CryptoKeyPair; // Ed25519, private key non-extractable
  agreementKeyPair: CryptoKeyPair; // X25519, private key non-extractable
  signingKey: string; // raw 32-byte Ed25519 public key, base64url
  agreementKey: string; // raw 32-byte X25519 public key, base64url
  agreementSig: string; // Ed25519 signature over transcript("QSEC-XKEY-v1", agreementKey bytes), base64url
  userId: string; // userIdFromSigningKey(signingKey)
}

/** A peer's published keys as the server relays them (MemberInfo carries these fields). */
/** Just the identity's fields of a stored record (which may carry more, e.g. a tab id). */
export function pickIdentity(r: Identity): Identity {
  const { signingKeyPair, agreementKeyPair, signingKey, agreementKey, agreementSig, userId } = r;
  return { signingKeyPair, agreementKeyPair, signingKey, agreementKey, agreementSig, userId };
}

export interface PublicIdentity {
  userId: string;
  signingKey: string;
  agreementKey: string;
  agreementSig: string;
}

export const LABEL_XKEY = "QSEC-XKEY-v1";
export const LABEL_AUTH = "QSEC-AUTH-v1";

/** Decodes a base64url public key and checks it is exactly 32 bytes (CryptoError "bad-key"). */
export function decodePublicKey(b64: string): Uint8Array<ArrayBuffer> {
  let raw: Uint8Array;
  try {
    raw = fromB64url(b64);
  } catch {
    throw new CryptoError("bad-key", "public key is not base64url");
  }
  if (raw.length !== 32) throw new CryptoError("bad-key", "public key must be 32 bytes");
  return buf(raw);
}

export function decodeSignature(b64: string): Uint8Array<ArrayBuffer> | null {
  try {
    const sig = fromB64url(b64);
    return sig.length === 64 ? buf(sig) : null;
  } catch {
    return null;
  }
}

/** User id = first 16 bytes of SHA-256(raw Ed25519 public key), 32 lowercase hex characters. */
export async function userIdFromSigningKey(signingKeyB64: string): Promise<string> {
  const raw = decodePublicKey(signingKeyB64);
  const digest = new Uint8Array(await subtle().digest("SHA-256", raw));
  return toHex(digest.subarray(0, 16));
}

/**
 * Imported signing public keys and derived user ids, by their base64url text: verifying a page of
 * 100 stored messages from one sender imports and hashes that sender's key once, not 100 times.
 * Public values only; bounded (oldest dropped first).
 */
const PUBLIC_KEY_CACHE = 256;
const signingKeys = new Map<string, Promise<CryptoKey>>();
const userIds = new Map<string, Promise<string>>();
function cached<T>(map: Map<string, Promise<T>>, k: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(k);
  if (!p) {
    p = make();
    p.catch(() => map.delete(k));
    map.set(k, p);
    if (map.size > PUBLIC_KEY_CACHE) map.delete(map.keys().next().value as string);
  }
  return p;
}

export function importSigningPublicKey(signingKeyB64: string): Promise<CryptoKey> {
  return cached(signingKeys, signingKeyB64, () => importSigningPublicKeyUncached(signingKeyB64));
}

async function importSigningPublicKeyUncached(signingKeyB64: string): Promise<CryptoKey> {
  const raw = decodePublicKey(signingKeyB64);
  if (!acceptableEd25519PublicKey(raw)) throw new CryptoError("bad-key", "small-order or non-canonical Ed25519 public key");
  try {
    return await subtle().importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    throw new CryptoError("bad-key", "not an Ed25519 public key");
  }
}

export async function importAgreementPublicKey(agreementKeyB64: string): Promise<CryptoKey> {
  const raw = decodePublicKey(agreementKeyB64);
  if (!acceptableX25519PublicKey(raw)) throw new CryptoError("bad-key", "small-order or non-canonical X25519 public key");
  try {
    return await subtle().importKey("raw", raw, { name: "X25519" }, false, []);
  } catch {
    throw new CryptoError("bad-key", "not an X25519 public key");
  }
}

export async function sign(identity: Pick<Identity, "signingKeyPair">, data: Uint8Array): Promise<string> {
  const sig = await subtle().sign({ name: "Ed25519" }, identity.signingKeyPair.privateKey, buf(data));
  return toB64url(new Uint8Array(sig));
}

/** Verifies an Ed25519 signature; false for any malformed key or signature (never throws). */
export async function verify(signingKeyB64: string, data: Uint8Array, signatureB64: string): Promise<boolean> {
  const sig = decodeSignature(signatureB64);
  if (!sig || !canonicalEd25519Signature(sig)) return false;
  try {
    const key = await importSigningPublicKey(signingKeyB64);
    return await subtle().verify({ name: "Ed25519" }, key, sig, buf(data));
  } catch {
    return false;
  }
}

export async function generateIdentity(): Promise<Identity> {
  const s = subtle();
  const signingKeyPair = (await s.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
  const agreementKeyPair = (await s.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
  const signingRaw = new Uint8Array(await s.exportKey("raw", signingKeyPair.publicKey));
  const agreementRaw = new Uint8Array(await s.exportKey("raw", agreementKeyPair.publicKey));
  const signingKey = toB64url(signingRaw);
  const agreementKey = toB64url(agreementRaw);
  const agreementSig = await sign({ signingKeyPair }, transcript(LABEL_XKEY, agreementRaw));
  const userId = await userIdFromSigningKey(signingKey);
  return { signingKeyPair, agreementKeyPair, signingKey, agreementKey, agreementSig, userId };
}

/** Checks that agreementSig is the signing key's signature over transcript("QSEC-XKEY-v1", agreementKey). */
export async function verifyAgreementBinding(m: { signingKey: string; agreementKey: string; agreementSig: string }): Promise<boolean> {
  let agreementRaw: Uint8Array;
  try {
    agreementRaw = decodePublicKey(m.agreementKey);
  } catch {
    return false;
  }
  if (!acceptableX25519PublicKey(agreementRaw)) return false;
  return verify(m.signingKey, transcript(LABEL_XKEY, agreementRaw), m.agreementSig);
}

/**
 * Full check of a peer's published keys: the user id derives from the signing key and the agreement
 * key is signed by it. Run this on every MemberInfo before trusting its keys.
 */
export async function verifyMember(m: PublicIdentity): Promise<boolean> {
  try {
    if ((await userIdFromSigningKey(m.signingKey)) !== m.userId) return false;
  } catch {
    return false;
  }
  return verifyAgreementBinding(m);
}

function authTranscript(signingKey: string, agreementKey: string, nonce: string): Uint8Array {
  return transcript(LABEL_AUTH, utf8(nonce), decodePublicKey(signingKey), decodePublicKey(agreementKey));
}

/** Proof of possession for the server's nonce: Ed25519 over ("QSEC-AUTH-v1", nonce, signingKey, agreementKey). */
export async function signAuth(identity: Identity, nonce: string): Promise<string> {
  return sign(identity, authTranscript(identity.signingKey, identity.agreementKey, nonce));
}

export async function verifyAuth(signingKey: string, agreementKey: string, nonce: string, signature: string): Promise<boolean> {
  let t: Uint8Array;
  try {
    t = authTranscript(signingKey, agreementKey, nonce);
  } catch {
    return false;
  }
  return verify(signingKey, t, signature);
}

/**
 * The check every receiver runs first: the signing key it will verify with must be the one the
 * claimed sender id derives from. Throws CryptoError("bad-signature") otherwise.
 */
export async function assertSenderKey(senderSigningKey: string, claimedSenderId: string, what: string): Promise<void> {
  let senderId: string;
  try {
    senderId = await cached(userIds, senderSigningKey, () => userIdFromSigningKey(senderSigningKey));
  } catch {
    throw new CryptoError("bad-signature", "sender signing key is malformed");
  }
  if (senderId !== claimedSenderId) throw new CryptoError("bad-signature", `signing key does not belong to the ${what}'s sender`);
}
