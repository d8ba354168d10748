/**
 * Key backup, client side (issue 12, item 5): builds the payload (identity secret, epoch keys,
 * QKD-hardened pair keys, room list), seals it with lib/crypto/backup.ts, stores it with backup:put
 * (compare-and-swap), and finds, opens and applies it on restore. Browser- and Node-neutral: the
 * Argon2id function, the transport and where a restored identity goes are passed in, so
 * integration tests run it with the memory epoch-key and pair-key stores and Argon2id in-thread,
 * and the browser with IndexedDB and a Web Worker.
 */
import {
  BackupError,
  decodeEpochKeys,
  decodePairKeys,
  encodeEpochKeys,
  encodePairKeys,
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
import type { ExportableEpochKeyStore, PairKeyStore } from "./persist";

// ---- the key stores a backup reads and a restore fills (registered by the browser layer) ---------

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

let pairKeyStore: PairKeyStore | null = null;

/**
 * Registers the store whose QKD-hardened pair keys go into backups and which a restore fills (the
 * IndexedDB store in the browser). Until one is registered, a backup holds no pair keys and a
 * restore's are only counted.
 */
export function registerBackupPairKeyStore(store: PairKeyStore | null): void {
  pairKeyStore = store;
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

/** The payload: this identity's secret, every epoch key and committed pair key of the registered stores, the room list. */
export async function buildPayload(identity: IdentitySecret, rooms: unknown[], now = Date.now()): Promise<BackupPayload> {
  const keys = epochKeyStore ? await epochKeyStore.exportAll() : [];
  const pairs = pairKeyStore ? await pairKeyStore.exportAll() : [];
  const pairKeys = encodePairKeys(pairs);
  for (const k of pairs) for (const b of [k.wrapKey, k.dmKey]) b.fill(0);
  return { v: 1, identity, epochKeys: encodeEpochKeys(keys), pairKeys, rooms, createdAt: now };
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
 * Applies an opened backup: installs the identity (the caller's installer checks the key pairs and
 * registers the stores of the restored identity), puts the epoch keys and pair keys into the
 * registered stores and hands the room list on. Returns counts. A backup made before pair keys
 * were carried has none: that pair is back to X25519 until a new BB84 session.
 */
export async function applyPayload(
  payload: BackupPayload,
  installIdentity: (s: IdentitySecret) => Promise<unknown>,
  mergeRooms: (rooms: unknown[]) => void,
): Promise<{ epochKeys: number; pairKeys: number; rooms: number }> {
  await installIdentity(payload.identity);
  const keys = decodeEpochKeys(payload.epochKeys);
  if (epochKeyStore && keys.length) await epochKeyStore.importAll(keys);
  const pairs = decodePairKeys(payload.pairKeys);
  try {
    if (pairKeyStore && pairs.length) await pairKeyStore.importAll(pairs);
  } finally {
    for (const k of pairs) for (const b of [k.wrapKey, k.dmKey]) b.fill(0);
  }
  mergeRooms(payload.rooms);
  return { epochKeys: keys.length, pairKeys: pairs.length, rooms: payload.rooms.length };
}

// ---- keeping a backup fresh ----------------------------------------------------------------------

/**
 * Wraps an epoch-key store so `changed` is called when it gains a key it did not hold (a new epoch,
 * a room joined, a key blob) or forgets a room. Restores (importAll) do not count: they come from
 * the backup itself.
 */
export function watchEpochKeys(store: ExportableEpochKeyStore, changed: () => void): ExportableEpochKeyStore {
  return {
    async put(roomId, epoch, raw) {
      const had = (await store.get(roomId, epoch)) !== undefined;
      await store.put(roomId, epoch, raw);
      if (!had) changed();
    },
    get: (roomId, epoch) => store.get(roomId, epoch),
    epochs: (roomId) => store.epochs(roomId),
    async deleteRoom(roomId) {
      const had = (await store.epochs(roomId)).length > 0;
      await store.deleteRoom(roomId);
      if (had) changed();
    },
    exportAll: () => store.exportAll(),
    importAll: (keys) => store.importAll(keys),
  };
}

/**
 * Wraps a pair-key store so `changed` is called when a BB84 session's keys are committed in it (the
 * verdict reached this client). Staged keys are not backed up, and restores (importAll) come from
 * the backup itself.
 */
export function watchPairKeys(store: PairKeyStore, changed: () => void): PairKeyStore {
  return {
    stage: (key, bytes) => store.stage(key, bytes),
    async commit(peerId, sessionId, success) {
      const before = (await store.get(peerId)).pending?.info.sessionId === sessionId;
      await store.commit(peerId, sessionId, success);
      if (before && success) changed();
    },
    get: (peerId) => store.get(peerId),
    prune: (peer) => store.prune(peer),
    watch: (fn) => store.watch(fn),
    exportAll: () => store.exportAll(),
    importAll: (keys) => store.importAll(keys),
  };
}

/** Ours, plus what the other version holds that ours lacks (epoch keys by (room, epoch), pair keys by (peer, session), rooms by id). */
export function mergePayloads(ours: BackupPayload, theirs: BackupPayload): BackupPayload {
  const have = new Set(ours.epochKeys.map((k) => `${k.roomId}\u0000${k.epoch}`));
  const epochKeys = [...ours.epochKeys, ...theirs.epochKeys.filter((k) => k && !have.has(`${k.roomId}\u0000${k.epoch}`))];
  const pairId = (k: { peerId?: unknown; info?: { sessionId?: unknown } } | null) => `${k?.peerId}\u0000${k?.info?.sessionId}`;
  const havePairs = new Set((ours.pairKeys ?? []).map(pairId));
  const theirPairs = Array.isArray(theirs.pairKeys) ? theirs.pairKeys : [];
  const pairKeys = [...(ours.pairKeys ?? []), ...theirPairs.filter((k) => k && !havePairs.has(pairId(k)))];
  const roomId = (r: unknown) =>
    r && typeof r === "object" && typeof (r as { roomId?: unknown }).roomId === "string" ? (r as { roomId: string }).roomId : null;
  const known = new Set(ours.rooms.map(roomId).filter((r) => r !== null));
  const rooms = [...ours.rooms, ...theirs.rooms.filter((r) => roomId(r) !== null && !known.has(roomId(r)!))];
  return { ...ours, epochKeys, pairKeys, rooms };
}

export interface BackupKeeperOptions {
  request: BackupRequester;
  /** This profile's backup target as last stored (null: no backup set up here: nothing to keep). */
  loadTarget(): Promise<BackupTarget | null>;
  saveTarget(target: BackupTarget): Promise<void>;
  /** The identity secret and room list to seal (the epoch keys come from the registered store). */
  identity(): Promise<IdentitySecret>;
  rooms(): unknown[];
  /** Quiet time after the last change before the backup is stored (default 2 s): a join brings several keys. */
  debounceMs?: number;
  /** Compare-and-swap attempts before giving up until the next change (default 4). */
  maxAttempts?: number;
  onStored?(target: BackupTarget): void;
  onError?(e: unknown): void;
}

/**
 * Keeps a key backup as fresh as the keys it protects: after a change (a new epoch key, a room
 * joined or left) and a quiet time, the next version is sealed and stored by compare-and-swap. When
 * another tab or device stored a version first (BACKUP_CONFLICT), that version is fetched, opened
 * with the same sealing key, merged (its keys and rooms that ours lack are kept) and stored on top
 * of it. A backup that does not open with our key (another secret set up elsewhere) is left alone.
 */
export class BackupKeeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly opts: BackupKeeperOptions) {}

  /** Something the backup holds changed: store a new version after the quiet time. */
  changed(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().catch((e) => this.opts.onError?.(e));
    }, this.opts.debounceMs ?? 2000);
  }

  /** Stores now if a change is pending or running; resolves when the backup is up to date. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.update();
        } while (this.again && !this.closed);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async update(): Promise<void> {
    let target = await this.opts.loadTarget();
    if (!target || target.version === 0) return;
    let payload = await buildPayload(await this.opts.identity(), this.opts.rooms());
    const attempts = this.opts.maxAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await storeBackup(this.opts.request, target, payload);
        await this.opts.saveTarget(stored);
        this.opts.onStored?.(stored);
        return;
      } catch (e) {
        if ((e as { code?: unknown })?.code !== "BACKUP_CONFLICT" || attempt >= attempts) throw e;
        const current: CommandData<"backup:fetch"> = await this.opts.request("backup:fetch", { backupId: target.backupId });
        // Throws BackupError("wrong-secret") when the stored version is sealed under another secret.
        const theirs = await openBackup(fromB64url(current.blob), target.kek, target.backupId);
        payload = mergePayloads(payload, theirs);
        target = { ...target, version: current.version };
      }
    }
  }
}
