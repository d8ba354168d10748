/** The one error type thrown by lib/crypto. `reason` is a closed set the UI maps to a visible warning. */
export type CryptoErrorReason = "bad-signature" | "wrong-room" | "wrong-epoch" | "wrong-recipient" | "replay" | "decrypt-failed" | "bad-key" | "bad-encoding";

export class CryptoError extends Error {
  readonly reason: CryptoErrorReason;
  constructor(reason: CryptoErrorReason, message?: string) {
    super(message ? `${reason}: ${message}` : reason);
    this.name = "CryptoError";
    this.reason = reason;
  }
}

export function isCryptoError(e: unknown, reason?: CryptoErrorReason): e is CryptoError {
  return e instanceof CryptoError && (reason === undefined || e.reason === reason);
}
