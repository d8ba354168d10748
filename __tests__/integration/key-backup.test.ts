/**
 * Key backup against the real server and a real SQLite database: a member backs up (passphrase or
 * recovery key) through backup:put, a fresh client with no identity fetches it through the public
 * backup:fetch and comes back as the same member with its epoch keys; updates are compare-and-swap;
 * look-ups are rate limited per address and per backup id; the database holds no key bytes.
 */
import { databaseBytes } from "../helpers/server";
import type { ChatClient } from "@/lib/client";
import { asRequester, publicRequester as publicRequesterAt } from "../helpers/backup-requesters";
import {
  applyPayload,
  buildPayload,
  fetchAndOpen,
  passphraseTarget,
  recoveryTarget,
  registerBackupEpochKeyStore,
  storeBackup,
  type Argon2Fn,
} from "@/lib/client/key-backup";
import { MemoryEpochKeyStore } from "@/lib/client/persist";
import { BackupError, fromB64url, generateIdentityWithSecret, identityFromSecret, newRecoveryKey, toB64url, type IdentitySecret } from "@/lib/crypto";
import { argon2idKey } from "@/lib/client/argon2";
import { BACKUP_LIMITS } from "@/lib/protocol";
import { honestClients } from "../helpers/clients";
import { serverPerTest } from "../helpers/per-test";

// Argon2id in-thread with small settings (inside the accepted bounds): the protocol is under test here, not the cost.
const FAST = { memoryKiB: 8 * 1024, iterations: 1, parallelism: 1 };
const argon2: Argon2Fn = (p, salt, params) => argon2idKey(p, salt, params);

const t = serverPerTest();
const { clients, makeClient } = honestClients(() => t.srv.url);
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  registerBackupEpochKeyStore(null);
});

const publicRequester = () => publicRequesterAt(t.srv.url);

async function member(): Promise<{ client: ChatClient; secret: IdentitySecret }> {
  const { identity, secret } = await generateIdentityWithSecret();
  return { client: await makeClient(identity), secret };
}

test("passphrase backup → a fresh client restores the same member and its epoch keys; a wrong passphrase says so", async () => {
  const { client, secret } = await member();
  const keys = new MemoryEpochKeyStore();
  await keys.put("room-a", 1, new Uint8Array(32).fill(1));
  await keys.put("room-a", 2, new Uint8Array(32).fill(2));
  registerBackupEpochKeyStore(keys);
  const target = await passphraseTarget("ann-laptop", "purple otter juggles nine lanterns", argon2, FAST);
  const stored = await storeBackup(asRequester(client), target, await buildPayload(secret, [{ roomId: "room-a", name: "Ann", lastJoined: 5 }]));
  expect(stored.version).toBe(1);

  // A fresh browser: no identity, an empty key store, an unauthenticated look-up by name.
  const fresh = new MemoryEpochKeyStore();
  registerBackupEpochKeyStore(fresh);
  const wrong = await fetchAndOpen(
    publicRequester(),
    { kind: "passphrase", name: "ann-laptop", passphrase: "purple otter juggles nine lantern" },
    argon2,
  ).catch((e: unknown) => e);
  expect(wrong).toBeInstanceOf(BackupError);
  expect((wrong as Error).message).toMatch(/wrong passphrase or recovery key/i);

  const { payload, target: restoredTarget } = await fetchAndOpen(
    publicRequester(),
    { kind: "passphrase", name: " Ann-Laptop ", passphrase: "purple otter juggles nine lanterns" },
    argon2,
  );
  let restored: ChatClient | null = null;
  let rooms: unknown[] = [];
  const counts = await applyPayload(
    payload,
    async (s) => {
      restored = await makeClient(await identityFromSecret(s));
    },
    (r) => (rooms = r),
  );
  expect(counts).toEqual({ epochKeys: 2, pairKeys: 0, rooms: 1 });
  expect(await fresh.epochs("room-a")).toEqual([1, 2]);
  expect(rooms).toEqual([{ roomId: "room-a", name: "Ann", lastJoined: 5 }]);
  expect(restoredTarget.version).toBe(1);
  // The server authenticated the restored identity as the backup's owner: only the owner may update it.
  const v2 = await storeBackup(asRequester(restored!), restoredTarget, await buildPayload(payload.identity, rooms));
  expect(v2.version).toBe(2);
});

test("a recovery-key backup is found by the key alone and updated by compare-and-swap", async () => {
  const { client, secret } = await member();
  const key = newRecoveryKey();
  const v1 = await storeBackup(asRequester(client), await recoveryTarget(key), await buildPayload(secret, []));
  const { target } = await fetchAndOpen(publicRequester(), { kind: "recovery", key }, argon2);
  expect(target.version).toBe(1);
  // Two tabs update from version 1 at once: exactly one wins, the other learns the current version.
  const results = await Promise.allSettled([
    storeBackup(asRequester(client), v1, await buildPayload(secret, [])),
    storeBackup(asRequester(client), v1, await buildPayload(secret, [])),
  ]);
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  expect(lost.reason).toMatchObject({ code: "BACKUP_CONFLICT" });
  expect(lost.reason.message).toMatch(/now version 2/);
  // Re-creating an existing backup is a conflict too; a stale version stays refused.
  await expect(storeBackup(asRequester(client), { ...v1, version: 0 }, await buildPayload(secret, []))).rejects.toMatchObject({ code: "BACKUP_CONFLICT" });
  expect((await storeBackup(asRequester(client), { ...v1, version: 2 }, await buildPayload(secret, []))).version).toBe(3);
  // Another identity cannot overwrite it, from any version.
  const other = await member();
  await expect(storeBackup(asRequester(other.client), { ...v1, version: 3 }, await buildPayload(other.secret, []))).rejects.toMatchObject({
    code: "BACKUP_CONFLICT",
    message: expect.stringMatching(/another identity/),
  });
  const row = await t.srv.prisma.keyBackup.findUniqueOrThrow({ where: { id: target.backupId } });
  expect(row.version).toBe(3);
  expect(row.ownerId).toBe((await identityFromSecret(secret)).userId);
});

test("clear refusals: unknown backup, bad id, update of a missing one, no identity, oversized blob", async () => {
  const anon = await t.raw({ authenticate: false });
  expect(await anon.call("backup:fetch", { backupId: "0".repeat(32) })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
  expect(await anon.call("backup:fetch", { backupId: "XYZ" })).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  expect(await anon.call("backup:put", { backupId: "0".repeat(32), expectedVersion: 0, blob: "AAAA" })).toMatchObject({
    ok: false,
    error: { code: "NOT_AUTHENTICATED" },
  });
  const a = await t.raw();
  expect(await a.call("backup:put", { backupId: "1".repeat(32), expectedVersion: 4, blob: "AAAA" })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
  const big = toB64url(new Uint8Array(BACKUP_LIMITS.maxBlobBytes + 1));
  expect(await a.call("backup:put", { backupId: "1".repeat(32), expectedVersion: 0, blob: big })).toMatchObject({ ok: false, error: { code: "TOO_LARGE" } });
  expect(await t.srv.prisma.keyBackup.count()).toBe(0);
});

test("look-ups are rate limited per address", async () => {
  const anon = await t.raw({ authenticate: false });
  const codes: string[] = [];
  for (let i = 0; i < BACKUP_LIMITS.fetchPerAddressBurst + 2; i++) {
    const r = await anon.call("backup:fetch", { backupId: i.toString(16).padStart(32, "0") });
    codes.push(r === "no-ack" ? "no-ack" : r.ok ? "ok" : r.error.code);
  }
  expect(codes.slice(0, BACKUP_LIMITS.fetchPerAddressBurst).every((c) => c === "NO_BACKUP")).toBe(true);
  expect(codes.slice(BACKUP_LIMITS.fetchPerAddressBurst)).toEqual(["RATE_LIMITED", "RATE_LIMITED"]);
  // A new socket from the same address does not reset it.
  const again = await t.raw({ authenticate: false });
  expect(await again.call("backup:fetch", { backupId: "f".repeat(32) })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
});

describe("behind a trusted load balancer (QSEC_TRUST_PROXY)", () => {
  const p = serverPerTest({ trustProxy: true });
  test("look-ups are limited per forwarded client address, not per proxy", async () => {
    const from = (ip: string) => p.raw({ authenticate: false, headers: { "x-forwarded-for": ip } });
    const first = await from("198.51.100.7");
    for (let i = 0; i < BACKUP_LIMITS.fetchPerAddressBurst; i++)
      expect(await first.call("backup:fetch", { backupId: i.toString(16).padStart(32, "0") })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
    expect(await first.call("backup:fetch", { backupId: "e".repeat(32) })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
    // Every client reaches the server from the proxy's address; another client still gets its own budget.
    const other = await from("198.51.100.8");
    expect(await other.call("backup:fetch", { backupId: "e".repeat(32) })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
    const sameClientAgain = await from("198.51.100.7");
    expect(await sameClientAgain.call("backup:fetch", { backupId: "d".repeat(32) })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
  });
});

describe("per backup id", () => {
  const u = serverPerTest({ backupLookups: { perAddressPerMinute: 10_000, perAddressBurst: 10_000 } });
  test("look-ups of one backup id are rate limited whoever asks, and other ids stay open", async () => {
    const id = "a".repeat(32);
    const codes: string[] = [];
    for (let i = 0; i < BACKUP_LIMITS.fetchPerIdBurst + 1; i++) {
      const c = await u.raw({ authenticate: false }); // a new socket each time
      const r = await c.call("backup:fetch", { backupId: id });
      codes.push(r === "no-ack" ? "no-ack" : r.ok ? "ok" : r.error.code);
    }
    expect(codes.slice(0, BACKUP_LIMITS.fetchPerIdBurst).every((c) => c === "NO_BACKUP")).toBe(true);
    expect(codes[BACKUP_LIMITS.fetchPerIdBurst]).toBe("RATE_LIMITED");
    const c = await u.raw({ authenticate: false });
    const r = await c.call("backup:fetch", { backupId: id });
    expect(r).toMatchObject({ ok: false, error: { code: "RATE_LIMITED", message: expect.stringMatching(/this backup/) } });
    expect(await c.call("backup:fetch", { backupId: "b".repeat(32) })).toMatchObject({ ok: false, error: { code: "NO_BACKUP" } });
  });
});

test("the database holds no private key, epoch key, passphrase or recovery key bytes", async () => {
  const { client, secret } = await member();
  const keys = new MemoryEpochKeyStore();
  const epochKey = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
  await keys.put("vault", 9, epochKey);
  registerBackupEpochKeyStore(keys);
  const recovery = newRecoveryKey();
  await storeBackup(asRequester(client), await recoveryTarget(recovery), await buildPayload(secret, [{ roomId: "vault", name: "Ann", lastJoined: 1 }]));
  const passphrase = "mossy granite whistles at dawn";
  await storeBackup(asRequester(client), await passphraseTarget("ann-db-scan", passphrase, argon2, FAST), await buildPayload(secret, []));
  expect(await t.srv.prisma.keyBackup.count()).toBe(2);
  await t.srv.prisma.$executeRawUnsafe("PRAGMA wal_checkpoint(PASSIVE)").catch(() => undefined);

  const needles = [
    Buffer.from(fromB64url(secret.signingPrivate)),
    Buffer.from(fromB64url(secret.agreementPrivate)),
    Buffer.from(epochKey),
    Buffer.from(recovery),
    Buffer.from(passphrase),
    Buffer.from('"signingPrivate"'),
  ];
  const files = databaseBytes(t.srv);
  expect(files.length).toBeGreaterThan(0);
  for (const n of needles) {
    for (const form of [n, Buffer.from(n.toString("base64url")), Buffer.from(n.toString("base64")), Buffer.from(n.toString("hex"))]) {
      for (const f of files) expect(f.includes(form)).toBe(false);
    }
  }
});
