/**
 * Issue 10, finding 8: small-order and non-canonical Ed25519 / X25519 public keys are refused, so
 * the forgery (A = identity, R = identity, S = 0) no longer verifies.
 */
import {
  acceptableEd25519PublicKey,
  acceptableX25519PublicKey,
  canonicalEd25519Signature,
  generateIdentity,
  toB64url,
  verify,
  verifyAgreementBinding,
  verifyMember,
  importAgreementPublicKey,
  sign,
  transcript,
  LABEL_XKEY,
} from "@/lib/crypto";

const P = (1n << 255n) - 19n;
const le = (n: bigint) => {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    b[i] = Number(n & 255n);
    n >>= 8n;
  }
  return b;
};
// The order-8 coordinates (libsodium's blocklists), checked here independently of the module's formulas.
const Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
const U8 = [
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
];

test("the eight small-order Ed25519 points and non-canonical encodings are refused", () => {
  for (const y of [0n, 1n, P - 1n, Y8, P - Y8]) {
    const raw = le(y);
    expect(acceptableEd25519PublicKey(raw)).toBe(false);
    raw[31] |= 0x80; // the other sign of x
    expect(acceptableEd25519PublicKey(raw)).toBe(false);
  }
  expect(acceptableEd25519PublicKey(le(P))).toBe(false); // y = p (≡ 0), non-canonical
  expect(acceptableEd25519PublicKey(le(P + 1n))).toBe(false); // ≡ 1
  expect(acceptableEd25519PublicKey(le(P + 5n))).toBe(false); // any y ≥ p
});

test("small-order and non-canonical X25519 keys are refused", () => {
  for (const u of [0n, 1n, P - 1n, P, P + 1n, ...U8]) expect(acceptableX25519PublicKey(le(u))).toBe(false);
  const high = le(9n);
  high[31] |= 0x80;
  expect(acceptableX25519PublicKey(high)).toBe(false);
  expect(acceptableX25519PublicKey(le(9n))).toBe(true); // the base point is fine
});

test("honest keys are accepted", async () => {
  for (let i = 0; i < 20; i++) {
    const id = await generateIdentity();
    expect(await verifyMember(id)).toBe(true);
  }
});

test("the identity-point forgery (A = R = identity, S = 0) does not verify", async () => {
  const identityPoint = toB64url(le(1n));
  const forged = new Uint8Array(64);
  forged.set(le(1n), 0); // R = identity, S = 0
  expect(await verify(identityPoint, new TextEncoder().encode("any message"), toB64url(forged))).toBe(false);
});

test("a signature with S ≥ L is refused", () => {
  const sig = new Uint8Array(64).fill(0xff);
  expect(canonicalEd25519Signature(sig)).toBe(false);
  expect(canonicalEd25519Signature(new Uint8Array(64))).toBe(true);
});

test("a correctly signed but small-order agreement key is refused by the binding check and on import", async () => {
  const id = await generateIdentity();
  const raw = le(U8[0]);
  const agreementSig = await sign(id, transcript(LABEL_XKEY, raw));
  expect(await verifyAgreementBinding({ signingKey: id.signingKey, agreementKey: toB64url(raw), agreementSig })).toBe(false);
  await expect(importAgreementPublicKey(toB64url(raw))).rejects.toMatchObject({ reason: "bad-key" });
});
