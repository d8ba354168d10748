/**
 * The in-thread QKD engine: one lib/qkd party (Alice or Bob) behind the QkdEngine interface, with
 * plain snapshots for the UI. Node (tests, bench, headless clients) uses it directly; the browser
 * runs the very same code inside a Web Worker (lib/client/qkd.worker.ts).
 */
import { Alice } from "@/lib/qkd/alice";
import { Bob } from "@/lib/qkd/bob";
import { QuantumChannel } from "@/lib/qkd/channel";
import { binaryEntropy } from "@/lib/qkd/entropy";
import { eveInformationBound } from "@/lib/qkd/finite-key";
import type { AbortCode } from "@/lib/qkd/messages";
import type { Party } from "@/lib/qkd/party";
import { cryptoRandom, type RandomSource } from "@/lib/qkd/rng";
import { complement } from "@/lib/qkd/sift";
import type { QkdEngine, QkdEngineInit, QkdSnapshot, QkdStep } from "./bb84-types";

export interface LocalEngineOptions {
  /** Randomness for the party and (Bob) the channel model; crypto.getRandomValues by default. */
  rng?: RandomSource;
}

export function createLocalEngine(init: QkdEngineInit, opts: LocalEngineOptions = {}): QkdEngine {
  const rng = opts.rng ?? cryptoRandom;
  let party: Alice | Bob;
  if (init.role === "alice") {
    party = new Alice({ params: init.params, rng, sessionId: init.sessionId });
  } else {
    const ch = init.channel ?? { noise: 0, loss: 0, eve: 0 };
    const channel = new QuantumChannel({ noise: ch.noise, loss: ch.loss, eve: ch.eve, darkCount: 0 }, rng);
    party = new Bob({ params: init.params, rng, channel, sessionId: init.sessionId });
  }
  let disposed = false;
  const step = (out: Uint8Array[]): QkdStep => ({ out, snapshot: snapshotOf(party) });
  const guard = () => {
    if (disposed) throw new Error("QKD engine disposed");
  };
  return {
    async start() {
      guard();
      return step(party instanceof Alice ? party.start() : []);
    },
    async receive(message) {
      guard();
      return step(party.receive(message));
    },
    async abort(code: AbortCode, message: string) {
      guard();
      return step(party.abort(code, message));
    },
    async key() {
      const r = party.result;
      return r.status === "done" && r.key ? r.key.toBytes() : null;
    },
    dispose() {
      disposed = true;
    },
  };
}

/** Plain numbers about a party (no key material: counts, rates and the public discussion's sizes). */
export function snapshotOf(party: Party): QkdSnapshot {
  const r = party.result;
  const st = r.stats;
  const est = st.estimate;
  const prog = party.progress;
  const cs = st.cascade;
  const n = est?.keyBits ?? null;
  // Bob knows how many errors Cascade corrected (the key's true QBER once verified); Alice only the estimate.
  const q = cs && cs.errorsCorrected !== null && n ? cs.errorsCorrected / n : (est?.qber ?? null);
  const fEC = cs && n && q !== null && q > 0 && q < 0.5 ? cs.disclosedBits / (n * binaryEntropy(q)) : null;
  return {
    status: r.status,
    stage: prog.stage,
    fraction: prog.fraction,
    qubits: st.qubits,
    detected: st.detected,
    sifted: st.sifted,
    sampleSize: est?.sampleSize ?? null,
    sampleErrors: est?.sampleErrors ?? null,
    qberEstimate: est?.qber ?? null,
    qberBound: est?.qberUpper ?? null,
    qberThreshold: party.params.qberThreshold,
    disclosedBits: cs?.disclosedBits ?? null,
    roundTrips: cs?.roundTrips ?? null,
    fEC,
    finalLength: r.status === "done" ? st.ell : null,
    abort: r.abort ? { code: r.abort.code, message: r.abort.message, by: r.abort.by, stage: r.abort.stage } : null,
    timings: { ...r.timings },
    eve: party.role === "bob" ? eveView(party as Bob) : null,
  };
}

const eveCache = new WeakMap<Bob, { at: string; view: QkdSnapshot["eve"] }>();

/** Simulation only: what the channel model's eavesdropper learned, mapped onto the sifted key. */
function eveView(bob: Bob): QkdSnapshot["eve"] {
  // Recomputed only when the stage moves on (the record is fixed once the qubits are measured).
  const at = `${bob.status}|${bob.stage}|${bob.stats.leakEC}`;
  const hit = eveCache.get(bob);
  if (hit && hit.at === at) return hit.view;
  const view = computeEve(bob);
  eveCache.set(bob, { at, view });
  return view;
}

function computeEve(bob: Bob): QkdSnapshot["eve"] {
  const p = bob.channel.params;
  if (!(p.eve > 0))
    return {
      intercepted: 0,
      knownSiftedBits: bob.transcript.match ? 0 : null,
      beforePA: bob.stats.leakEC ?? null,
      afterPA: bob.status === "done" ? eveInformationBound(bob.stats.ell ?? 0, bob.params.epsSec) : null,
    };
  const rec = bob.channel.eveRecord(bob.params.qubits);
  const tr = bob.transcript;
  let knownSifted: number | null = null,
    keyKnown: number | null = null;
  if (tr.detected && tr.match) {
    const k = rec.knows.select(tr.detected).select(tr.match);
    knownSifted = k.popcount();
    if (tr.sample) keyKnown = k.select(complement(tr.sample)).popcount();
  }
  const n = bob.stats.estimate?.keyBits ?? null;
  const leak = bob.stats.leakEC;
  return {
    intercepted: rec.intercepted.popcount(),
    knownSiftedBits: knownSifted,
    beforePA: keyKnown !== null && n !== null ? Math.min(n, keyKnown + (leak ?? 0)) : null,
    afterPA: bob.status === "done" ? eveInformationBound(bob.stats.ell ?? 0, bob.params.epsSec) : null,
  };
}
