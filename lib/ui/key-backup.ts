/**
 * The browser's key backup actions (issue 12, item 5), glue between the dialogs and
 * lib/client/key-backup.ts: the profile identity's wrapped secret (lib/crypto/identity-store.ts),
 * "Your rooms", Argon2id in a Web Worker, and where this profile's backup lives (IndexedDB, with its
 * non-extractable sealing key, so "Update backup" needs neither the code nor the passphrase again).
 */
import { ClientError, type CommandData, type CommandPayload } from "@/lib/client";
import { fetchBackupPublic } from "@/lib/client/backup-transport";
import { workerArgon2 } from "@/lib/client/argon2-worker";
import { browserEpochKeyStore } from "./persist/epoch-keys";
import { browserPairKeyStore } from "./persist/pair-keys";
import {
  applyPayload,
  BackupKeeper,
  buildPayload,
  fetchAndOpen,
  passphraseTarget,
  recoveryTarget,
  registerBackupEpochKeyStore,
  registerBackupPairKeyStore,
  storeBackup,
  type BackupCommand,
  type BackupRequester,
  type BackupSecret,
  type BackupTarget,
} from "@/lib/client/key-backup";
import {
  BackupError,
  decodeRecoveryCode,
  encodeRecoveryCode,
  exportIdentitySecret,
  installIdentity,
  loadProfileValue,
  newRecoveryKey,
  RecoveryCodeError,
  saveProfileValue,
} from "@/lib/crypto";
import { mergeRooms, recallRooms } from "./your-rooms";

/** Anything that can send an authenticated command (the store's ChatClient). */
export interface CommandSender {
  request<K extends BackupCommand>(event: K, payload: CommandPayload<K>): Promise<CommandData<K>>;
}

export interface BackupStatus {
  kind: "recovery" | "passphrase";
  version: number;
  backupId: string;
  updatedAt: number;
}

type SavedTarget = BackupTarget & { updatedAt: number };

export async function backupStatus(): Promise<BackupStatus | null> {
  const t = await loadProfileValue<SavedTarget>("backup").catch(() => undefined);
  if (!t || !(t.kek instanceof CryptoKey)) return null;
  return { kind: t.kdf.kind, version: t.version, backupId: t.backupId, updatedAt: t.updatedAt };
}

function requester(client: CommandSender): BackupRequester {
  return (event, payload) => client.request(event, payload);
}

async function seal(client: CommandSender, target: BackupTarget): Promise<BackupStatus> {
  const payload = await buildPayload(await exportIdentitySecret(), recallRooms());
  const stored = await storeBackup(requester(client), target, payload);
  const saved: SavedTarget = { ...stored, updatedAt: Date.now() };
  await saveProfileValue("backup", saved);
  return { kind: saved.kdf.kind, version: saved.version, backupId: saved.backupId, updatedAt: saved.updatedAt };
}

/** New recovery-key backup: returns the code to show once. */
export async function setUpRecoveryBackup(client: CommandSender): Promise<{ code: string; status: BackupStatus }> {
  const key = newRecoveryKey();
  const status = await seal(client, await recoveryTarget(key));
  return { code: await encodeRecoveryCode(key), status };
}

/** New passphrase backup under a name (Argon2id runs in a Web Worker: a few seconds). */
export async function setUpPassphraseBackup(client: CommandSender, name: string, passphrase: string): Promise<BackupStatus> {
  return seal(client, await passphraseTarget(name, passphrase, workerArgon2));
}

/** Stores the current identity, epoch keys, pair keys and rooms as the next version of this profile's backup. */
export async function updateBackup(client: CommandSender): Promise<BackupStatus> {
  const t = await loadProfileValue<SavedTarget>("backup");
  if (!t) throw new ClientError("NO_BACKUP", "this browser has no key backup set up");
  return seal(client, t);
}

/**
 * Keeps this profile's backup (if one is set up here) up to date by itself: a new epoch key, a room
 * joined or left stores the next version a few seconds later (lib/client/key-backup.ts BackupKeeper:
 * compare-and-swap, merged with a version another tab or device stored first). `client` is read at
 * each update (the store makes the client after the epoch-key store it watches).
 */
export function profileBackupKeeper(client: () => CommandSender | null): BackupKeeper {
  return new BackupKeeper({
    request: (event, payload) => {
      const c = client();
      if (!c) throw new ClientError("OFFLINE", "no connection to store the backup over");
      return c.request(event, payload);
    },
    loadTarget: async () => {
      const t = await loadProfileValue<SavedTarget>("backup").catch(() => undefined);
      return t && t.kek instanceof CryptoKey ? t : null;
    },
    saveTarget: (t) => saveProfileValue("backup", { ...t, updatedAt: Date.now() } satisfies SavedTarget),
    identity: () => exportIdentitySecret(),
    rooms: () => recallRooms(),
    // A failed update is tried again at the next change; "Update backup" in the dialog says why.
    onError: () => undefined,
  });
}

/** Restores into this browser: identity (replacing this profile's), epoch keys, QKD-hardened pair keys, rooms. */
export async function restoreBackup(
  url: string,
  secret: { kind: "recovery"; code: string } | { kind: "passphrase"; name: string; passphrase: string },
): Promise<{ userId: string; epochKeys: number; pairKeys: number; rooms: number }> {
  const s: BackupSecret = secret.kind === "recovery" ? { kind: "recovery", key: await decodeRecoveryCode(secret.code) } : secret;
  // No identity yet: the only command a restore sends is the public backup:fetch.
  const fetchOnly: BackupRequester = async (event, p) => {
    if (event !== "backup:fetch") throw new ClientError("NOT_AUTHENTICATED", "a restore only fetches");
    return (await fetchBackupPublic(url, p as CommandPayload<"backup:fetch">)) as never;
  };
  const { payload, target } = await fetchAndOpen(fetchOnly, s, workerArgon2);
  let userId = "";
  const counts = await applyPayload(
    payload,
    async (idSecret) => {
      userId = (await installIdentity(idSecret)).userId;
      // The restored identity's stores (IndexedDB) take the backup's keys, so history decrypts,
      // direct messages sealed under QKD-hardened pair keys included.
      registerBackupEpochKeyStore(browserEpochKeyStore(userId));
      registerBackupPairKeyStore(browserPairKeyStore(userId));
    },
    (rooms) => mergeRooms(rooms),
  );
  await saveProfileValue("backup", { ...target, updatedAt: Date.now() } satisfies SavedTarget);
  return { userId, ...counts };
}

/** One sentence a user can act on, for any failure of the above. */
export function backupErrorMessage(e: unknown): string {
  if (e instanceof BackupError) return e.reason === "wrong-secret" ? "Wrong passphrase or recovery key: the backup did not open." : e.message;
  if (e instanceof RecoveryCodeError) return `That recovery code is not right: ${e.message}.`;
  if (e instanceof ClientError) {
    if (e.code === "NO_BACKUP") return "No backup found under that name or recovery code.";
    if (e.code === "RATE_LIMITED") return `Too many attempts: ${e.message}.`;
    if (e.code === "BACKUP_CONFLICT") return e.message.charAt(0).toUpperCase() + e.message.slice(1) + ".";
    return `${e.message} (${e.code})`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * A rough passphrase strength hint (not a guarantee): bits from length and the character classes
 * used, capped lower for repeats. The server can try passphrases offline against the blob, so the
 * hint asks for at least ~60 bits (e.g. five random words).
 */
export function passphraseStrength(p: string): { bits: number; label: "too short" | "weak" | "fair" | "strong"; hint: string } {
  if (p.length < 12) return { bits: 0, label: "too short", hint: "Use at least 12 characters; five or more random words is best." };
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^A-Za-z0-9]/.test(p)) pool += 33;
  const distinct = new Set(p).size;
  const bits = Math.round(Math.min(p.length, distinct * 2) * Math.log2(Math.max(pool, 2)) * 0.6);
  if (bits < 45) return { bits, label: "weak", hint: "Easy to guess offline. Add more random words." };
  if (bits < 70) return { bits, label: "fair", hint: "Acceptable. A few more random words make offline guessing far harder." };
  return { bits, label: "strong", hint: "Strong. Write it down somewhere safe." };
}
