/**
 * Opening something under one of several candidate keys. A peer may switch pair keys (to the
 * QKD-hardened hybrid ones) a moment before or after us, so a direct message or a room key share
 * from them is tried under each key we could share with them, in order. Only a failed decryption
 * is worth trying the next key: a bad signature, a wrong room or epoch, or a replay is final and
 * is thrown at once (so a forgery cannot make us try, or record, anything more).
 */
import { CryptoError } from "@/lib/crypto";

/**
 * Resolves with the first candidate that opens and what it opened to; otherwise throws the first
 * candidate's error (or the first error that is not a failed decryption).
 */
export async function tryEachKey<C, T>(candidates: readonly C[], open: (candidate: C) => Promise<T>): Promise<{ value: T; candidate: C }> {
  let firstError: unknown = null;
  for (const candidate of candidates) {
    try {
      return { value: await open(candidate), candidate };
    } catch (e) {
      firstError ??= e;
      if (!(e instanceof CryptoError && e.reason === "decrypt-failed")) throw e;
    }
  }
  throw firstError;
}
