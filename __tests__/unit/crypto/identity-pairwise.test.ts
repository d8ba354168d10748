import { createHash } from "node:crypto";
import {
  concatBytes,
  CryptoError,
  hkdf,
  transcript,
  derivePairKeys,
  fromB64url,
  generateIdentity,
  signAuth,
  toB64url,
  userIdFromSigningKey,
  verifyAgreementBinding,
  verifyAuth,
  verifyMember,
  type Identity,
} from "@/lib/crypto";

const subtle = globalThis.crypto.subtle;

async function roundTripDm(a: CryptoKey, b: CryptoKey): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await subtle.encrypt({ name: "AES-GCM", iv }, a, new TextEncoder().encode("hi"));
  return new TextDecoder().decode(await subtle.decrypt({ name: "AES-GCM", iv }, b, ct));
}

async function differs(a: CryptoKey, b: CryptoKey): Promise<boolean> {
  return roundTripDm(a, b).then(
    () => false,
    () => true,
  );
}

describe("identity", () => {
  let alice: Identity;
  let bob: Identity;
  beforeAll(async () => {
    alice = await generateIdentity();
    bob = await generateIdentity();
  });

  it("has 32-byte raw public keys and a user id = first 16 bytes of SHA-256(signing key), hex", async () => {
    expect(fromB64url(alice.signingKey)).toHaveLength(32);
    expect(fromB64url(alice.agreementKey)).toHaveLength(32);
    expect(fromB64url(alice.agreementSig)).toHaveLength(64);
    const expected = createHash("sha256").update(fromB64url(alice.signingKey)).digest("hex").slice(0, 32);
    expect(alice.userId).toBe(expected);
    expect(alice.userId).toMatch(/^[0-9a-f]{32}$/);
    expect(await userIdFromSigningKey(alice.signingKey)).toBe(expected);
    expect(alice.userId).not.toBe(bob.userId);
    await expect(userIdFromSigningKey(toB64url(new Uint8Array(31)))).rejects.toMatchObject({ reason: "bad-key" });
  });

  it("private keys are not extractable", async () => {
    for (const k of [alice.signingKeyPair.privateKey, alice.agreementKeyPair.privateKey]) {
      expect(k.extractable).toBe(false);
      await expect(subtle.exportKey("pkcs8", k)).rejects.toThrow();
      await expect(subtle.exportKey("jwk", k)).rejects.toThrow();
    }
    expect(alice.signingKeyPair.privateKey.algorithm.name).toBe("Ed25519");
    expect(alice.agreementKeyPair.privateKey.algorithm.name).toBe("X25519");
  });

  it("Ed25519 sign/verify round trip through WebCrypto", async () => {
    const data = new TextEncoder().encode("x");
    const sig = await subtle.sign("Ed25519", alice.signingKeyPair.privateKey, data);
    expect(await subtle.verify("Ed25519", alice.signingKeyPair.publicKey, sig, data)).toBe(true);
    expect(await subtle.verify("Ed25519", bob.signingKeyPair.publicKey, sig, data)).toBe(false);
  });

  it("agreement key is bound to the signing key", async () => {
    expect(await verifyAgreementBinding(alice)).toBe(true);
    expect(await verifyMember(alice)).toBe(true);
    expect(await verifyAgreementBinding({ ...alice, agreementKey: bob.agreementKey })).toBe(false);
    expect(await verifyAgreementBinding({ ...alice, agreementSig: bob.agreementSig })).toBe(false);
    expect(await verifyAgreementBinding({ ...alice, agreementSig: "!!" })).toBe(false);
    expect(await verifyMember({ ...alice, userId: bob.userId })).toBe(false);
  });

  it("auth signature verifies and fails for a wrong nonce, swapped keys or another signer", async () => {
    const nonce = toB64url(crypto.getRandomValues(new Uint8Array(32)));
    const sig = await signAuth(alice, nonce);
    expect(await verifyAuth(alice.signingKey, alice.agreementKey, nonce, sig)).toBe(true);
    expect(await verifyAuth(alice.signingKey, alice.agreementKey, nonce + "A", sig)).toBe(false);
    expect(await verifyAuth(alice.signingKey, bob.agreementKey, nonce, sig)).toBe(false);
    expect(await verifyAuth(bob.signingKey, alice.agreementKey, nonce, sig)).toBe(false);
    expect(await verifyAuth(bob.signingKey, bob.agreementKey, nonce, await signAuth(alice, nonce))).toBe(false);
    expect(await verifyAuth("short", alice.agreementKey, nonce, sig)).toBe(false);
    expect(await verifyAuth(alice.signingKey, alice.agreementKey, nonce, "")).toBe(false);
  });
});

describe("pairwise keys (X25519 + HKDF-SHA-256)", () => {
  let alice: Identity;
  let bob: Identity;
  let carol: Identity;
  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
  });

  it("X25519 round trip: both sides derive the same raw secret", async () => {
    const ab = await subtle.deriveBits(
      { name: "X25519", public: bob.agreementKeyPair.publicKey } as EcdhKeyDeriveParams,
      alice.agreementKeyPair.privateKey,
      256,
    );
    const ba = await subtle.deriveBits(
      { name: "X25519", public: alice.agreementKeyPair.publicKey } as EcdhKeyDeriveParams,
      bob.agreementKeyPair.privateKey,
      256,
    );
    expect(Buffer.from(ab)).toEqual(Buffer.from(ba));
  });

  it("wrap and DM keys are symmetric for both sides, distinct from each other and from other pairs", async () => {
    const a = await derivePairKeys(alice, bob);
    const b = await derivePairKeys(bob, alice);
    expect(a.hybrid).toBe(false);
    expect(await roundTripDm(a.dmKey, b.dmKey)).toBe("hi");
    expect(await roundTripDm(b.dmKey, a.dmKey)).toBe("hi");
    const c = await derivePairKeys(alice, carol);
    expect(await differs(a.dmKey, c.dmKey)).toBe(true);
    // wrapKey vs dmKey: wrap a 32-byte key with one, try to unwrap with a different key
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrapped = await subtle.encrypt({ name: "AES-GCM", iv }, a.wrapKey, new Uint8Array(32));
    await expect(subtle.decrypt({ name: "AES-GCM", iv }, a.dmKey, wrapped)).rejects.toThrow();
    await expect(subtle.unwrapKey("raw", wrapped, b.wrapKey, { name: "AES-GCM", iv }, "AES-GCM", false, ["encrypt"])).resolves.toBeDefined();
  });

  it("the QKD-hardened hybrid is symmetric and differs from plain X25519 and from another QKD key", async () => {
    const qkd = crypto.getRandomValues(new Uint8Array(32));
    const a = await derivePairKeys(alice, bob, qkd);
    const b = await derivePairKeys(bob, alice, qkd);
    expect(a.hybrid).toBe(true);
    expect(await roundTripDm(a.dmKey, b.dmKey)).toBe("hi");
    const plain = await derivePairKeys(bob, alice);
    expect(await differs(a.dmKey, plain.dmKey)).toBe(true);
    const other = await derivePairKeys(bob, alice, crypto.getRandomValues(new Uint8Array(32)));
    expect(await differs(a.dmKey, other.dmKey)).toBe(true);
    await expect(derivePairKeys(alice, bob, new Uint8Array(8))).rejects.toMatchObject({ reason: "bad-key" });
  });

  it("follows the documented construction: HKDF(x25519 ‖ qkd, salt, info) with sorted ids", async () => {
    const qkd = crypto.getRandomValues(new Uint8Array(32));
    const secret = new Uint8Array(
      await subtle.deriveBits({ name: "X25519", public: bob.agreementKeyPair.publicKey } as EcdhKeyDeriveParams, alice.agreementKeyPair.privateKey, 256),
    );
    const [lo, hi] = alice.userId < bob.userId ? [alice, bob] : [bob, alice];
    const salt = transcript("QSEC-PAIR-v1", lo.userId, hi.userId);
    const info = transcript("QSEC-PAIR-v1", "direct-message", "x25519+qkd", lo.userId, fromB64url(lo.agreementKey), hi.userId, fromB64url(hi.agreementKey));
    const raw = await hkdf(concatBytes(secret, qkd), salt, info, 32);
    const manual = await subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    const derived = await derivePairKeys(bob, alice, qkd);
    expect(await roundTripDm(manual, derived.dmKey)).toBe("hi");
  });

  it("derived keys are not extractable", async () => {
    const a = await derivePairKeys(alice, bob);
    for (const k of [a.wrapKey, a.dmKey]) {
      expect(k.extractable).toBe(false);
      await expect(subtle.exportKey("raw", k)).rejects.toThrow();
    }
  });

  it("rejects a low-order peer key (all-zero X25519 output) and a malformed key with bad-key", async () => {
    const lowOrder = [
      new Uint8Array(32),
      (() => {
        const u = new Uint8Array(32);
        u[0] = 1;
        return u;
      })(),
    ];
    for (const p of lowOrder) {
      const err = await derivePairKeys(alice, { userId: bob.userId, agreementKey: toB64url(p) }).catch((e) => e);
      expect(err).toBeInstanceOf(CryptoError);
      expect(err.reason).toBe("bad-key");
    }
    await expect(derivePairKeys(alice, { userId: bob.userId, agreementKey: "abc" })).rejects.toMatchObject({ reason: "bad-key" });
  });
});
