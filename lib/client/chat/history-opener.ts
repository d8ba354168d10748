/**
 * Opening a page of stored envelopes: for each, the sender's Ed25519 signature is verified, then
 * the ciphertext is decrypted under the candidate keys and the chat payload decoded
 * (decryptMessage, the code every received message goes through). History decides beforehand
 * which envelopes can be opened at all and with which keys and expectations (room, epoch,
 * recipient); an opener only runs the crypto, so it can run in this thread (openJobs, Node and
 * tests) or in a Web Worker (lib/client/history-worker-opener.ts, the browser): one message per
 * page in, one out, and the page's main thread only answers the socket and merges.
 *
 * Keys cross to the worker as CryptoKey objects (structured clone): a non-extractable key stays
 * non-extractable there, and no key bytes are ever copied.
 */
import { decodeChatPayload, decryptMessage } from "@/lib/crypto";
import type { HistoryMessage } from "@/lib/protocol";
import { rejectionReason } from "../reasons";
import type { ChatMessage } from "../types";
import { tryEachKey } from "./try-keys";

/** One envelope to open: under keys[i] for each i in `keys` (in order), signed with `signingKey`. */
export interface OpenJob {
  env: HistoryMessage;
  /** Indexes into the page's key list, tried in order (a direct message may have several pair keys). */
  keys: number[];
  /** The sender's Ed25519 public key (base64url), as the roster holds it. */
  signingKey: string;
  /** Room messages: the epoch they must carry; direct messages: the recipient they must name. */
  expect: { roomId: string; epoch?: number; recipientId?: string };
}

/** What an envelope opened to: its text (and attachment), or why it is rejected. */
export type Opened = { ok: true; text: string; attachment?: ChatMessage["attachment"] } | { ok: false; reason: string };

/** Opens a page's jobs; resolves with one result per job, in order (never rejects for one bad envelope). */
export interface HistoryOpener {
  open(jobs: OpenJob[], keys: CryptoKey[]): Promise<Opened[]>;
  /** Gets ready for pages to come (starts a worker); optional. */
  warm?(): void;
  /** Stops for good (terminates a worker); optional. */
  close?(): void;
}

/** Envelopes opened at once in this thread: enough to keep WebCrypto busy, few enough that the thread's queue never holds thousands of completions. */
export const OPEN_LANES = 32;

async function openOne(job: OpenJob, keys: readonly CryptoKey[]): Promise<Opened> {
  try {
    const candidates = job.keys.map((i) => keys[i]);
    if (!candidates.length || candidates.some((k) => !k)) return { ok: false, reason: "No key to open this message — discarded" };
    const opened = await tryEachKey(candidates, (k) => decryptMessage(k, job.signingKey, job.env, job.expect));
    const payload = decodeChatPayload(opened.value);
    return payload.attachment ? { ok: true, text: payload.text, attachment: payload.attachment } : { ok: true, text: payload.text };
  } catch (e) {
    return { ok: false, reason: rejectionReason(e) };
  }
}

/** Opens every job, `lanes` at a time; one result per job, in order. */
export async function openJobs(jobs: readonly OpenJob[], keys: readonly CryptoKey[], lanes = OPEN_LANES): Promise<Opened[]> {
  const out = new Array<Opened>(jobs.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < jobs.length; i = next++) out[i] = await openOne(jobs[i], keys);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, jobs.length) }, lane));
  return out;
}

/** The opener that runs in this thread (Node, tests, and the browser's fallback). */
export const localOpener: HistoryOpener = { open: (jobs, keys) => openJobs(jobs, keys) };
