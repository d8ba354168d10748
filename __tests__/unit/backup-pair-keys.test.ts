/**
 * The QKD-hardened pair keys in the key backup: the keys' bytes (derivePairKeys with bytes) are the
 * very keys the peer holds; a pair-key store exports its committed keys (current and past) and a
 * fresh store imports them, newest session current; the payload round trip through a sealed blob,
 * an old payload without pair keys still restores, and the store drops keys that can open nothing
 * any more (the peer's keys changed, or no stored history can need them) and nothing else.
 */
import { applyPayload, buildPayload, mergePayloads, registerBackupEpochKeyStore, registerBackupPairKeyStore, watchPairKeys } from "@/lib/client/key-backup";
import { MemoryEpochKeyStore, MemoryPairKeyStore, PAST_PAIR_KEY_MS, prunedPairKeys, type SharedPairKey } from "@/lib/client/persist";
import {
  decodePairKeys,
  derivePairKeys,
  encodePairKeys,
  generateIdentity,
  generateIdentityWithSecret,
  kekFromRecoveryKey,
  newRecoveryKey,
  openBackup,
  sealBackup,
  type Identity,
  type PairKeys,
} from "@/lib/crypto";

afterEach(() => {
  registerBackupEpochKeyStore(null);
  registerBackupPairKeyStore(null);
});

const qkd = (n: number) => new Uint8Array(32).fill(n);
const iv = new Uint8Array(12);

/** Whether `b` opens what `a` seals (direct-message key), the observable sameness of two non-extractable keys. */
async function sameDmKey(a: CryptoKey, b: CryptoKey): Promise<boolean> {
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, a, new TextEncoder().encode("hello"));
  return crypto.subtle.decrypt({ name: "AES-GCM", iv }, b, ct).then(
    () => true,
    () => false,
  );
}

/** Bob's side of a BB84 session with Alice, staged with its bytes and committed in `store`. */
async function session(store: MemoryPairKeyStore, bob: Identity, alice: Identity, sessionId: string, at: string, n: number): Promise<PairKeys> {
  const k = await derivePairKeys(bob, alice, qkd(n), true);
  const info = { hardened: true, sessionId, qber: 0.01, keyBits: 256, at };
  const key: SharedPairKey = { peerId: alice.userId, signingKey: alice.signingKey, agreementKey: alice.agreementKey, wrapKey: k.wrapKey, dmKey: k.dmKey, info };
  await store.stage(key, k.bytes);
  await store.commit(alice.userId, sessionId, true);
  return k;
}

test("hybrid keys derived with their bytes are the keys the peer derives without them", async () => {
  const alice = await generateIdentity();
  const bob = await generateIdentity();
  const withBytes = await derivePairKeys(bob, alice, qkd(5), true);
  const plain = await derivePairKeys(alice, bob, qkd(5));
  expect(withBytes.bytes.dmKey).toHaveLength(32);
  expect(withBytes.hybrid).toBe(true);
  expect(await sameDmKey(plain.dmKey, withBytes.dmKey)).toBe(true);
  expect(await sameDmKey(withBytes.dmKey, plain.dmKey)).toBe(true);
  // Not the X25519 keys.
  expect(await sameDmKey((await derivePairKeys(alice, bob)).dmKey, withBytes.dmKey)).toBe(false);
});

test("export → payload → sealed blob → import: a fresh store holds the same keys, newest session current, the older past; an old payload still restores", async () => {
  const alice = await generateIdentity();
  const { identity: bob, secret } = await generateIdentityWithSecret();
  const store = new MemoryPairKeyStore();
  const s1 = await session(store, bob, alice, "a".repeat(32), "2026-01-01T00:00:00.000Z", 1);
  const s2 = await session(store, bob, alice, "b".repeat(32), "2026-02-01T00:00:00.000Z", 2);
  const here = await store.get(alice.userId);
  expect(here.current?.info.sessionId).toBe("b".repeat(32));
  expect(here.past?.map((k) => k.info.sessionId)).toEqual(["a".repeat(32)]);

  registerBackupPairKeyStore(store);
  const payload = await buildPayload(secret, []);
  expect(payload.pairKeys?.map((k) => [k.peerId, k.signingKey, k.agreementKey, k.info.sessionId])).toEqual([
    [alice.userId, alice.signingKey, alice.agreementKey, "a".repeat(32)],
    [alice.userId, alice.signingKey, alice.agreementKey, "b".repeat(32)],
  ]);
  const recovery = newRecoveryKey();
  const kek = await kekFromRecoveryKey(recovery);
  const opened = await openBackup(await sealBackup(payload, kek, { kind: "recovery" }, "0".repeat(32)), kek, "0".repeat(32));

  const fresh = new MemoryPairKeyStore();
  registerBackupPairKeyStore(fresh);
  const counts = await applyPayload(
    opened,
    async () => undefined,
    () => undefined,
  );
  expect(counts).toEqual({ epochKeys: 0, pairKeys: 2, rooms: 0 });
  const back = await fresh.get(alice.userId);
  expect(back.current).toMatchObject({ signingKey: alice.signingKey, agreementKey: alice.agreementKey, info: { sessionId: "b".repeat(32), hardened: true } });
  expect(await sameDmKey(s2.dmKey, back.current!.dmKey)).toBe(true);
  expect(await sameDmKey(s1.dmKey, back.past![0]!.dmKey)).toBe(true);
  // Imported twice (a second restore, a merged backup): each session once.
  await applyPayload(
    opened,
    async () => undefined,
    () => undefined,
  );
  expect((await fresh.get(alice.userId)).past).toHaveLength(1);
  // The restored store exports them again (the restored profile's next backup keeps them).
  expect((await fresh.exportAll()).map((k) => k.info.sessionId).sort()).toEqual(["a".repeat(32), "b".repeat(32)]);

  // A backup made before pair keys were carried: no pairKeys field. It restores, with no pair keys.
  const epochs = new MemoryEpochKeyStore();
  registerBackupEpochKeyStore(epochs);
  const old = { ...opened, epochKeys: [{ roomId: "r", epoch: 1, raw: "A".repeat(43) }] };
  delete old.pairKeys;
  const empty = new MemoryPairKeyStore();
  registerBackupPairKeyStore(empty);
  const oldBlob = await sealBackup(old, kek, { kind: "recovery" }, "0".repeat(32));
  expect(
    await applyPayload(
      await openBackup(oldBlob, kek, "0".repeat(32)),
      async () => undefined,
      () => undefined,
    ),
  ).toEqual({
    epochKeys: 1,
    pairKeys: 0,
    rooms: 0,
  });
  expect(await epochs.epochs("r")).toEqual([1]);
  expect(await empty.get(alice.userId)).toEqual({});
});

test("malformed pair keys in a payload are skipped; merging two versions keeps each (peer, session) once", async () => {
  const bytes = { wrapKey: new Uint8Array(32).fill(1), dmKey: new Uint8Array(32).fill(2) };
  const good = encodePairKeys([
    {
      peerId: "p",
      signingKey: "s",
      agreementKey: "a",
      info: { hardened: true, sessionId: "x", qber: null, keyBits: 128, at: "2026-01-01T00:00:00Z" },
      ...bytes,
    },
  ]);
  const bad = [{ ...good[0], wrapKey: "AAAA" }, { ...good[0], info: { ...good[0]!.info, at: "not a date" } }, { ...good[0], peerId: 7 }, null];
  expect(decodePairKeys([...good, ...bad])).toEqual([{ ...good[0], ...bytes }]);
  expect(decodePairKeys("nope")).toEqual([]);
  expect(decodePairKeys(undefined)).toEqual([]);

  const { secret } = await generateIdentityWithSecret();
  const ours = { v: 1 as const, identity: secret, epochKeys: [], pairKeys: good, rooms: [], createdAt: 1 };
  const other = encodePairKeys([{ ...decodePairKeys(good)[0]!, info: { ...good[0]!.info, sessionId: "y" } }]);
  const merged = mergePayloads(ours, { ...ours, pairKeys: [...good, ...other] });
  expect(merged.pairKeys?.map((k) => k.info.sessionId)).toEqual(["x", "y"]);
  // The other version is an old one (no pair keys): ours stay.
  const { pairKeys: _drop, ...oldOne } = ours;
  expect(mergePayloads(ours, oldOne).pairKeys).toEqual(good);
});

test("pruning drops keys the peer's public keys no longer bind and past keys older than any stored history, never the current ones", async () => {
  const alice = await generateIdentity();
  const bob = await generateIdentity();
  const store = new MemoryPairKeyStore();
  await session(store, bob, alice, "a".repeat(32), "2020-01-01T00:00:00.000Z", 1);
  await session(store, bob, alice, "b".repeat(32), new Date(Date.now() - PAST_PAIR_KEY_MS + 3600_000).toISOString(), 2);
  await session(store, bob, alice, "c".repeat(32), new Date().toISOString(), 3);
  const all = await store.get(alice.userId);
  expect(all.past?.map((k) => k.info.sessionId)).toEqual(["a".repeat(32), "b".repeat(32)]);

  // Session a was replaced by b longer ago than history is kept: a goes, b (replaced by c just now) stays.
  const now = Date.now();
  const pruned = prunedPairKeys(all, null, now + 2 * 3600_000)!;
  expect(pruned.past?.map((k) => k.info.sessionId)).toEqual(["b".repeat(32)]);
  expect(pruned.current?.info.sessionId).toBe("c".repeat(32));
  // A current key is never dropped for its age, and nothing to drop is null.
  expect(prunedPairKeys({ current: all.current }, null, now + 100 * PAST_PAIR_KEY_MS)).toBeNull();
  expect(prunedPairKeys(pruned, { signingKey: alice.signingKey, agreementKey: alice.agreementKey }, now)).toBeNull();

  // Today, with Alice's keys unchanged, the store has nothing to drop (b replaced a less than the history limit ago).
  await store.prune({ userId: alice.userId, signingKey: alice.signingKey, agreementKey: alice.agreementKey });
  expect(await store.get(alice.userId)).toEqual(all);

  // Alice's agreement key changed (another, validly signed one): every key bound to the old one goes.
  const other = await generateIdentity();
  await store.prune({ userId: alice.userId, signingKey: alice.signingKey, agreementKey: other.agreementKey });
  expect(await store.get(alice.userId)).toEqual({});
  expect(await store.exportAll()).toEqual([]);
});

test("the backup keeper hears of a session committed here, not of staged or dropped keys", async () => {
  const alice = await generateIdentity();
  const bob = await generateIdentity();
  let changes = 0;
  const store = watchPairKeys(new MemoryPairKeyStore(), () => changes++);
  const k = await derivePairKeys(bob, alice, qkd(9), true);
  const key = (sessionId: string): SharedPairKey => ({
    peerId: alice.userId,
    signingKey: alice.signingKey,
    agreementKey: alice.agreementKey,
    wrapKey: k.wrapKey,
    dmKey: k.dmKey,
    info: { hardened: true, sessionId, qber: 0, keyBits: 256, at: new Date().toISOString() },
  });
  await store.stage(key("s1"), k.bytes);
  expect(changes).toBe(0);
  await store.commit(alice.userId, "s1", false); // an aborted verdict
  expect(changes).toBe(0);
  await store.stage(key("s2"), k.bytes);
  await store.commit(alice.userId, "s2", true);
  expect(changes).toBe(1);
  await store.commit(alice.userId, "s2", true); // another tab's commit of the same session: nothing new
  expect(changes).toBe(1);
  expect((await store.exportAll()).map((e) => e.info.sessionId)).toEqual(["s2"]);
});
