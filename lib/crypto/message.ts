/**
 * Messages: AES-256-GCM with a fresh 96-bit IV; AAD = transcript("QSEC-MSG-v1", roomId, epoch,
 * senderId, counter, to ?? ""); the sender signs transcript("QSEC-MSG-SIG-v1", AAD, iv, ciphertext).
 * Receivers verify before decrypting, then check room, epoch, recipient and replay.
 */
import type { MessageReceived } from "@/lib/protocol";
import { CryptoError } from "./errors";
import { buf, fromB64url, fromUtf8, toB64url, transcript, utf8 } from "./encoding";
import { assertSenderKey, sign, verify, type Identity } from "./identity";
import { randomBytes, subtle } from "./subtle";
import { SenderFloors } from "./replay-floors";

export const LABEL_MSG = "QSEC-MSG-v1";
export const LABEL_MSG_SIG = "QSEC-MSG-SIG-v1";

export interface MessageHeader {
  roomId: string;
  epoch: number; // 0 for direct messages (the pair key has no epoch)
  senderId: string;
  counter: number;
  to?: string; // direct message recipient
}

export interface EncryptedMessage {
  iv: string;
  ciphertext: string;
  signature: string;
}

export interface DecryptExpectation {
  roomId: string;
  /** Required epoch for room messages; omit for direct messages. */
  epoch?: number;
  /**
   * For a direct message: the id it must be addressed to (normally your own). A message whose `to`
   * differs, or a direct message when this is omitted, or a room message when this is given, is
   * rejected as "wrong-recipient".
   */
  recipientId?: string;
  /** When given, a replayed (sender, scope, counter) is rejected as "replay" after the checks pass. */
  replayGuard?: ReplayGuard;
}

export function messageAad(h: MessageHeader): Uint8Array {
  return transcript(LABEL_MSG, h.roomId, h.epoch, h.senderId, h.counter, h.to ?? "");
}

function messageSigTranscript(aad: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return transcript(LABEL_MSG_SIG, aad, iv, ciphertext);
}

export async function encryptMessage(identity: Identity, key: CryptoKey, header: MessageHeader, plaintext: Uint8Array): Promise<EncryptedMessage> {
  if (header.senderId !== identity.userId) throw new CryptoError("bad-key", "senderId must be the signer's own user id");
  const aad = messageAad(header);
  const iv = randomBytes(12);
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: buf(aad) }, key, buf(plaintext)));
  const signature = await sign(identity, messageSigTranscript(aad, iv, ct));
  return { iv: toB64url(iv), ciphertext: toB64url(ct), signature };
}

/** The replay scope used by decryptMessage: per room, and per epoch or "dm". */
export function replayScope(msg: Pick<MessageReceived, "roomId" | "epoch" | "to">): string {
  return msg.to ? `${msg.roomId}/dm` : `${msg.roomId}/e${msg.epoch}`;
}

export async function decryptMessage(
  key: CryptoKey,
  senderSigningKey: string,
  msg: MessageReceived,
  expect: DecryptExpectation,
): Promise<Uint8Array<ArrayBuffer>> {
  await assertSenderKey(senderSigningKey, msg.from, "message");
  let iv: Uint8Array, ct: Uint8Array, aad: Uint8Array;
  try {
    iv = fromB64url(msg.iv);
    ct = fromB64url(msg.ciphertext);
    aad = messageAad({ roomId: msg.roomId, epoch: msg.epoch, senderId: msg.from, counter: msg.counter, to: msg.to ?? undefined });
  } catch {
    throw new CryptoError("bad-signature", "malformed message");
  }
  if (!(await verify(senderSigningKey, messageSigTranscript(aad, iv, ct), msg.signature))) {
    throw new CryptoError("bad-signature", "message signature does not verify");
  }
  if (msg.roomId !== expect.roomId) throw new CryptoError("wrong-room", "message is for another room");
  if ((msg.to ?? undefined) !== expect.recipientId) throw new CryptoError("wrong-recipient", "message is addressed to someone else");
  if (expect.epoch !== undefined && msg.epoch !== expect.epoch) {
    throw new CryptoError("wrong-epoch", `message is for epoch ${msg.epoch}, expected ${expect.epoch}`);
  }
  if (iv.length !== 12) throw new CryptoError("decrypt-failed", "IV must be 12 bytes");
  let pt: Uint8Array<ArrayBuffer>;
  try {
    pt = new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: buf(iv), additionalData: buf(aad) }, key, buf(ct)));
  } catch {
    throw new CryptoError("decrypt-failed", "message does not decrypt under this key");
  }
  if (expect.replayGuard && !expect.replayGuard.accept(msg.from, replayScope(msg), msg.counter)) {
    throw new CryptoError("replay", `counter ${msg.counter} from this sender was already seen`);
  }
  return pt;
}

/**
 * Rejects a (sender, scope, counter) seen before, in bounded memory: per (sender, scope), the
 * highest counter seen plus a 1024-bit window of the counters just below it (as in IPsec/DTLS).
 * Counters more than 1024 below the highest are rejected as too old. At most `maxEntries` windows
 * are kept (least recently used evicted); an evicted window leaves its sender a lower bound (its
 * highest counter: a sender's counter is shared by all its scopes and only grows), and a counter
 * at or below that bound with no window is rejected — eviction used to forget, so a relay that
 * flooded 4,096 windows could show an old DM a second time. Bounds are per sender
 * (lib/crypto/replay-floors.ts), kept for at most `maxSenders`.
 */
export class ReplayGuard {
  static readonly WINDOW = 1024;
  private readonly windows = new Map<string, { highest: number; bitmap: bigint; sender: string }>();
  private readonly floors: SenderFloors;
  constructor(
    private readonly maxEntries = 4096,
    maxSenders = 65_536,
  ) {
    this.floors = new SenderFloors(maxSenders);
  }

  accept(senderId: string, scope: string, counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    const id = JSON.stringify([senderId, scope]);
    const w = this.windows.get(id);
    const W = ReplayGuard.WINDOW;
    if (!w) {
      if (!this.floors.above(senderId, counter)) return false;
      this.set(id, { highest: counter, bitmap: 1n, sender: senderId });
      return true;
    }
    this.windows.delete(id); // re-insert below: keeps Map order = recency
    this.windows.set(id, w);
    if (counter > w.highest) {
      const shift = counter - w.highest;
      w.bitmap = shift >= W ? 1n : ((w.bitmap << BigInt(shift)) | 1n) & ((1n << BigInt(W)) - 1n);
      w.highest = counter;
      return true;
    }
    const d = w.highest - counter;
    if (d >= W) return false;
    const bit = 1n << BigInt(d);
    if (w.bitmap & bit) return false;
    w.bitmap |= bit;
    return true;
  }

  /** Drops every window of a scope (e.g. when an epoch's key is discarded). */
  forgetScope(scope: string): void {
    for (const id of [...this.windows.keys()]) if ((JSON.parse(id) as string[])[1] === scope) this.windows.delete(id);
  }

  get size(): number {
    return this.windows.size;
  }

  private set(id: string, w: { highest: number; bitmap: bigint; sender: string }): void {
    this.windows.set(id, w);
    while (this.windows.size > this.maxEntries) {
      const oldest = this.windows.keys().next().value as string;
      const gone = this.windows.get(oldest)!;
      this.windows.delete(oldest);
      this.floors.raise(gone.sender, gone.highest);
    }
  }
}

// ---- chat payload codec ---------------------------------------------------------------------

export const MAX_TEXT_BYTES = 16 * 1024;
const PAYLOAD_VERSION = 1;
/** A message that announces an attachment (issue 16): version 1's fields, then the AttachmentRef. */
const PAYLOAD_VERSION_ATTACHMENT = 2;
const PAD_BLOCK = 64;
/** The announcement's JSON, thumbnail included, stays well inside one message's ciphertext limit. */
export const MAX_ATTACHMENT_REF_BYTES = 40 * 1024;
export const MAX_THUMBNAIL_BYTES = 24 * 1024;

/**
 * Everything a reader needs to fetch, open and show an attachment, and nothing the server may see:
 * it travels only inside the end-to-end encrypted message (lib/crypto/attachment-stream.ts).
 */
export interface AttachmentRef {
  /** The server's random id of the stored ciphertext. */
  id: string;
  name: string;
  mime: string;
  /** Plaintext bytes. */
  size: number;
  /** Content hash, base64url: SHA-256 over the SHA-256 of each 64 KiB segment's plaintext (ContentHasher; checked after the last segment opens). */
  sha256: string;
  /** The file key (32 bytes) and file id (16 bytes), base64url. */
  key: string;
  fileId: string;
  /** A small preview made and encrypted by the sender's browser (images only). */
  thumb?: { mime: "image/jpeg" | "image/webp" | "image/png"; data: string; width: number; height: number };
}

export interface ChatPayload {
  text: string;
  sentAt: number; // ms since the epoch, set by the sender (not trusted for ordering)
  attachment?: AttachmentRef;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks an AttachmentRef's shape (a peer's message is untrusted input); returns it or throws. */
export function checkAttachmentRef(a: unknown): AttachmentRef {
  const bad = (why: string): never => {
    throw new CryptoError("bad-encoding", `attachment: ${why}`);
  };
  if (typeof a !== "object" || a === null) return bad("not an object");
  const r = a as Record<string, unknown>;
  const str = (k: string, max: number, re?: RegExp) => {
    const v = r[k];
    if (typeof v !== "string" || v.length > max || (re && !re.test(v))) bad(`bad ${k}`);
    return v as string;
  };
  const id = str("id", 22, /^[A-Za-z0-9_-]{22}$/);
  const name = str("name", 255);
  const mime = str("mime", 127, /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$|^$/i);
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 0) bad("bad size");
  const sha256 = str("sha256", 43, /^[A-Za-z0-9_-]{43}$/);
  const key = str("key", 43, /^[A-Za-z0-9_-]{43}$/);
  const fileId = str("fileId", 22, /^[A-Za-z0-9_-]{22}$/);
  const out: AttachmentRef = { id, name, mime, size: r.size as number, sha256, key, fileId };
  if (r.thumb !== undefined) {
    const t = r.thumb as Record<string, unknown>;
    if (typeof t !== "object" || t === null) bad("bad thumbnail");
    if (t.mime !== "image/jpeg" && t.mime !== "image/webp" && t.mime !== "image/png") bad("bad thumbnail type");
    if (typeof t.data !== "string" || t.data.length > Math.ceil((MAX_THUMBNAIL_BYTES * 4) / 3) + 4 || !B64.test(t.data)) bad("bad thumbnail data");
    const dim = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= 4096;
    if (!dim(t.width) || !dim(t.height)) bad("bad thumbnail size");
    out.thumb = { mime: t.mime as "image/jpeg", data: t.data as string, width: t.width as number, height: t.height as number };
  }
  return out;
}

/**
 * Binary, padded to a multiple of 64 bytes so the ciphertext length reveals only a coarse size:
 *   version(1) = 1 ‖ sentAt u64 BE ‖ textLength u32 BE ‖ text UTF-8 ‖ zero padding
 *   version(1) = 2 ‖ sentAt u64 BE ‖ textLength u32 BE ‖ text UTF-8 ‖ refLength u32 BE ‖ AttachmentRef JSON ‖ zero padding
 */
export function encodeChatPayload(p: ChatPayload): Uint8Array<ArrayBuffer> {
  if (typeof p?.text !== "string") throw new CryptoError("bad-encoding", "text must be a string");
  if (!Number.isSafeInteger(p.sentAt) || p.sentAt < 0) throw new CryptoError("bad-encoding", "sentAt must be a non-negative integer");
  const text = utf8(p.text);
  if (text.length > MAX_TEXT_BYTES) throw new CryptoError("bad-encoding", `text longer than ${MAX_TEXT_BYTES} bytes`);
  const ref = p.attachment === undefined ? null : utf8(JSON.stringify(checkAttachmentRef(p.attachment)));
  if (ref && ref.length > MAX_ATTACHMENT_REF_BYTES)
    throw new CryptoError("bad-encoding", `attachment announcement longer than ${MAX_ATTACHMENT_REF_BYTES} bytes`);
  const body = 1 + 8 + 4 + text.length + (ref ? 4 + ref.length : 0);
  const out = new Uint8Array(Math.ceil(body / PAD_BLOCK) * PAD_BLOCK);
  const view = new DataView(out.buffer);
  out[0] = ref ? PAYLOAD_VERSION_ATTACHMENT : PAYLOAD_VERSION;
  view.setUint32(1, Math.floor(p.sentAt / 2 ** 32));
  view.setUint32(5, p.sentAt >>> 0);
  view.setUint32(9, text.length);
  out.set(text, 13);
  if (ref) {
    view.setUint32(13 + text.length, ref.length);
    out.set(ref, 17 + text.length);
  }
  return out;
}

export function decodeChatPayload(bytes: Uint8Array): ChatPayload {
  if (!(bytes instanceof Uint8Array) || bytes.length < 13 || bytes.length % PAD_BLOCK !== 0) {
    throw new CryptoError("bad-encoding", "chat payload has a bad length");
  }
  const version = bytes[0];
  if (version !== PAYLOAD_VERSION && version !== PAYLOAD_VERSION_ATTACHMENT) throw new CryptoError("bad-encoding", `unknown chat payload version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hi = view.getUint32(1);
  if (hi >= 2 ** 21) throw new CryptoError("bad-encoding", "sentAt out of range");
  const sentAt = hi * 2 ** 32 + view.getUint32(5);
  const len = view.getUint32(9);
  if (len > MAX_TEXT_BYTES || 13 + len > bytes.length) throw new CryptoError("bad-encoding", "text length out of range");
  let end = 13 + len;
  const text = fromUtf8(bytes.subarray(13, end));
  let attachment: AttachmentRef | undefined;
  if (version === PAYLOAD_VERSION_ATTACHMENT) {
    if (end + 4 > bytes.length) throw new CryptoError("bad-encoding", "attachment length missing");
    const refLen = view.getUint32(end);
    if (refLen > MAX_ATTACHMENT_REF_BYTES || end + 4 + refLen > bytes.length) throw new CryptoError("bad-encoding", "attachment length out of range");
    let parsed: unknown;
    try {
      parsed = JSON.parse(fromUtf8(bytes.subarray(end + 4, end + 4 + refLen)));
    } catch {
      throw new CryptoError("bad-encoding", "attachment is not JSON");
    }
    attachment = checkAttachmentRef(parsed);
    end += 4 + refLen;
  }
  if (Math.ceil(end / PAD_BLOCK) * PAD_BLOCK !== bytes.length) throw new CryptoError("bad-encoding", "too much padding");
  for (let i = end; i < bytes.length; i++) if (bytes[i] !== 0) throw new CryptoError("bad-encoding", "non-zero padding");
  return attachment ? { text, sentAt, attachment } : { text, sentAt };
}
