/**
 * Key backup blobs (issue 12, item 5): a profile's identity, the epoch keys it holds, its
 * QKD-hardened pair keys and its room list, sealed client-side so the server stores bytes it cannot
 * read.
 *
 * Blob, version 1 (all integers big-endian):
 *   "QSB1" ‖ kind (1 = recovery key, 2 = Argon2id passphrase)
 *          ‖ [kind 2: memoryKiB u32 ‖ iterations u32 ‖ parallelism u8 ‖ salt (16 bytes)]
 *          ‖ iv (12 bytes) ‖ AES-256-GCM(KEK, iv, payload JSON, AAD)
 *   AAD = transcript("QSEC-BACKUP-v1", backupId, header)   header = every byte before the iv
 * so a blob moved to another backup id, or with its KDF settings edited, fails to open.
 *
 * KEK and locator (the backup id the server files the blob under, 16 bytes as 32 hex characters):
 *   recovery key K (32 random bytes): KEK = HKDF-SHA256(K, "", "QSEC-BACKUP-KEK-v1"),
 *                                     backupId = HKDF-SHA256(K, "", "QSEC-BACKUP-ID-v1")[0..16]
 *     — the code alone finds and opens the backup; the id reveals nothing about K (HKDF, RFC 5869).
 *   passphrase P, backup name N:      KEK = Argon2id(P, salt, m, t, p) (lib/client/argon2.ts),
 *                                     backupId = SHA-256(transcript("QSEC-BACKUP-NAME-v1", normalize(N)))[0..16]
 *     — the user gives the name to find it; the salt travels in the header.
 */
import { CryptoError } from "./errors";
import { buf, concatBytes, fromB64url, fromUtf8, toB64url, toHex, transcript, utf8 } from "./encoding";
import { hkdf } from "./hkdf";
import { randomBytes, subtle } from "./subtle";
import { ARGON2_DEFAULT, checkArgon2Params, type Argon2Params } from "./argon2-params";
import type { IdentitySecret } from "./identity-secret";

const MAGIC = utf8("QSB1");
const KIND_RECOVERY = 1;
const KIND_PASSPHRASE = 2;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const LABEL_AAD = "QSEC-BACKUP-v1";
export const BACKUP_FORMAT_VERSION = 1;

/** The key backup's contents, in the clear only inside the browser that seals or opens it. */
export interface BackupPayload {
  v: 1;
  identity: IdentitySecret;
  /** Epoch keys (lib/client/persist.ts ExportableEpochKeyStore), raw bytes base64url. */
  epochKeys: { roomId: string; epoch: number; raw: string }[];
  /**
   * The QKD-hardened pair keys of committed BB84 sessions (lib/client/persist.ts PairKeyStore),
   * each bound to the peer's public keys, the two 32-byte keys base64url. Absent in backups made
   * before they were carried.
   */
  pairKeys?: BackupPairKey[];
  /** "Your rooms" (lib/ui/your-rooms.ts entries); checked again when merged. */
  rooms: unknown[];
  createdAt: number;
}

/** One session's hybrid pair keys in a payload (the session's summary as lib/client's QkdPairView). */
export interface BackupPairKey {
  peerId: string;
  signingKey: string;
  agreementKey: string;
  info: { hardened: boolean; sessionId: string; qber: number | null; keyBits: number; at: string };
  wrapKey: string;
  dmKey: string;
}

export type BackupKdf = { kind: "recovery" } | { kind: "passphrase"; params: Argon2Params; salt: Uint8Array };

export class BackupError extends Error {
  constructor(
    /** format: not a QSEC backup; wrong-secret: GCM refused (wrong passphrase/recovery key, or altered); kind: the other secret type is needed. */
    readonly reason: "format" | "wrong-secret" | "kind",
    message: string,
  ) {
    super(message);
    this.name = "BackupError";
  }
}

export const WRONG_SECRET_MESSAGE = "Wrong passphrase or recovery key: this backup does not open with it.";

/** A backup name as the locator hashes it: trimmed, NFKC, lower case. At least 3 characters. */
export function normalizeBackupName(name: string): string {
  const n = name.normalize("NFKC").trim().toLowerCase();
  if (n.length < 3 || n.length > 128) throw new CryptoError("bad-encoding", "a backup name has 3 to 128 characters");
  return n;
}

export async function passphraseBackupId(name: string): Promise<string> {
  const d = new Uint8Array(await subtle().digest("SHA-256", transcript("QSEC-BACKUP-NAME-v1", normalizeBackupName(name))));
  return toHex(d.subarray(0, 16));
}

export async function recoveryBackupId(recoveryKey: Uint8Array): Promise<string> {
  return toHex(await hkdf(recoveryKey, new Uint8Array(0), utf8("QSEC-BACKUP-ID-v1"), 16));
}

/** The sealing key as a non-extractable AES-GCM CryptoKey (so a browser can keep it to update the backup). */
export async function kekFromRecoveryKey(recoveryKey: Uint8Array): Promise<CryptoKey> {
  if (recoveryKey.length !== 32) throw new CryptoError("bad-key", "a recovery key is 32 bytes");
  return importKek(await hkdf(recoveryKey, new Uint8Array(0), utf8("QSEC-BACKUP-KEK-v1"), 32));
}

export async function importKek(raw: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey("raw", buf(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** A passphrase KDF header with a fresh random salt. */
export function newPassphraseKdf(params: Argon2Params = ARGON2_DEFAULT): BackupKdf {
  return { kind: "passphrase", params, salt: randomBytes(SALT_BYTES) };
}

function encodeHeader(kdf: BackupKdf): Uint8Array<ArrayBuffer> {
  if (kdf.kind === "recovery") return concatBytes(MAGIC, new Uint8Array([KIND_RECOVERY]));
  checkArgon2Params(kdf.params);
  if (kdf.salt.length !== SALT_BYTES) throw new CryptoError("bad-encoding", "an Argon2id salt is 16 bytes");
  const p = new Uint8Array(9);
  const v = new DataView(p.buffer);
  v.setUint32(0, kdf.params.memoryKiB);
  v.setUint32(4, kdf.params.iterations);
  p[8] = kdf.params.parallelism;
  return concatBytes(MAGIC, new Uint8Array([KIND_PASSPHRASE]), p, kdf.salt);
}

/** Reads a blob's header (KDF kind and settings) without any key; BackupError("format") if it is not one. */
export function readBackupHeader(blob: Uint8Array): { kdf: BackupKdf; header: Uint8Array; iv: Uint8Array; ciphertext: Uint8Array } {
  const bad = () => new BackupError("format", "this is not a QSEC key backup (or a newer format)");
  if (blob.length < MAGIC.length + 1 || MAGIC.some((b, i) => blob[i] !== b)) throw bad();
  const kind = blob[MAGIC.length];
  let o = MAGIC.length + 1;
  let kdf: BackupKdf;
  if (kind === KIND_RECOVERY) kdf = { kind: "recovery" };
  else if (kind === KIND_PASSPHRASE) {
    if (blob.length < o + 9 + SALT_BYTES) throw bad();
    const v = new DataView(blob.buffer, blob.byteOffset + o, 9);
    const params = { memoryKiB: v.getUint32(0), iterations: v.getUint32(4), parallelism: v.getUint8(8) };
    try {
      checkArgon2Params(params);
    } catch {
      throw bad();
    }
    o += 9;
    kdf = { kind: "passphrase", params, salt: blob.slice(o, o + SALT_BYTES) };
    o += SALT_BYTES;
  } else throw bad();
  if (blob.length < o + IV_BYTES + 16) throw bad();
  return { kdf, header: blob.subarray(0, o), iv: blob.subarray(o, o + IV_BYTES), ciphertext: blob.subarray(o + IV_BYTES) };
}

function aad(backupId: string, header: Uint8Array): Uint8Array<ArrayBuffer> {
  return transcript(LABEL_AAD, backupId, header);
}

/** Seals a payload under a KEK (from kekFromRecoveryKey, or importKek(Argon2id(...))) for one backup id. */
export async function sealBackup(payload: BackupPayload, kek: CryptoKey, kdf: BackupKdf, backupId: string): Promise<Uint8Array<ArrayBuffer>> {
  const header = encodeHeader(kdf);
  const iv = randomBytes(IV_BYTES);
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: aad(backupId, header) }, kek, utf8(JSON.stringify(payload))));
  return concatBytes(header, iv, ct);
}

/** Opens a blob; BackupError("wrong-secret") when the KEK does not open it (or any byte was changed). */
export async function openBackup(blob: Uint8Array, kek: CryptoKey, backupId: string): Promise<BackupPayload> {
  const { header, iv, ciphertext } = readBackupHeader(blob);
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: buf(iv), additionalData: aad(backupId, header) }, kek, buf(ciphertext)));
  } catch {
    throw new BackupError("wrong-secret", WRONG_SECRET_MESSAGE);
  }
  let p: BackupPayload;
  try {
    p = JSON.parse(fromUtf8(plain)) as BackupPayload;
  } catch {
    throw new BackupError("format", "the backup opened but its contents are not readable");
  }
  if (!p || p.v !== 1 || typeof p.identity !== "object" || !Array.isArray(p.epochKeys) || !Array.isArray(p.rooms)) {
    throw new BackupError("format", "the backup opened but its contents are not a version 1 backup");
  }
  return p;
}

/** Epoch keys to and from the payload's base64url form (each key must be 32 bytes). */
export function encodeEpochKeys(keys: { roomId: string; epoch: number; raw: Uint8Array }[]): BackupPayload["epochKeys"] {
  return keys.map((k) => ({ roomId: k.roomId, epoch: k.epoch, raw: toB64url(k.raw) }));
}

export function decodeEpochKeys(keys: BackupPayload["epochKeys"]): { roomId: string; epoch: number; raw: Uint8Array }[] {
  const out: { roomId: string; epoch: number; raw: Uint8Array }[] = [];
  for (const k of keys) {
    if (!k || typeof k.roomId !== "string" || !Number.isSafeInteger(k.epoch) || k.epoch < 0 || typeof k.raw !== "string") continue;
    let raw: Uint8Array;
    try {
      raw = fromB64url(k.raw);
    } catch {
      continue;
    }
    if (raw.length === 32) out.push({ roomId: k.roomId, epoch: k.epoch, raw });
  }
  return out;
}

type PairKeyWithBytes = Omit<BackupPairKey, "wrapKey" | "dmKey"> & { wrapKey: Uint8Array; dmKey: Uint8Array };

/** Pair keys to and from the payload's base64url form (each key 32 bytes; malformed entries are skipped). */
export function encodePairKeys(keys: PairKeyWithBytes[]): BackupPairKey[] {
  return keys.map((k) => ({
    peerId: k.peerId,
    signingKey: k.signingKey,
    agreementKey: k.agreementKey,
    info: { hardened: true, sessionId: k.info.sessionId, qber: k.info.qber, keyBits: k.info.keyBits, at: k.info.at },
    wrapKey: toB64url(k.wrapKey),
    dmKey: toB64url(k.dmKey),
  }));
}

export function decodePairKeys(keys: unknown): PairKeyWithBytes[] {
  if (!Array.isArray(keys)) return [];
  const out: PairKeyWithBytes[] = [];
  const str = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 256;
  for (const k of keys as Partial<BackupPairKey>[]) {
    const info = k?.info;
    if (!k || !str(k.peerId) || !str(k.signingKey) || !str(k.agreementKey) || !str(k.wrapKey) || !str(k.dmKey)) continue;
    if (!info || !str(info.sessionId) || !str(info.at) || Number.isNaN(Date.parse(info.at))) continue;
    if (!Number.isSafeInteger(info.keyBits) || (info.qber !== null && typeof info.qber !== "number")) continue;
    let wrapKey: Uint8Array, dmKey: Uint8Array;
    try {
      wrapKey = fromB64url(k.wrapKey);
      dmKey = fromB64url(k.dmKey);
    } catch {
      continue;
    }
    if (wrapKey.length !== 32 || dmKey.length !== 32) continue;
    const view = { hardened: true, sessionId: info.sessionId, qber: info.qber, keyBits: info.keyBits, at: info.at };
    out.push({ peerId: k.peerId, signingKey: k.signingKey, agreementKey: k.agreementKey, info: view, wrapKey, dmKey });
  }
  return out;
}
