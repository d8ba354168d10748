/**
 * An identity's private key bytes, for one purpose only: key backup (issue 12, item 5).
 *
 * A profile identity is used through non-extractable CryptoKeys, so the page can sign and agree
 * but never read the keys. To still be able to back it up, the identity is generated ONCE with
 * extractable keys, its two 32-byte private scalars are read out (JWK "d") and immediately
 * AES-GCM-wrapped under a non-extractable wrapping key (identity-store.ts keeps that wrapped copy);
 * the keys used from then on are re-imported non-extractable. The bytes exist in the clear only
 * while the identity is created, while a backup is sealed, and while a backup is restored.
 */
import { CryptoError } from "./errors";
import { fromB64url, toB64url, transcript } from "./encoding";
import { LABEL_XKEY, sign, userIdFromSigningKey, type Identity } from "./identity";
import { subtle } from "./subtle";

/** The private halves (and public keys) of an identity, base64url, as RFC 8037 JWK "d" / "x". */
export interface IdentitySecret {
  signingKey: string; // Ed25519 public key (x)
  signingPrivate: string; // Ed25519 private key (d, 32 bytes)
  agreementKey: string; // X25519 public key (x)
  agreementPrivate: string; // X25519 private key (d, 32 bytes)
}

/** A new identity (non-extractable keys) plus its secret, read out once for wrapping. */
export async function generateIdentityWithSecret(): Promise<{ identity: Identity; secret: IdentitySecret }> {
  const s = subtle();
  const sig = (await s.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const agr = (await s.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
  const sj = await s.exportKey("jwk", sig.privateKey);
  const aj = await s.exportKey("jwk", agr.privateKey);
  if (!sj.d || !sj.x || !aj.d || !aj.x) throw new CryptoError("bad-key", "key export returned no JWK d/x");
  const secret: IdentitySecret = { signingKey: sj.x, signingPrivate: sj.d, agreementKey: aj.x, agreementPrivate: aj.d };
  // The extractable pairs are dropped here; the identity the page uses is re-imported non-extractable.
  return { identity: await identityFromSecret(secret), secret };
}

/**
 * Rebuilds a usable identity (non-extractable private keys) from its secret, checking that each
 * private key matches its public key (a signature round trip and an agreement round trip), so a
 * corrupted or forged backup never yields a half-working identity.
 */
export async function identityFromSecret(secret: IdentitySecret): Promise<Identity> {
  const s = subtle();
  for (const f of ["signingKey", "signingPrivate", "agreementKey", "agreementPrivate"] as const) {
    if (typeof secret?.[f] !== "string") throw new CryptoError("bad-key", `identity secret lacks ${f}`);
    let raw: Uint8Array;
    try {
      raw = fromB64url(secret[f]);
    } catch {
      throw new CryptoError("bad-key", `identity secret ${f} is not base64url`);
    }
    if (raw.length !== 32) throw new CryptoError("bad-key", `identity secret ${f} must be 32 bytes`);
  }
  let signingKeyPair: CryptoKeyPair;
  let agreementKeyPair: CryptoKeyPair;
  try {
    signingKeyPair = {
      privateKey: await s.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: secret.signingKey, d: secret.signingPrivate }, { name: "Ed25519" }, false, [
        "sign",
      ]),
      publicKey: await s.importKey("raw", fromB64url(secret.signingKey), { name: "Ed25519" }, true, ["verify"]),
    };
    agreementKeyPair = {
      privateKey: await s.importKey("jwk", { kty: "OKP", crv: "X25519", x: secret.agreementKey, d: secret.agreementPrivate }, { name: "X25519" }, false, [
        "deriveBits",
      ]),
      publicKey: await s.importKey("raw", fromB64url(secret.agreementKey), { name: "X25519" }, true, []),
    };
  } catch {
    throw new CryptoError("bad-key", "identity secret does not import");
  }
  // WebCrypto does not check d against x on import: prove the pairs match.
  const probe = transcript("QSEC-IDENTITY-CHECK-v1");
  const probeSig = await s.sign({ name: "Ed25519" }, signingKeyPair.privateKey, probe);
  if (!(await s.verify({ name: "Ed25519" }, signingKeyPair.publicKey, probeSig, probe))) {
    throw new CryptoError("bad-key", "identity signing key pair does not match");
  }
  const other = (await s.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
  const a = new Uint8Array(await s.deriveBits({ name: "X25519", public: other.publicKey }, agreementKeyPair.privateKey, 256));
  const b = new Uint8Array(await s.deriveBits({ name: "X25519", public: agreementKeyPair.publicKey }, other.privateKey, 256));
  if (toB64url(a) !== toB64url(b)) throw new CryptoError("bad-key", "identity agreement key pair does not match");

  const agreementSig = await sign({ signingKeyPair }, transcript(LABEL_XKEY, fromB64url(secret.agreementKey)));
  const userId = await userIdFromSigningKey(secret.signingKey);
  return { signingKeyPair, agreementKeyPair, signingKey: secret.signingKey, agreementKey: secret.agreementKey, agreementSig, userId };
}
