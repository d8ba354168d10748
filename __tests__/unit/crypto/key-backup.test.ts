/**
 * Key backup format (lib/crypto/backup.ts) and recovery codes (recovery-code.ts): round trips,
 * a wrong recovery key or passphrase fails with the one clear reason, any changed byte or a blob
 * moved to another backup id is refused, and the recovery code's checksum catches typos.
 */
import {
  BackupError,
  RecoveryCodeError,
  WRONG_SECRET_MESSAGE,
  decodeRecoveryCode,
  encodeRecoveryCode,
  generateIdentityWithSecret,
  importKek,
  kekFromRecoveryKey,
  newPassphraseKdf,
  newRecoveryKey,
  normalizeBackupName,
  openBackup,
  passphraseBackupId,
  readBackupHeader,
  recoveryBackupId,
  sealBackup,
  identityFromSecret,
  encodeEpochKeys,
  decodeEpochKeys,
  type BackupPayload,
} from "@/lib/crypto";
import { argon2idKey } from "@/lib/client/argon2";

// Small Argon2id settings (inside the accepted bounds) keep the unit tests quick; the defaults are benchmarked.
const FAST = { memoryKiB: 8 * 1024, iterations: 1, parallelism: 1 };

async function payload(): Promise<BackupPayload> {
  const { secret } = await generateIdentityWithSecret();
  const raw = new Uint8Array(32).fill(7);
  return {
    v: 1,
    identity: secret,
    epochKeys: encodeEpochKeys([{ roomId: "r1", epoch: 3, raw }]),
    rooms: [{ roomId: "r1", name: "Ann", lastJoined: 1 }],
    createdAt: 1,
  };
}

describe("recovery code", () => {
  it("round-trips 32 bytes through 56 characters in groups of 4, forgiving case, spaces and look-alikes", async () => {
    const key = newRecoveryKey();
    const code = await encodeRecoveryCode(key);
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){13}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(await decodeRecoveryCode(code)).toEqual(key);
    const sloppy = code.toLowerCase().replace(/-/g, " ").replace(/1/g, "l").replace(/0/g, "o");
    expect(await decodeRecoveryCode(sloppy)).toEqual(key);
  });

  it("catches a typo by its checksum, and says so", async () => {
    const code = await encodeRecoveryCode(newRecoveryKey());
    const i = code.indexOf("-") + 1; // change one character of the second group
    const typo = code.slice(0, i) + (code[i] === "A" ? "B" : "A") + code.slice(i + 1);
    await expect(decodeRecoveryCode(typo)).rejects.toThrow(RecoveryCodeError);
    await expect(decodeRecoveryCode(typo)).rejects.toThrow(/typo/);
    await expect(decodeRecoveryCode(code.slice(0, -1))).rejects.toThrow(/56 characters/);
    await expect(decodeRecoveryCode(code.slice(0, -1) + "U")).rejects.toThrow(/not a recovery code character/);
  });
});

describe("backup blob", () => {
  it("round-trips a payload under a recovery key, and the identity comes back whole", async () => {
    const p = await payload();
    const key = newRecoveryKey();
    const id = await recoveryBackupId(key);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const blob = await sealBackup(p, await kekFromRecoveryKey(key), { kind: "recovery" }, id);
    expect(readBackupHeader(blob).kdf.kind).toBe("recovery");
    const opened = await openBackup(blob, await kekFromRecoveryKey(key), id);
    expect(opened).toEqual(p);
    expect((await identityFromSecret(opened.identity)).signingKey).toBe(p.identity.signingKey);
    expect(decodeEpochKeys(opened.epochKeys)).toEqual([{ roomId: "r1", epoch: 3, raw: new Uint8Array(32).fill(7) }]);
    // The private key bytes are not in the blob in the clear.
    expect(Buffer.from(blob).includes(Buffer.from(p.identity.signingPrivate, "base64url"))).toBe(false);
    expect(Buffer.from(blob).includes(Buffer.from(p.identity.signingPrivate))).toBe(false);
  });

  it("a wrong recovery key fails cleanly with 'wrong passphrase or recovery key'", async () => {
    const key = newRecoveryKey();
    const id = await recoveryBackupId(key);
    const blob = await sealBackup(await payload(), await kekFromRecoveryKey(key), { kind: "recovery" }, id);
    const err = await openBackup(blob, await kekFromRecoveryKey(newRecoveryKey()), id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupError);
    expect((err as BackupError).reason).toBe("wrong-secret");
    expect((err as BackupError).message).toBe(WRONG_SECRET_MESSAGE);
    expect(WRONG_SECRET_MESSAGE).toMatch(/wrong passphrase or recovery key/i);
  });

  it("round-trips under a passphrase (Argon2id), and a wrong passphrase fails cleanly", async () => {
    const kdf = newPassphraseKdf(FAST);
    if (kdf.kind !== "passphrase") throw new Error("unreachable");
    const id = await passphraseBackupId("Ann's backup");
    const kek = await importKek(await argon2idKey("correct horse battery staple", kdf.salt, kdf.params));
    const p = await payload();
    const blob = await sealBackup(p, kek, kdf, id);
    const h = readBackupHeader(blob);
    expect(h.kdf).toEqual({ kind: "passphrase", params: FAST, salt: kdf.salt });
    if (h.kdf.kind !== "passphrase") throw new Error("unreachable");
    const again = await importKek(await argon2idKey("correct horse battery staple", h.kdf.salt, h.kdf.params));
    expect(await openBackup(blob, again, id)).toEqual(p);
    const wrong = await importKek(await argon2idKey("correct horse battery stapler", h.kdf.salt, h.kdf.params));
    await expect(openBackup(blob, wrong, id)).rejects.toMatchObject({ reason: "wrong-secret", message: WRONG_SECRET_MESSAGE });
  });

  it("refuses a blob with any byte changed, with its KDF settings edited, or filed under another backup id", async () => {
    const key = newRecoveryKey();
    const kek = await kekFromRecoveryKey(key);
    const id = await recoveryBackupId(key);
    const blob = await sealBackup(await payload(), kek, { kind: "recovery" }, id);
    for (const i of [5, 10, blob.length - 20, blob.length - 1]) {
      const t = new Uint8Array(blob);
      t[i] ^= 1;
      await expect(openBackup(t, kek, id)).rejects.toBeInstanceOf(BackupError);
    }
    await expect(openBackup(blob, kek, await recoveryBackupId(newRecoveryKey()))).rejects.toMatchObject({ reason: "wrong-secret" });

    const kdf = newPassphraseKdf(FAST);
    if (kdf.kind !== "passphrase") throw new Error("unreachable");
    const pk = await importKek(await argon2idKey("pass phrase here", kdf.salt, kdf.params));
    const pb = await sealBackup(await payload(), pk, kdf, id);
    const edited = new Uint8Array(pb);
    edited[12] ^= 1; // header: magic(4) kind(1) memoryKiB(5..8) iterations(9..12) parallelism(13); iterations 1 → 0 is out of bounds: not even a well-formed header
    await expect(openBackup(edited, pk, id)).rejects.toMatchObject({ reason: "format" });
    const edited2 = new Uint8Array(pb);
    edited2[7] ^= 0x04; // memory 8192 → 9216 KiB: well-formed, but authenticated as AAD
    await expect(openBackup(edited2, pk, id)).rejects.toMatchObject({ reason: "wrong-secret" });
    // A header asking for 1 GiB is refused before any hashing.
    const huge = new Uint8Array(pb);
    new DataView(huge.buffer).setUint32(5, 1024 * 1024);
    expect(() => readBackupHeader(huge)).toThrow(BackupError);
    expect(() => readBackupHeader(new TextEncoder().encode("not a backup at all"))).toThrow(/not a QSEC key backup/);
  });

  it("files passphrase backups by a normalized name", async () => {
    expect(normalizeBackupName("  Ann’s  Backup ")).toBe("ann’s  backup");
    expect(await passphraseBackupId("ANN")).toBe(await passphraseBackupId(" ann "));
    expect(await passphraseBackupId("ann")).not.toBe(await passphraseBackupId("anne"));
    await expect(passphraseBackupId("ab")).rejects.toThrow(/3 to 128/);
  });
});
