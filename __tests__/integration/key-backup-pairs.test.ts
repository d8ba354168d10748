/**
 * The key backup carries the QKD-hardened pair keys (real server, real SQLite, a real BB84 session):
 * Bob's backup, made after a BB84 session with Alice and her direct message under the hybrid keys,
 * restores into a fresh client that reads that message from history and keeps using the hybrid
 * keys both ways. The same backup without its pair keys (as made before they were carried) still
 * restores Bob, back to X25519 with Alice: the message sealed under the hybrid keys does not open.
 * The database holds none of the pair keys' bytes.
 */
import { MemoryPairKeyStore, type ChatClient, type PairKeyStore } from "@/lib/client";
import { asRequester, publicRequester as publicRequesterAt } from "../helpers/backup-requesters";
import { applyPayload, buildPayload, fetchAndOpen, recoveryTarget, registerBackupPairKeyStore, storeBackup } from "@/lib/client/key-backup";
import { generateIdentity, generateIdentityWithSecret, identityFromSecret, newRecoveryKey, type BackupPayload, type Identity } from "@/lib/crypto";
import { honestClient } from "../helpers/clients";
import { serverPerTest } from "../helpers/per-test";
import { databaseBytes } from "../helpers/server";
import { until } from "../helpers/waits";

jest.setTimeout(60_000);
const t = serverPerTest();
const clients: ChatClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  registerBackupPairKeyStore(null);
});

async function make(identity: Identity, pairKeys?: PairKeyStore): Promise<ChatClient> {
  const c = await honestClient(t.srv.url, identity, pairKeys ? { pairKeys } : {});
  clients.push(c);
  await c.connect();
  return c;
}
const publicRequester = () => publicRequesterAt(t.srv.url);
const noArgon2 = () => Promise.reject(new Error("a recovery-code backup needs no passphrase"));
const okTexts = (c: ChatClient, roomId: string) => c.state.rooms[roomId]!.messages.filter((m) => m.status === "ok").map((m) => m.text);

/** Restores `payload` into a fresh client (empty pair-key store), joins the room and reads all its history. */
async function restore(payload: BackupPayload, roomId: string) {
  const pairs = new MemoryPairKeyStore();
  registerBackupPairKeyStore(pairs);
  let client: ChatClient | null = null;
  const counts = await applyPayload(
    payload,
    async (s) => {
      client = await make(await identityFromSecret(s), pairs);
    },
    () => undefined,
  );
  const c = client!;
  await c.join(roomId, "Bob");
  await until(() => c.state.rooms[roomId]?.keyEpoch === c.state.rooms[roomId]?.epoch, 10_000, "the restored client keyed");
  while ((await c.loadHistory(roomId)) > 0);
  return { client: c, counts, pairs };
}

test("a restore from a backup made after a BB84 session reads the direct message sealed under the hybrid keys and keeps using them", async () => {
  const roomId = "vault-pairs";
  const aliceId = await generateIdentity();
  const { identity: bobId, secret } = await generateIdentityWithSecret();
  const bobPairs = new MemoryPairKeyStore();
  registerBackupPairKeyStore(bobPairs);
  const alice = await make(aliceId);
  const bob = await make(bobId, bobPairs);
  await alice.join(roomId, "Alice", undefined, { days: 7 });
  await bob.join(roomId, "Bob");
  await until(() => [alice, bob].every((c) => c.state.rooms[roomId]?.members.length === 2 && !c.state.rooms[roomId]!.waitingForKey), 10_000, "keyed");

  // 16,384 qubits: at 8,192 about 2 % of honest sessions end with a key under 128 bits (KEY_TOO_SHORT).
  expect((await alice.startBb84(roomId, bobId.userId, { qubits: 16_384 })).status).toBe("success");
  await until(() => bob.pairInfo(aliceId.userId)?.hybrid === true && alice.pairInfo(bobId.userId)?.hybrid === true, 10_000, "hybrid keys");
  expect((await alice.send(roomId, "sealed under the hybrid keys", bobId.userId)).hybrid).toBe(true);
  await until(() => bob.state.rooms[roomId]!.messages.some((m) => m.text === "sealed under the hybrid keys" && m.hybrid), 10_000, "the DM at Bob");

  const recovery = newRecoveryKey();
  const payload = await buildPayload(secret, []);
  expect(payload.pairKeys).toHaveLength(1);
  await storeBackup(asRequester(bob), await recoveryTarget(recovery), payload);
  const exported = await bobPairs.exportAll();
  bob.close(); // Bob's browser is gone

  // The backup as an older version of QSEC made it (no pair keys) restores Bob, back to X25519 with Alice.
  const { payload: opened } = await fetchAndOpen(publicRequester(), { kind: "recovery", key: recovery }, noArgon2);
  const { pairKeys: _carried, ...old } = opened;
  const before = await restore(old, roomId);
  expect(before.counts).toEqual({ epochKeys: 0, pairKeys: 0, rooms: 0 });
  expect(before.client.userId).toBe(bobId.userId);
  expect(before.client.pairInfo(aliceId.userId)).toEqual({ hybrid: false });
  expect(okTexts(before.client, roomId)).not.toContain("sealed under the hybrid keys");
  before.client.close();

  // The backup as it is: the hybrid keys come back, the DM opens from history, and both keep using them.
  const after = await restore(opened, roomId);
  expect(after.counts).toEqual({ epochKeys: 0, pairKeys: 1, rooms: 0 });
  expect(okTexts(after.client, roomId)).toContain("sealed under the hybrid keys");
  expect(after.client.pairInfo(aliceId.userId)).toEqual({ hybrid: true });
  const reply = await after.client.send(roomId, "from the restored client", aliceId.userId);
  expect(reply.hybrid).toBe(true);
  await until(() => alice.state.rooms[roomId]!.messages.some((m) => m.text === "from the restored client" && m.hybrid), 10_000, "Alice reads it");
  const again = await alice.send(roomId, "after the restore", bobId.userId);
  await until(
    () => after.client.state.rooms[roomId]!.messages.some((m) => m.id === again.id && m.status === "ok" && m.hybrid),
    10_000,
    "the restored client reads it",
  );
  // Still bound to Alice's public keys, and exported again by the restored store (its next backup).
  expect((await after.pairs.get(aliceId.userId)).current).toMatchObject({ signingKey: aliceId.signingKey, agreementKey: aliceId.agreementKey });
  expect(await after.pairs.exportAll()).toEqual(exported);

  // None of the pair keys' bytes reached the server's database, in any encoding.
  await t.srv.prisma.$executeRawUnsafe("PRAGMA wal_checkpoint(PASSIVE)").catch(() => undefined);
  const files = databaseBytes(t.srv);
  expect(files.length).toBeGreaterThan(0);
  for (const k of exported) {
    for (const n of [Buffer.from(k.wrapKey), Buffer.from(k.dmKey)]) {
      for (const form of [n, Buffer.from(n.toString("base64url")), Buffer.from(n.toString("base64")), Buffer.from(n.toString("hex"))]) {
        for (const f of files) expect(f.includes(form)).toBe(false);
      }
    }
  }
});
