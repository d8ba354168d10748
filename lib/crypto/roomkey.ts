/**
 * Room keys: one random AES-256-GCM key per (room, epoch), made by the epoch's leader and wrapped
 * for each member under the pair's wrapKey. AAD = transcript("QSEC-ROOMKEY-v1", roomId, epoch,
 * senderId, recipientId); the sender signs transcript("QSEC-ROOMKEY-SIG-v1", AAD, iv, wrapped).
 */
import { CryptoError } from "./errors";
import { buf, fromB64url, toB64url, transcript } from "./encoding";
import { assertSenderKey, sign, verify, type Identity } from "./identity";
import { randomBytes, subtle } from "./subtle";
import type { RoomkeyShared } from "@/lib/protocol";

export const LABEL_ROOMKEY = "QSEC-ROOMKEY-v1";
export const LABEL_ROOMKEY_SIG = "QSEC-ROOMKEY-SIG-v1";
const ROOM_KEY_BYTES = 32;
const GCM_TAG_BYTES = 16;

export interface RoomKey {
  raw: Uint8Array<ArrayBuffer>; // kept by the leader only, to wrap for each member
  key: CryptoKey; // AES-256-GCM, non-extractable, encrypt + decrypt
}

export interface RoomKeyShareContext {
  roomId: string;
  epoch: number;
  senderId: string;
  recipientId: string;
}

/** Matches RoomkeyShareItem in lib/protocol (one entry of roomkey:share's `shares`). */
export interface WrappedShare {
  to: string;
  iv: string;
  wrapped: string;
  signature: string;
}

/** What the recipient receives; `to` is optional (implicit on the wire). */
export type ReceivedShare = RoomkeyShared & { to?: string };

export async function generateRoomKey(): Promise<RoomKey> {
  const raw = randomBytes(ROOM_KEY_BYTES);
  const key = await importRoomKey(raw);
  return { raw, key };
}

/** Imports 32 raw bytes as a non-extractable AES-256-GCM room key. */
export async function importRoomKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== ROOM_KEY_BYTES) throw new CryptoError("bad-key", "room key must be 32 bytes");
  return subtle().importKey("raw", buf(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

export function roomKeyAad(ctx: RoomKeyShareContext): Uint8Array {
  return transcript(LABEL_ROOMKEY, ctx.roomId, ctx.epoch, ctx.senderId, ctx.recipientId);
}

function shareSigTranscript(aad: Uint8Array, iv: Uint8Array, wrapped: Uint8Array): Uint8Array {
  return transcript(LABEL_ROOMKEY_SIG, aad, iv, wrapped);
}

export async function wrapRoomKeyShare(identity: Identity, wrapKey: CryptoKey, raw: Uint8Array, ctx: RoomKeyShareContext): Promise<WrappedShare> {
  if (ctx.senderId !== identity.userId) throw new CryptoError("bad-key", "senderId must be the signer's own user id");
  if (raw.length !== ROOM_KEY_BYTES) throw new CryptoError("bad-key", "room key must be 32 bytes");
  const aad = roomKeyAad(ctx);
  const iv = randomBytes(12);
  const wrapped = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: buf(aad) }, wrapKey, buf(raw)));
  const signature = await sign(identity, shareSigTranscript(aad, iv, wrapped));
  return { to: ctx.recipientId, iv: toB64url(iv), wrapped: toB64url(wrapped), signature };
}

/**
 * Order of checks: the sender's key must own `share.from`; the signature must verify over what the
 * share claims (room, epoch, sender, this recipient, iv, wrapped) → "bad-signature"; then the claim
 * must match what the caller expects → "wrong-recipient" / "wrong-room" / "wrong-epoch"; only then
 * is anything decrypted → "decrypt-failed". A share that was addressed to someone else, without `to`
 * on the wire, fails as "bad-signature" (the recipient id is part of what was signed).
 */
export async function unwrapRoomKeyShare(
  wrapKey: CryptoKey,
  senderSigningKey: string,
  share: ReceivedShare,
  ctx: { roomId: string; epoch: number; recipientId: string },
): Promise<CryptoKey> {
  const { iv, wrapped, aad } = await checkShare(senderSigningKey, share, ctx);
  try {
    return await subtle().unwrapKey("raw", buf(wrapped), wrapKey, { name: "AES-GCM", iv: buf(iv), additionalData: buf(aad) }, { name: "AES-GCM" }, false, [
      "encrypt",
      "decrypt",
    ]);
  } catch {
    throw new CryptoError("decrypt-failed", "room key share does not decrypt under the pair key");
  }
}

/**
 * The same checks as unwrapRoomKeyShare, returning the 32 key bytes instead of a CryptoKey: a
 * member keeps each epoch key it held (lib/client/persist.ts EpochKeyStore, which re-imports them
 * non-extractable and keeps only a wrapped copy), so stored history decrypts after a reload. The
 * caller wipes the bytes once stored.
 */
export async function openRoomKeyShare(
  wrapKey: CryptoKey,
  senderSigningKey: string,
  share: ReceivedShare,
  ctx: { roomId: string; epoch: number; recipientId: string },
): Promise<Uint8Array<ArrayBuffer>> {
  const { iv, wrapped, aad } = await checkShare(senderSigningKey, share, ctx);
  try {
    // unwrapKey (the pair's wrap key has no "decrypt" usage) into a short-lived extractable key.
    const k = await subtle().unwrapKey("raw", buf(wrapped), wrapKey, { name: "AES-GCM", iv: buf(iv), additionalData: buf(aad) }, { name: "AES-GCM" }, true, [
      "encrypt",
      "decrypt",
    ]);
    return new Uint8Array(await subtle().exportKey("raw", k));
  } catch {
    throw new CryptoError("decrypt-failed", "room key share does not decrypt under the pair key");
  }
}

async function checkShare(
  senderSigningKey: string,
  share: ReceivedShare,
  ctx: { roomId: string; epoch: number; recipientId: string },
): Promise<{ iv: Uint8Array; wrapped: Uint8Array; aad: Uint8Array }> {
  await assertSenderKey(senderSigningKey, share.from, "share");
  const claimedRecipient = share.to ?? ctx.recipientId;
  let iv: Uint8Array, wrapped: Uint8Array, aad: Uint8Array;
  try {
    iv = fromB64url(share.iv);
    wrapped = fromB64url(share.wrapped);
    aad = roomKeyAad({ roomId: share.roomId, epoch: share.epoch, senderId: share.from, recipientId: claimedRecipient });
  } catch {
    throw new CryptoError("bad-signature", "malformed share");
  }
  if (!(await verify(senderSigningKey, shareSigTranscript(aad, iv, wrapped), share.signature))) {
    throw new CryptoError("bad-signature", "room key share signature does not verify");
  }
  if (claimedRecipient !== ctx.recipientId) throw new CryptoError("wrong-recipient", "share is addressed to another member");
  if (share.roomId !== ctx.roomId) throw new CryptoError("wrong-room", "share is for another room");
  if (share.epoch !== ctx.epoch) throw new CryptoError("wrong-epoch", `share is for epoch ${share.epoch}, expected ${ctx.epoch}`);
  if (iv.length !== 12 || wrapped.length !== ROOM_KEY_BYTES + GCM_TAG_BYTES) throw new CryptoError("decrypt-failed", "share has the wrong size");
  return { iv, wrapped, aad };
}
