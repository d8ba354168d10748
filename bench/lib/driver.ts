/**
 * The measuring loop shared by both relays: a windowed (pipelined) sender keeps up to `window`
 * messages in flight, a message leaving the window only once the sender has its ack AND every
 * receiver has it, so queues stay bounded and latency means "send → receipt", not backlog.
 * Messages are correlated by their counter (the QSEC payload is opaque; counter is the one field
 * the relay passes through untouched), and send times are held in an array indexed by it.
 * All clients live in this process, so send and receipt times come from one clock.
 */
import { Sample } from "./stats";
import { payloadPool, type WirePayload } from "./payload";

/** A connected room as the driver sees it, whichever relay is behind it. */
export interface RoomUnderTest {
  /** Emits one message with an ack (the ack is what the server's command answers). */
  send(p: WirePayload, ack: (res: { ok: boolean; error?: { code: string; message: string } }) => void): void;
  /** Sets (replacing any earlier one) the handler called for each message a receiver gets, with its counter. */
  onDelivery(fn: (counter: number) => void): void;
  roomId: string;
  /** The epoch to stamp (QSEC: the room's current key epoch; bare: 0). */
  epoch(): number;
  receivers: number;
}

export interface PhaseResult {
  messages: number;
  deliveries: number;
  elapsedMs: number;
  messagesPerSec: number;
  deliveriesPerSec: number;
  /** Send → receipt at one receiver, each delivery counted. */
  delivery: Float64Array;
  /** Send → receipt at the last receiver (= delivery for 1→1). */
  complete: Float64Array;
  /** Send → ack at the sender. */
  ack: Float64Array;
  rateLimitedRetries: number;
}

export interface PhaseOptions {
  count: number;
  window: number;
  /** First counter of this phase (phases of one room use disjoint counters). */
  firstCounter: number;
  /** On RATE_LIMITED, resend after this delay instead of failing (the "as configured" runs). */
  retryRateLimitedMs?: number;
  /** Fails the phase when nothing completes for this long. */
  stallMs?: number;
}

const pool = payloadPool(256);

export function runPhase(room: RoomUnderTest, opts: PhaseOptions): Promise<PhaseResult> {
  const { count, window, firstCounter } = opts;
  const R = room.receivers;
  const sentAt = new Float64Array(count);
  const remaining = new Int32Array(count).fill(R);
  const acked = new Uint8Array(count);
  const delivery = new Sample(count * R);
  const complete = new Sample(count);
  const ackLat = new Sample(count);
  let next = 0;
  let inFlight = 0;
  let done = 0;
  let retries = 0;
  let tStart = 0;
  let tEnd = 0;
  let lastProgress = performance.now();

  return new Promise<PhaseResult>((resolve, reject) => {
    let finished = false;
    const fail = (e: Error) => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      reject(e);
    };
    const watchdog = setInterval(() => {
      if (performance.now() - lastProgress > (opts.stallMs ?? 15_000))
        fail(new Error(`stalled: ${done}/${count} complete, ${inFlight} in flight, ${next} sent`));
    }, 500);

    const finishOne = (i: number) => {
      inFlight--;
      done++;
      lastProgress = performance.now();
      if (done === count) {
        tEnd = performance.now();
        finished = true;
        clearInterval(watchdog);
        const elapsedMs = tEnd - tStart;
        resolve({
          messages: count,
          deliveries: count * R,
          elapsedMs,
          messagesPerSec: (count * 1000) / elapsedMs,
          deliveriesPerSec: (count * R * 1000) / elapsedMs,
          delivery: delivery.values(),
          complete: complete.values(),
          ack: ackLat.values(),
          rateLimitedRetries: retries,
        });
      } else pump();
      void i;
    };

    const emit = (i: number) => {
      const body = pool[(firstCounter + i) % pool.length];
      room.send({ roomId: room.roomId, epoch: room.epoch(), counter: firstCounter + i, ...body }, (res) => {
        if (finished) return;
        if (!res.ok) {
          if (res.error?.code === "RATE_LIMITED" && opts.retryRateLimitedMs !== undefined) {
            retries++;
            setTimeout(() => emit(i), opts.retryRateLimitedMs);
            return;
          }
          return fail(new Error(`message ${firstCounter + i} refused: ${JSON.stringify(res.error)}`));
        }
        ackLat.push(performance.now() - sentAt[i]);
        acked[i] = 1;
        if (remaining[i] === 0) finishOne(i);
      });
    };

    room.onDelivery((counter) => {
      if (finished) return;
      const i = counter - firstCounter;
      if (i < 0 || i >= count) return; // a straggler from an earlier phase
      const now = performance.now();
      const lat = now - sentAt[i];
      delivery.push(lat);
      if (--remaining[i] === 0) {
        complete.push(lat);
        if (acked[i]) finishOne(i);
      }
    });

    const pump = () => {
      while (inFlight < window && next < count) {
        const i = next++;
        inFlight++;
        sentAt[i] = performance.now();
        emit(i);
      }
    };

    tStart = performance.now();
    pump();
  });
}
