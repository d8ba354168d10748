/**
 * A key backup follows the keys it protects (issue 12, item 5): after the backup is set up, a new
 * epoch key (someone joins the room) stores the next version by itself (BackupKeeper), by
 * compare-and-swap: another device stored a version first, so the keeper fetches it, merges it and
 * stores on top. A restore in a fresh client (no identity, empty key store) then reads the room
 * message sent under the newer epoch, and keeps the other device's key too. Real server, real SQLite.
 */
import { ChatClient, MemoryEpochKeyStore, MemoryStorage } from "@/lib/client";
import { asRequester, publicRequester as publicRequesterAt } from "../helpers/backup-requesters";
import {
  applyPayload,
  BackupKeeper,
  buildPayload,
  fetchAndOpen,
  recoveryTarget,
  registerBackupEpochKeyStore,
  storeBackup,
  watchEpochKeys,
  type BackupTarget,
} from "@/lib/client/key-backup";
import { generateIdentity, generateIdentityWithSecret, identityFromSecret, newRecoveryKey, toB64url, type Identity } from "@/lib/crypto";
import type { EpochKeyStore } from "@/lib/client/persist";
import { serverPerTest } from "../helpers/per-test";
import { until } from "../helpers/waits";

const t = serverPerTest();
const clients: ChatClient[] = [];
const keepers: BackupKeeper[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const k of keepers.splice(0)) k.close();
  registerBackupEpochKeyStore(null);
});

async function open(identity: Identity, epochKeys?: EpochKeyStore): Promise<ChatClient> {
  const c = new ChatClient({
    url: t.srv.url,
    identity,
    storage: new MemoryStorage(),
    requestTimeoutMs: 5000,
    keyWaitMs: 5000,
    ...(epochKeys && { epochKeys }),
  });
  clients.push(c);
  await c.connect();
  return c;
}
const publicRequester = () => publicRequesterAt(t.srv.url);
const texts = (c: ChatClient, roomId: string) => c.state.rooms[roomId]!.messages.filter((m) => m.status === "ok").map((m) => m.text);
async function keyed(roomId: string, ...cs: ChatClient[]) {
  await until(() => cs.every((c) => c.state.rooms[roomId] && c.state.rooms[roomId]!.keyEpoch === c.state.rooms[roomId]!.epoch), 5000, "room keyed");
}

test("a new epoch key after the backup updates it (CAS, merged with another device's version); a fresh restore reads the newer history", async () => {
  const { identity, secret } = await generateIdentityWithSecret();
  const annKeys = new MemoryEpochKeyStore();
  registerBackupEpochKeyStore(annKeys);
  let saved: BackupTarget | null = null;
  const stored: number[] = [];
  let ann: ChatClient | null = null;
  const keeper = new BackupKeeper({
    request: (event, payload) => ann!.request(event, payload),
    loadTarget: async () => saved,
    saveTarget: async (target) => {
      saved = target;
    },
    identity: async () => secret,
    rooms: () => [{ roomId: "vault", name: "Ann", lastJoined: 1 }],
    debounceMs: 100,
    onStored: (target) => stored.push(target.version),
  });
  keepers.push(keeper);
  ann = await open(
    identity,
    watchEpochKeys(annKeys, () => keeper.changed()),
  );
  const bob = await open(await generateIdentity());
  await ann.join("vault", "Ann", undefined, { days: 7 });
  await bob.join("vault", "Bob");
  await keyed("vault", ann, bob);
  await keeper.flush(); // the joins' changes, before any backup exists: nothing to store

  // Ann sets up a recovery-key backup (version 1); her other device then stores version 2 first.
  const recovery = newRecoveryKey();
  const v1 = await storeBackup(asRequester(ann), await recoveryTarget(recovery), await buildPayload(secret, []));
  expect(v1.version).toBe(1);
  const otherDevice = await buildPayload(secret, []);
  otherDevice.epochKeys.push({ roomId: "elsewhere", epoch: 3, raw: toB64url(new Uint8Array(32).fill(7)) });
  expect((await storeBackup(asRequester(ann), v1, otherDevice)).version).toBe(2);
  saved = v1; // this device still believes version 1 is the latest

  // Carol joins: a new epoch, whose key Ann stores; the keeper stores the backup on top of version 2.
  const carol = await open(await generateIdentity());
  await carol.join("vault", "Carol");
  await keyed("vault", ann, bob, carol);
  const newEpoch = ann.state.rooms["vault"]!.keyEpoch!;
  await until(() => (saved?.version ?? 0) >= 3, 10_000, "the backup updated by itself");
  expect(stored[0]).toBe(3);

  await bob.send("vault", "said after the backup was made");
  await until(() => texts(ann!, "vault").includes("said after the backup was made"), 5000, "the message at Ann");
  ann.close(); // Ann stays a member, offline

  // A fresh browser: nothing but the recovery key.
  const fresh = new MemoryEpochKeyStore();
  registerBackupEpochKeyStore(fresh);
  const { payload, target } = await fetchAndOpen(publicRequester(), { kind: "recovery", key: recovery }, () => Promise.reject(new Error("no passphrase")));
  expect(target.version).toBe(saved!.version);
  let restored: ChatClient | null = null;
  await applyPayload(
    payload,
    async (s) => {
      restored = await open(await identityFromSecret(s), fresh);
    },
    () => undefined,
  );
  expect(await fresh.epochs("vault")).toContain(newEpoch);
  expect(await fresh.epochs("elsewhere")).toEqual([3]); // the other device's key was merged, not lost
  const back = restored!;
  expect(back.userId).toBe(identity.userId);
  await back.join("vault", "Ann");
  while ((await back.loadHistory("vault")) > 0);
  expect(texts(back, "vault")).toContain("said after the backup was made");
});
