/**
 * One BB84 session's encrypted transport over the relay. Engine messages are cut into chunks; each
 * chunk is one relay frame sealed under the session's frame key (lib/crypto/bb84-frames.ts) with a
 * per-direction sequence number, so a tampered, replayed, reordered, dropped or foreign frame is
 * caught here and named; the session (bb84-lifecycle.ts) turns that into an Abort with the reason.
 */
import { openFrame, sealFrame, type FrameContext } from "@/lib/crypto/bb84-frames";
import { concatBytes } from "@/lib/crypto/encoding";
import type { Bb84LiveView } from "./bb84-types";
import type { Bb84Host } from "./bb84-host";
import { ClientError } from "./errors";

/** Plaintext bytes per relay frame (a 10^6-qubit batch is a handful of frames; progress per frame). */
export const BB84_CHUNK_BYTES = 128 * 1024;
/**
 * A refused frame (RATE_LIMITED: the sender's frame budget or a backed-up receiver) is retried in
 * order, with backoff, for this long before the session gives up. Frames go one at a time (each
 * after the previous one's ack), so a retry can never overtake: the receiver's sequence check
 * stays exact. Single-frame Cascade messages lose nothing by it (the peer's answer comes after our
 * ack anyway).
 */
const RETRY_FOR_MS = 15_000;
/** A message being reassembled may not exceed this (a hostile peer can't grow our memory). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What one received frame amounted to. */
export type Received =
  | { kind: "partial" }
  | { kind: "message"; message: Uint8Array }
  /** The frame breaks the session (the reason is shown to both sides). */
  | { kind: "invalid"; reason: string };

export class FrameTransport {
  /** Frames and bytes through the relay so far (the live view shows this object). */
  readonly stats: Bb84LiveView["transport"] = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 };
  private sendSeq = 0;
  private recvSeq = 0;
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** The relay refused a frame for good: nothing more is sent (not even the Abort). */
  private broken = false;

  constructor(
    private readonly host: Pick<Bb84Host, "relay">,
    readonly key: Promise<CryptoKey>,
    private readonly tx: FrameContext,
    private readonly rx: FrameContext,
    /** The session ended: stop sending and retrying. */
    private readonly closed: () => boolean,
    /** A frame of a multi-frame message went out (progress for the view). */
    private readonly onProgress: () => void,
  ) {}

  /**
   * Seals a message into frames and relays them in order, each after the previous one's ack.
   * Returns why the relay refused a frame for good (the transport is then broken), else null.
   */
  async send(msg: Uint8Array): Promise<string | null> {
    const key = await this.key;
    const n = Math.max(1, Math.ceil(msg.length / BB84_CHUNK_BYTES));
    for (let i = 0; i < n; i++) {
      if (this.closed() || this.broken) return null;
      const chunk = msg.subarray(i * BB84_CHUNK_BYTES, Math.min(msg.length, (i + 1) * BB84_CHUNK_BYTES));
      const frame = await sealFrame(key, this.tx, this.sendSeq++, i === n - 1, chunk);
      const refused = await this.relayWithRetry(frame);
      if (refused) {
        // The frame is lost, so the peer's sequence check would fail anyway: the session ends with the reason.
        this.broken = true;
        return refused;
      }
      this.stats.framesSent++;
      this.stats.bytesSent += frame.length;
      if (n > 1) this.onProgress();
    }
    return null;
  }

  /** Opens one frame from the peer: checks it, then reassembles the message it belongs to. */
  async receive(bytes: Uint8Array): Promise<Received> {
    let opened;
    try {
      opened = await openFrame(await this.key, this.rx, bytes);
    } catch {
      return { kind: "invalid", reason: "a relay frame failed authentication: it was altered in transit or not sent by the peer" };
    }
    if (opened.seq !== this.recvSeq) {
      const reason =
        opened.seq < this.recvSeq
          ? `a relay frame was replayed (sequence ${opened.seq} again)`
          : `relay frames arrived out of order or went missing (got ${opened.seq}, expected ${this.recvSeq})`;
      return { kind: "invalid", reason };
    }
    this.recvSeq++;
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes.length;
    this.chunks.push(opened.chunk);
    this.chunkBytes += opened.chunk.length;
    if (this.chunkBytes > MAX_MESSAGE_BYTES) return { kind: "invalid", reason: "the peer sent an oversized message" };
    if (!opened.last) return { kind: "partial" };
    const message = this.chunks.length === 1 ? this.chunks[0] : concatBytes(...this.chunks);
    this.clear();
    return { kind: "message", message };
  }

  /** Drops a half-reassembled message (the session ended). */
  clear(): void {
    this.chunks = [];
    this.chunkBytes = 0;
  }

  /** Relays one frame; retries RATE_LIMITED with backoff. Returns why it failed for good, or null. */
  private async relayWithRetry(frame: Uint8Array): Promise<string | null> {
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.host.relay({ roomId: this.tx.roomId, to: this.tx.to, sessionId: this.tx.sessionId, frame });
        return null;
      } catch (e) {
        const err = e instanceof ClientError ? e : null;
        if (err?.code === "RATE_LIMITED" && Date.now() - t0 < RETRY_FOR_MS && !this.closed()) {
          await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** attempt)));
          continue;
        }
        return err ? `${err.code}: ${err.message}` : String(e);
      }
    }
  }
}
