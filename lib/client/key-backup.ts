/**
 * Key backup, client side (issue 12, item 5): builds the payload (identity secret, epoch keys, room
 * list), seals it with lib/crypto/backup.ts, stores it with backup:put (compare-and-swap), and finds,
 * opens and applies it on restore. Browser- and Node-neutral: the Argon2id function, the transport
 * and where a restored identity goes are passed in, so integration tests run it with the memory
 * epoch-key store and Argon2id in-thread, and the browser with IndexedDB and a Web Worker.
 */
import {
  BackupError,
  decodeEpochKeys,
  encodeEpochKeys,
  fromB64url,
  importKek,
  kekFromRecoveryKey,
  newPassphraseKdf,
  openBackup,
  passphraseBackupId,
  readBackupHeader,
  recoveryBackupId,
  sealBackup,
  toB64url,
  type Argon2Params,
  type BackupKdf,
  type BackupPayload,
  type IdentitySecret,
} from "@/lib/crypto";
import type { CommandData, CommandPayload } from "@/lib/protocol";
import type { ExportableEpochKeyStore } from "./persist";

// ---- the epoch-key store a backup reads and a restore fills (registered by the browser layer) ----

let epochKeyStore: ExportableEpochKeyStore | null = null;

/**
 * Registers the store whose keys go into backups and which a restore fills (the IndexedDB store in
 * the browser, a MemoryEpochKeyStore in tests). Until one is registered, a backup holds no epoch
 * keys and a restore's keys are only counted.
 */
export function registerBackupEpochKeyStore(store: ExportableEpochKeyStore | null): void {
  epochKeyStore = store;
}

export function backupEpochKeyStore(): ExportableEpochKeyStore | null {
  return epochKeyStore;
}

// ---- types ---------------------------------------------------------------------------------------

/** Runs Argon2id: in-thread (Node, tests) or in a Web Worker (lib/client/argon2-worker.ts). */
export type Argon2Fn = (passphrase: string, salt: Uint8Array, params: Argon2Params) => Promise<Uint8Array>;

export type BackupCommand = "backup:fetch" | "backup:put";
export type BackupRequester = <K extends BackupCommand>(event: K, payload: CommandPayload<K>) => Promise<CommandData<K>>;

/** Where a backup lives and how to seal the next version: kept by the browser to update it later. */
export interface BackupTarget {
  backupId: string;
  kek: CryptoKey; // non-extractable
  kdf: BackupKdf;
  /** The version last stored (0: not stored yet). */
  version: number;
}

export type BackupSecret = { kind: "recovery"; key: Uint8Array } | { kind: "passphrase"; name: string; passphrase: string };

// ---- setting up and updating ---------------------------------------------------------------------

export async function recoveryTarget(recoveryKey: Uint8Array): Promise<BackupTarget> {
  return { backupId: await recoveryBackupId(recoveryKey), kek: await kekFromRecoveryKey(recoveryKey), kdf: { kind: "recovery" }, version: 0 };
}

/** A passphrase target with a fresh salt: runs Argon2id once (seconds, in a worker in the browser). */
export async function passphraseTarget(name: string, passphrase: string, argon2: Argon2Fn, params?: Argon2Params): Promise<BackupTarget> {
  const kdf = newPassphraseKdf(params);
  if (kdf.kind !== "passphrase") throw new Error("unreachable");
  const raw = await argon2(passphrase, kdf.salt, kdf.params);
  return { backupId: await passphraseBackupId(name), kek: await importKek(raw), kdf, version: 0 };
}

/** The payload: this identity's secret, every epoch key of the registered store, the room list. */
export async function buildPayload(identity: IdentitySecret, rooms: unknown[], now = Date.now()): Promise<BackupPayload> {
  const keys = epochKeyStore ? await epochKeyStore.exportAll() : [];
  return { v: 1, identity, epochKeys: encodeEpochKeys(keys), rooms, createdAt: now };
}

/**
 * Seals and stores the next version (compare-and-swap from target.version). Throws the server's
 * ClientError: BACKUP_CONFLICT when another tab or device stored a newer version first (fetch it,
 * open it and retry), or when a passphrase backup's name is taken.
 */
export async function storeBackup(request: BackupRequester, target: BackupTarget, payload: BackupPayload): Promise<BackupTarget> {
  const blob = await sealBackup(payload, target.kek, target.kdf, target.backupId);
  const { version } = await request("backup:put", { backupId: target.backupId, expectedVersion: target.version, blob: toB64url(blob) });
  return { ...target, version };
}

// ---- restoring -----------------------------------------------------------------------------------

/**
 * Finds and opens a backup. Throws the server's ClientError NO_BACKUP when nothing is stored under
 * that name or code, BackupError("kind") when the backup needs the other kind of secret, and
 * BackupError("wrong-secret") — "wrong passphrase or recovery key" — when it does not open.
 */
export async function fetchAndOpen(
  request: BackupRequester,
  secret: BackupSecret,
  argon2: Argon2Fn,
): Promise<{ payload: BackupPayload; target: BackupTarget }> {
  const backupId = secret.kind === "recovery" ? await recoveryBackupId(secret.key) : await passphraseBackupId(secret.name);
  const stored = await request("backup:fetch", { backupId });
  const blob = fromB64url(stored.blob);
  const { kdf } = readBackupHeader(blob);
  let kek: CryptoKey;
  if (kdf.kind === "recovery") {
    if (secret.kind !== "recovery") throw new BackupError("kind", "this backup is protected by a recovery code, not a passphrase");
    kek = await kekFromRecoveryKey(secret.key);
  } else {
    if (secret.kind !== "passphrase") throw new BackupError("kind", "this backup is protected by a passphrase, not a recovery code");
    kek = await importKek(await argon2(secret.passphrase, kdf.salt, kdf.params));
  }
  const payload = await openBackup(blob, kek, backupId);
  return { payload, target: { backupId, kek, kdf, version: stored.version } };
}

/**
 * Applies an opened backup: installs the identity (the caller's installer checks the key pairs),
 * puts the epoch keys into the registered store and hands the room list on. Returns counts.
 */
export async function applyPayload(
  payload: BackupPayload,
  installIdentity: (s: IdentitySecret) => Promise<unknown>,
  mergeRooms: (rooms: unknown[]) => void,
): Promise<{ epochKeys: number; rooms: number }> {
  await installIdentity(payload.identity);
  const keys = decodeEpochKeys(payload.epochKeys);
  if (epochKeyStore && keys.length) await epochKeyStore.importAll(keys);
  mergeRooms(payload.rooms);
  return { epochKeys: keys.length, rooms: payload.rooms.length };
}
