/**
 * Recovery code (issue 12, item 5): 256 random bits the user writes down once, with a checksum so a
 * typo is caught before any network request.
 *
 *   code = Crockford base32( key (32 bytes) ‖ SHA-256(transcript("QSEC-RECOVERY-CHECK-v1", key))[0..3] )
 *
 * 35 bytes = 280 bits = 56 characters, shown in 14 groups of 4. Crockford's alphabet
 * (https://www.crockford.com/base32.html) has no I, L, O or U; on input I and L read as 1, O as 0,
 * case, spaces and hyphens are ignored. A 24-bit checksum lets a random typo through with
 * probability 2^-24.
 */
import { CryptoError } from "./errors";
import { constantTimeEqual, transcript } from "./encoding";
import { randomBytes, subtle } from "./subtle";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const KEY_BYTES = 32;
const CHECK_BYTES = 3;
export const RECOVERY_CODE_CHARS = 56;

export class RecoveryCodeError extends Error {
  constructor(
    readonly reason: "length" | "character" | "checksum",
    message: string,
  ) {
    super(message);
    this.name = "RecoveryCodeError";
  }
}

export function newRecoveryKey(): Uint8Array<ArrayBuffer> {
  return randomBytes(KEY_BYTES);
}

async function checksum(key: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest("SHA-256", transcript("QSEC-RECOVERY-CHECK-v1", key))).subarray(0, CHECK_BYTES);
}

function base32(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** The code to show: 14 groups of 4 characters, joined by hyphens. */
export async function encodeRecoveryCode(key: Uint8Array): Promise<string> {
  if (key.length !== KEY_BYTES) throw new CryptoError("bad-key", "a recovery key is 32 bytes");
  const chars = base32(new Uint8Array([...key, ...(await checksum(key))]));
  return chars.match(/.{1,4}/g)!.join("-");
}

/** Parses a typed code back to the 32-byte key; RecoveryCodeError says what is wrong with it. */
export async function decodeRecoveryCode(code: string): Promise<Uint8Array<ArrayBuffer>> {
  const clean = code.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
  if (clean.length !== RECOVERY_CODE_CHARS) {
    throw new RecoveryCodeError("length", `a recovery code has ${RECOVERY_CODE_CHARS} characters (this one has ${clean.length})`);
  }
  const bytes = new Uint8Array(KEY_BYTES + CHECK_BYTES);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new RecoveryCodeError("character", `"${ch}" is not a recovery code character`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bytes[o++] = (acc >>> (bits - 8)) & 0xff;
      bits -= 8;
      acc &= (1 << bits) - 1;
    }
  }
  const key = bytes.slice(0, KEY_BYTES);
  if (!constantTimeEqual(bytes.subarray(KEY_BYTES), await checksum(key))) {
    throw new RecoveryCodeError("checksum", "this recovery code has a typo: its checksum does not match");
  }
  return key;
}
