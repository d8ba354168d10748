/**
 * Pairwise keys between two members: X25519, then HKDF-SHA-256, optionally hardened with a QKD key
 * (IKM = x25519Secret ‖ qkdKey, so the result is at least as strong as X25519 alone). Two
 * independent non-extractable AES-256-GCM keys come out: one wraps room keys, one encrypts direct
 * messages.
 */
import { CryptoError } from "./errors";
import { buf, concatBytes, transcript } from "./encoding";
import { decodePublicKey, importAgreementPublicKey, type Identity } from "./identity";
import { subtle } from "./subtle";

export const LABEL_PAIR = "QSEC-PAIR-v1";

export interface PairKeys {
  /** AES-256-GCM, usages encrypt + unwrapKey: wraps room-key shares between the two members. */
  wrapKey: CryptoKey;
  /** AES-256-GCM, usages encrypt + decrypt: direct messages between the two members. */
  dmKey: CryptoKey;
  /** True when a QKD key was mixed in. */
  hybrid: boolean;
}

/** The raw X25519 shared secret with a peer (caller wipes it), refusing low-order points. */
async function x25519Secret(identity: Identity, peerAgreementKey: string): Promise<Uint8Array> {
  const s = subtle();
  const peerKey = await importAgreementPublicKey(peerAgreementKey);
  let secret: Uint8Array;
  try {
    secret = new Uint8Array(await s.deriveBits({ name: "X25519", public: peerKey } as EcdhKeyDeriveParams, identity.agreementKeyPair.privateKey, 256));
  } catch {
    // Some implementations refuse low-order points themselves.
    throw new CryptoError("bad-key", "X25519 agreement failed");
  }
  if (secret.every((b) => b === 0)) throw new CryptoError("bad-key", "X25519 output is all zero (low-order point)");
  return secret;
}

/** The pair ordered by user id, each with its agreement key, so both sides build the same transcript. */
function orderedPair(identity: Identity, peer: { userId: string; agreementKey: string }) {
  const me = { id: identity.userId, ak: decodePublicKey(identity.agreementKey) };
  const them = { id: peer.userId, ak: decodePublicKey(peer.agreementKey) };
  return me.id <= them.id ? [me, them] : [them, me];
}

export const LABEL_BB84_FRAMES = "QSEC-BB84-FRAMES-v1";

/**
 * The key that encrypts and authenticates one BB84 session's relay frames between two members:
 * HKDF over the pair's X25519 secret, bound to the room and the server-chosen session id, so a
 * frame from one session can never be accepted in another. X25519 alone on purpose: the session
 * must not depend on an earlier session's QKD key.
 */
export async function deriveBb84FrameKey(
  identity: Identity,
  peer: { userId: string; agreementKey: string },
  roomId: string,
  sessionId: string,
): Promise<CryptoKey> {
  const s = subtle();
  const secret = await x25519Secret(identity, peer.agreementKey);
  const [lo, hi] = orderedPair(identity, peer);
  try {
    const base = await s.importKey("raw", buf(secret), "HKDF", false, ["deriveKey"]);
    return await s.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: buf(transcript(LABEL_BB84_FRAMES, lo.id, hi.id)),
        info: buf(transcript(LABEL_BB84_FRAMES, roomId, sessionId, lo.id, lo.ak, hi.id, hi.ak)),
      },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  } finally {
    secret.fill(0);
  }
}

/**
 * The hybrid keys' bytes, for the identity's key backup only (lib/client/persist.ts keeps them
 * wrapped at rest): 32 bytes each, the caller wipes them once wrapped or sealed.
 */
export interface PairKeyBytes {
  wrapKey: Uint8Array;
  dmKey: Uint8Array;
}

/** Pair keys from their bytes (a restored key backup): the same non-extractable keys derivePairKeys gives. */
export async function importPairKeys(bytes: PairKeyBytes, hybrid: boolean): Promise<PairKeys> {
  if (bytes.wrapKey.length !== 32 || bytes.dmKey.length !== 32) throw new CryptoError("bad-key", "a pair key is 32 bytes");
  const s = subtle();
  const aes = (raw: Uint8Array, usages: KeyUsage[]) => s.importKey("raw", buf(raw), { name: "AES-GCM" }, false, usages);
  return { wrapKey: await aes(bytes.wrapKey, ["encrypt", "unwrapKey"]), dmKey: await aes(bytes.dmKey, ["encrypt", "decrypt"]), hybrid };
}

/**
 * With `withBytes` (hybrid keys only, for the key backup) the HKDF output is also returned as bytes;
 * otherwise HKDF goes straight into non-extractable AES keys and the key bytes never reach JavaScript.
 */
export async function derivePairKeys(
  identity: Identity,
  peer: { userId: string; agreementKey: string },
  qkdKey?: Uint8Array,
  withBytes?: false,
): Promise<PairKeys>;
export async function derivePairKeys(
  identity: Identity,
  peer: { userId: string; agreementKey: string },
  qkdKey: Uint8Array,
  withBytes: true,
): Promise<PairKeys & { bytes: PairKeyBytes }>;
export async function derivePairKeys(
  identity: Identity,
  peer: { userId: string; agreementKey: string },
  qkdKey?: Uint8Array,
  withBytes = false,
): Promise<PairKeys & { bytes?: PairKeyBytes }> {
  const s = subtle();
  const secret = await x25519Secret(identity, peer.agreementKey);
  if (qkdKey !== undefined && qkdKey.length < 16) throw new CryptoError("bad-key", "QKD key shorter than 128 bits");
  const hybrid = qkdKey !== undefined;

  // Both sides order the pair the same way: by user id, carrying each one's agreement key along.
  const [lo, hi] = orderedPair(identity, peer);
  const mode = hybrid ? "x25519+qkd" : "x25519";

  const ikm = hybrid ? concatBytes(secret, qkdKey!) : secret;
  const salt = transcript(LABEL_PAIR, lo.id, hi.id);
  const info = (purpose: string) => transcript(LABEL_PAIR, purpose, mode, lo.id, lo.ak, hi.id, hi.ak);
  const params = (purpose: string) => ({ name: "HKDF", hash: "SHA-256", salt: buf(salt), info: buf(info(purpose)) });
  try {
    if (withBytes && hybrid) {
      // The same 256 HKDF bits deriveKey would import (WebCrypto's deriveKey is deriveBits + importKey).
      const base = await s.importKey("raw", buf(ikm), "HKDF", false, ["deriveBits"]);
      const bytes = {
        wrapKey: new Uint8Array(await s.deriveBits(params("roomkey-wrap"), base, 256)),
        dmKey: new Uint8Array(await s.deriveBits(params("direct-message"), base, 256)),
      };
      return { ...(await importPairKeys(bytes, true)), bytes };
    }
    // HKDF straight into non-extractable AES keys: the derived key bytes never reach JavaScript.
    const base = await s.importKey("raw", buf(ikm), "HKDF", false, ["deriveKey"]);
    const derive = (purpose: string, usages: KeyUsage[]) => s.deriveKey(params(purpose), base, { name: "AES-GCM", length: 256 }, false, usages);
    const wrapKey = await derive("roomkey-wrap", ["encrypt", "unwrapKey"]);
    const dmKey = await derive("direct-message", ["encrypt", "decrypt"]);
    return { wrapKey, dmKey, hybrid };
  } finally {
    secret.fill(0);
    if (ikm !== secret) ikm.fill(0);
  }
}
