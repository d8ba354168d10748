/**
 * One BB84 session's encrypted transport over the relay, in two parts:
 *
 * - FrameCodec and framedParty: engine messages are cut into chunks; each chunk is one relay frame
 *   sealed under the session's frame key (lib/crypto/bb84-frames.ts) with a per-direction sequence
 *   number, so a tampered, replayed, reordered, dropped or foreign frame is caught and named. A
 *   FramedParty is an engine behind that codec: one call takes a sealed frame from the peer and
 *   returns the sealed frames of the answer. It runs where the engine runs: in the page's Web
 *   Worker in the browser (qkd.worker.ts), so a protocol step costs the page one task (the worker's
 *   answer) instead of three (open, engine, seal); in-thread in Node.
 * - RelaySender: relays sealed frames in order, each after the previous one's ack, retrying a
 *   refused frame with backoff. The session does not wait for it: the peer's answer to a frame can
 *   only come after the relay accepted it, so the ack is off the protocol's critical path.
 *
 * The session (bb84-lifecycle.ts) turns an invalid frame or a refused relay into an Abort with the reason.
 */
import { openFrame, sealFrame, type FrameContext } from "@/lib/crypto/bb84-frames";
import { concatBytes } from "@/lib/crypto/encoding";
import { LIMITS } from "@/lib/protocol/limits";
import { TokenBucket } from "@/lib/protocol/token-bucket";
import type { FramedParty, FramedStep, FrameSetup, QkdEngine, QkdSnapshot, StepTimes } from "./bb84-types";
import { ClientError } from "./errors";

export type { FramedParty, FramedStep, FrameSetup, StepTimes } from "./bb84-types";

/** Plaintext bytes per relay frame (a 10^6-qubit batch is a handful of frames; progress per frame). */
export const BB84_CHUNK_BYTES = 128 * 1024;
/**
 * A refused frame (RATE_LIMITED: the sender's frame budget or a backed-up receiver) is retried in
 * order, with backoff, for this long before the session gives up. Frames go one at a time (each
 * after the previous one's ack), so a retry can never overtake: the receiver's sequence check
 * stays exact.
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

/** Seals and opens one session's frames: sequence numbers both ways and reassembly of multi-frame messages. */
export class FrameCodec {
  private sendSeq = 0;
  private recvSeq = 0;
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;

  constructor(private readonly setup: FrameSetup) {}

  /** A message as sealed frames, in order. */
  async seal(msg: Uint8Array): Promise<Uint8Array[]> {
    const n = Math.max(1, Math.ceil(msg.length / BB84_CHUNK_BYTES));
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const chunk = msg.subarray(i * BB84_CHUNK_BYTES, Math.min(msg.length, (i + 1) * BB84_CHUNK_BYTES));
      out.push(await sealFrame(this.setup.key, this.setup.tx, this.sendSeq++, i === n - 1, chunk));
    }
    return out;
  }

  /** Opens one frame from the peer: checks it, then reassembles the message it belongs to. */
  async open(bytes: Uint8Array): Promise<Received> {
    let opened;
    try {
      opened = await openFrame(this.setup.key, this.setup.rx, bytes);
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
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Wraps an engine and a codec in the same thread (the worker does this for the browser; Node directly). */
export function framedParty(engine: Pick<QkdEngine, "start" | "receive" | "abort">, setup: FrameSetup): FramedParty {
  const codec = new FrameCodec(setup);
  const sealAll = async (out: Uint8Array[], snapshot: QkdSnapshot, t: StepTimes): Promise<FramedStep> => {
    const t0 = now();
    const frames: Uint8Array[] = [];
    for (const m of out) frames.push(...(await codec.seal(m)));
    t.seal = now() - t0;
    return { kind: "step", frames, snapshot, t };
  };
  const run = async (f: () => Promise<{ out: Uint8Array[]; snapshot: QkdSnapshot }>, t: StepTimes) => {
    const t0 = now();
    const step = await f();
    t.engine = now() - t0;
    return sealAll(step.out, step.snapshot, t);
  };
  return {
    start: () => run(() => engine.start(), { open: 0, engine: 0, seal: 0 }),
    abort: (code, message) => run(() => engine.abort(code, message), { open: 0, engine: 0, seal: 0 }),
    async receiveFrame(frame) {
      const t: StepTimes = { open: 0, engine: 0, seal: 0 };
      const t0 = now();
      const got = await codec.open(frame);
      t.open = now() - t0;
      if (got.kind === "invalid") return { kind: "invalid", reason: got.reason, frames: [], t };
      if (got.kind === "partial") return { kind: "partial", frames: [], t };
      return run(() => engine.receive(got.message), t);
    },
    clear: () => codec.clear(),
  };
}

/** What RelaySender needs to send one frame: resolves when the server acked it, or with false at once when it went without an ack (refusals then come back as bb84:refused). */
export type RelayFrame = (payload: { roomId: string; to: string; sessionId: string; frame: Uint8Array }) => Promise<void | false>;

/**
 * Relays sealed frames in order, each after the previous one's ack (or at once, for a frame the
 * host sends without one); retries RATE_LIMITED with backoff. A frame refused for good breaks it:
 * nothing more is sent (not even the Abort), and onRefused gets the reason once.
 */
export class RelaySender {
  private chain: Promise<void> = Promise.resolve();
  private broken = false;

  constructor(
    private readonly host: { relay: RelayFrame },
    private readonly tx: FrameContext,
    /** The session ended: stop sending and retrying. */
    private readonly closed: () => boolean,
    /** One frame went through (stats, progress); ackMs is 0 for a frame sent without an ack. */
    private readonly onSent: (frameBytes: number, ackMs: number, ofMany: boolean, acked: boolean) => void,
    private readonly onRefused: (reason: string) => void,
  ) {}

  /** A frame sent without an ack was refused (bb84:refused): as for a refusal answered to an ack. */
  refused(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    this.onRefused(reason);
  }

  /** Queues frames behind those already queued; returns at once. */
  send(frames: Uint8Array[]): void {
    if (frames.length === 0) return;
    const many = frames.length > 1;
    this.chain = this.chain.then(async () => {
      for (const frame of frames) {
        if (this.closed() || this.broken) return;
        const t0 = now();
        const r = await this.relayWithRetry(frame);
        if (typeof r === "string") {
          // The frame is lost, so the peer's sequence check would fail anyway: the session ends with the reason.
          this.refused(r);
          return;
        }
        const acked = r !== false;
        this.onSent(frame.length, acked ? now() - t0 : 0, many, acked);
      }
    });
  }

  /** Resolves once everything queued so far went out (or could not). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** The refusal's reason; false: sent without an ack; else acked. */
  private async relayWithRetry(frame: Uint8Array): Promise<string | false | void> {
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.host.relay({ roomId: this.tx.roomId, to: this.tx.to, sessionId: this.tx.sessionId, frame });
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

/**
 * The client's side of the server's BB84 frame and byte buckets (LIMITS, per member connection and
 * its worker connections), with a margin: a frame may go without an ack only while this says the
 * server's buckets have room, so that a RATE_LIMITED refusal (retried when it answers an ack) does
 * not come back as a bb84:refused that ends the session.
 */
export class RelayPacer {
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(
    framesPerSecond = LIMITS.bb84FramesPerSecond,
    frameBurst = LIMITS.bb84FrameBurst - 100,
    bytesPerSecond = LIMITS.bb84BytesPerSecond,
    byteBurst = LIMITS.bb84ByteBurst / 2,
    clock: () => number = now,
  ) {
    this.frames = new TokenBucket(framesPerSecond, frameBurst, clock);
    this.bytes = new TokenBucket(bytesPerSecond, byteBurst, clock);
  }

  /** Counts a frame about to be sent (it goes either way, so it is always counted); true when the buckets had room for it. */
  take(frameBytes: number): boolean {
    const frame = this.frames.charge(1);
    return this.bytes.charge(frameBytes) && frame;
  }
}
