/**
 * runLocal: both parties in one process, messages passed in order through an in-memory queue —
 * the same state machines that run across the relay. Returns the structured report.
 */
import { Alice } from "./alice";
import { Bob } from "./bob";
import { CascadeVariant } from "./cascade";
import { ChannelParams, QuantumChannel } from "./channel";
import { buildReport, QkdReport } from "./report";
import { QkdParams, resolveParams } from "./party";
import { cryptoRandom, deriveSeed, RandomSource, seededRandom } from "./rng";

export interface RunOptions {
  /** Qubits Alice sends (default 2^20). */
  qubits?: number;
  /** Channel bit error rate e (default 0.02). */
  noise?: number;
  /** Probability a qubit is lost (default 0). */
  loss?: number;
  /** Dark-count probability per slot (default 0). */
  darkCount?: number;
  /** Fraction of qubits Eve intercepts and resends (default 0). */
  eve?: number;
  cascade?: CascadeVariant;
  epsSec?: number;
  epsCor?: number;
  qberThreshold?: number;
  chunkSize?: number;
  /** Other protocol parameters (sample design point). */
  params?: Partial<QkdParams>;
  /** Randomness for Alice, Bob and the channel (default crypto.getRandomValues). */
  rng?: RandomSource;
  /** Convenience: seeded, reproducible run (independent streams for Alice, Bob, channel). Not for keys. */
  seed?: number;
  /** Compute Eve's guess of the final key (one extra Toeplitz hash); default when the key is ≤ 2^18 bits. */
  eveFinalKeyGuess?: boolean;
  /** Observe every message (direction, bytes), e.g. to record a transcript. */
  onMessage?: (from: "alice" | "bob", bytes: Uint8Array) => void;
  /** Replace a message before it is delivered (tests and benchmarks of a faulty or lying peer). */
  tamper?: (from: "alice" | "bob", bytes: Uint8Array) => Uint8Array;
}

export function runLocal(opts: RunOptions = {}): QkdReport {
  const t0 = performance.now();
  const params = resolveParams({
    ...opts.params,
    ...(opts.qubits !== undefined && { qubits: opts.qubits }),
    ...(opts.cascade !== undefined && { cascadeVariant: opts.cascade }),
    ...(opts.epsSec !== undefined && { epsSec: opts.epsSec }),
    ...(opts.epsCor !== undefined && { epsCor: opts.epsCor }),
    ...(opts.qberThreshold !== undefined && { qberThreshold: opts.qberThreshold }),
    ...(opts.chunkSize !== undefined && { chunkSize: opts.chunkSize }),
  });
  const channelParams: ChannelParams = { noise: opts.noise ?? 0.02, loss: opts.loss ?? 0, darkCount: opts.darkCount ?? 0, eve: opts.eve ?? 0 };
  let rA: RandomSource, rB: RandomSource, rC: RandomSource;
  if (opts.seed !== undefined) {
    rA = seededRandom(deriveSeed(opts.seed, 0));
    rB = seededRandom(deriveSeed(opts.seed, 1));
    rC = seededRandom(deriveSeed(opts.seed, 2));
  } else {
    rA = rB = rC = opts.rng ?? cryptoRandom;
  }
  const channel = new QuantumChannel(channelParams, rC);
  const alice = new Alice({ params, rng: rA, diagnostics: true });
  const bob = new Bob({ params, rng: rB, channel, diagnostics: true });

  const traffic = { messages: 0, bytesAliceToBob: 0, bytesBobToAlice: 0 };
  const queue: { to: Alice | Bob; bytes: Uint8Array }[] = [];
  const post = (from: Alice | Bob, msgs: Uint8Array[]) => {
    for (const sent of msgs) {
      const bytes = opts.tamper ? opts.tamper(from.role, sent) : sent;
      traffic.messages++;
      if (from === alice) traffic.bytesAliceToBob += bytes.length;
      else traffic.bytesBobToAlice += bytes.length;
      opts.onMessage?.(from.role, bytes);
      queue.push({ to: from === alice ? bob : alice, bytes });
    }
  };
  post(alice, alice.start());
  for (let i = 0; i < queue.length; i++) {
    const { to, bytes } = queue[i];
    queue[i] = undefined as never; // let delivered messages be collected
    post(to, to.receive(bytes));
  }
  // A stalled exchange (neither finished) would be a bug in the state machines; report it as such.
  if (alice.status === "running" || bob.status === "running") {
    post(alice, alice.cancel("exchange stalled"));
  }
  return buildReport({ alice, bob, channel, channelParams, params, traffic, eveFinalKeyGuess: opts.eveFinalKeyGuess, t0 });
}
