/** Human-readable reasons for rejected messages, from lib/crypto's closed set of failure reasons. */
import { CryptoError, type CryptoErrorReason } from "@/lib/crypto";

const REASONS: Record<CryptoErrorReason, string> = {
  "bad-signature": "Signature check failed — message discarded",
  "wrong-room": "Message was made for another room — discarded",
  "wrong-epoch": "Message was made for another key epoch — discarded",
  "wrong-recipient": "Direct message was made for someone else — discarded",
  replay: "Replayed message (its counter was already seen) — discarded",
  "decrypt-failed": "Decryption failed (tampered or wrong key) — message discarded",
  "bad-key": "Sender's key is invalid — message discarded",
  "bad-encoding": "Malformed message — discarded",
};

export function rejectionReason(e: unknown): string {
  if (e instanceof CryptoError) return REASONS[e.reason] ?? `Rejected (${e.reason})`;
  return `Could not be read (${e instanceof Error ? e.message : String(e)}) — message discarded`;
}
