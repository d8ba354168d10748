/**
 * What Alice and Bob share: parameters, status, the message envelope (session id + per-direction
 * sequence numbers) and the rule that any bad input ends in a structured abort, never a throw.
 */
import { BitArray } from "./bits";
import { CascadeProtocolError, CascadeVariant, CASCADE_VARIANTS, DEFAULT_CASCADE_VARIANT } from "./cascade";
import type { Estimate } from "./estimate";
import { DEFAULT_EPS_COR, DEFAULT_EPS_SEC, DEFAULT_QBER_THRESHOLD, DEFAULT_SAMPLE_DESIGN } from "./finite-key";
import { AbortCode, decodeMessage, encodeMessage, Message, MessageError, messageTypeName, MsgType, Payload, SESSION_ID_BYTES } from "./messages";
import { type Stage, stageRecord, STAGES } from "./stages";

export { STAGES };
export type { Stage };
export type PartyStatus = "idle" | "running" | "done" | "aborted";

export interface QkdParams {
  /** Qubits Alice sends. */
  qubits: number;
  /** Qubits per "qubits" message (multiple of 32); bounds message size (2^18 qubits ≈ 64 KiB). */
  chunkSize: number;
  epsSec: number;
  epsCor: number;
  /** Point-estimate QBER above which the run aborts as suspected eavesdropping. */
  qberThreshold: number;
  cascadeVariant: CascadeVariant;
  /** Design point for sizing the test sample (see optimalSampleSize). Alice only. */
  sampleDesignQber: number;
  sampleDesignEfficiency: number;
}

export const DEFAULT_PARAMS: QkdParams = {
  qubits: 1 << 20,
  chunkSize: 1 << 18,
  epsSec: DEFAULT_EPS_SEC,
  epsCor: DEFAULT_EPS_COR,
  qberThreshold: DEFAULT_QBER_THRESHOLD,
  cascadeVariant: DEFAULT_CASCADE_VARIANT,
  sampleDesignQber: DEFAULT_SAMPLE_DESIGN.designQber,
  sampleDesignEfficiency: DEFAULT_SAMPLE_DESIGN.designEfficiency,
};

/** Largest session Bob accepts by default (memory bound against a hostile Hello). */
export const MAX_QUBITS = 1 << 25;

export function resolveParams(p: Partial<QkdParams> = {}): QkdParams {
  const r: QkdParams = { ...DEFAULT_PARAMS, ...p };
  const bad = (m: string) => {
    throw new RangeError(`QKD parameters: ${m}`);
  };
  if (!(Number.isInteger(r.qubits) && r.qubits >= 64 && r.qubits <= MAX_QUBITS)) bad(`qubits must be an integer in [64, ${MAX_QUBITS}]`);
  if (!(Number.isInteger(r.chunkSize) && r.chunkSize >= 32 && r.chunkSize % 32 === 0 && r.chunkSize <= 1 << 24))
    bad("chunkSize must be a multiple of 32 in [32, 2^24]");
  if (!(r.epsSec > 0 && r.epsSec < 1)) bad("epsSec must be in (0, 1)");
  if (!(r.epsCor > 0 && r.epsCor < 1)) bad("epsCor must be in (0, 1)");
  if (!(r.qberThreshold > 0 && r.qberThreshold < 0.5)) bad("qberThreshold must be in (0, 0.5)");
  if (!(CASCADE_VARIANTS as readonly string[]).includes(r.cascadeVariant))
    bad(`unknown Cascade variant ${r.cascadeVariant} (known: ${CASCADE_VARIANTS.join(", ")})`);
  if (!(r.sampleDesignQber > 0 && r.sampleDesignQber < 0.5)) bad("sampleDesignQber must be in (0, 0.5)");
  if (!(r.sampleDesignEfficiency >= 1)) bad("sampleDesignEfficiency must be ≥ 1");
  return r;
}

export interface AbortInfo {
  code: AbortCode;
  message: string;
  /** Who detected the problem: this party, or the peer (received as an Abort message). */
  by: "self" | "peer";
  stage: Stage | "idle";
}

export interface PartyStats {
  qubits: number;
  detected: number | null;
  sifted: number | null;
  estimate: Estimate | null;
  cascade: { disclosedBits: number; roundTrips: number; errorsCorrected: number | null } | null;
  verifyBits: number | null;
  verified: boolean | null;
  leakEC: number | null;
  ell: number | null;
}

export interface PartyResult {
  role: "alice" | "bob";
  status: PartyStatus;
  sessionId: string | null;
  key: BitArray | null;
  abort: AbortInfo | null;
  stats: PartyStats;
  timings: Record<Stage, number>;
  traffic: { messagesSent: number; bytesSent: number; messagesReceived: number; bytesReceived: number };
}

/** Public values of the discussion, kept for the simulation report (all of them went over the wire). */
export interface PublicTranscript {
  detected: BitArray | null;
  match: BitArray | null;
  sample: BitArray | null;
  paSeed: BitArray | null;
  ell: number | null;
}

/** A protocol rule broken by the peer: becomes a PROTOCOL_ERROR abort. */
export class ProtocolViolation extends Error {
  constructor(
    message: string,
    readonly code: AbortCode = "PROTOCOL_ERROR",
  ) {
    super(message);
    this.name = "ProtocolViolation";
  }
}

export abstract class Party {
  abstract readonly role: "alice" | "bob";
  status: PartyStatus = "idle";
  stage: Stage | "idle" = "idle";
  protected sessionId: Uint8Array | null = null;
  private sendSeq = 0;
  private recvSeq = 0;
  protected abortInfo: AbortInfo | null = null;
  protected finalKey: BitArray | null = null;
  readonly timings: Record<Stage, number> = stageRecord(() => 0);
  readonly stats: PartyStats;
  readonly transcript: PublicTranscript = { detected: null, match: null, sample: null, paSeed: null, ell: null };
  private traffic = { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 };
  protected cascadeRounds = 0;
  /**
   * Simulation diagnostics (only when the constructor is given `diagnostics: true`): the key bits
   * before and after reconciliation, so a local run can count true errors. Never used by the protocol.
   */
  diagnostics: { key: BitArray | null; reconciled: BitArray | null } | null = null;

  constructor(readonly params: QkdParams) {
    this.stats = {
      qubits: params.qubits,
      detected: null,
      sifted: null,
      estimate: null,
      cascade: null,
      verifyBits: null,
      verified: null,
      leakEC: null,
      ell: null,
    };
  }

  /** Rough overall progress for a UI. */
  get progress(): { stage: Stage | "idle" | "done" | "aborted"; fraction: number } {
    if (this.status === "done") return { stage: "done", fraction: 1 };
    if (this.status === "aborted") return { stage: "aborted", fraction: 1 };
    const base: Record<Stage | "idle", number> = {
      idle: 0,
      qubits: 0.05,
      sifting: 0.3,
      estimation: 0.35,
      cascade: 0.4,
      verification: 0.9,
      amplification: 0.95,
    };
    let f = base[this.stage];
    if (this.stage === "qubits") f += 0.25 * this.qubitFraction();
    if (this.stage === "cascade") f += 0.5 * (1 - 1 / (1 + this.cascadeRounds / 20));
    return { stage: this.stage, fraction: f };
  }
  protected qubitFraction(): number {
    return 0;
  }

  get result(): PartyResult {
    return {
      role: this.role,
      status: this.status,
      sessionId: this.sessionId ? toHex(this.sessionId) : null,
      key: this.status === "done" ? this.finalKey : null,
      abort: this.abortInfo,
      stats: this.stats,
      timings: { ...this.timings },
      traffic: { ...this.traffic },
    };
  }

  /** Handle one message from the peer; returns the messages to send back (possibly an Abort). */
  receive(bytes: Uint8Array): Uint8Array[] {
    if (this.status === "aborted") return [];
    if (this.status === "done") {
      this.lateAbort(bytes);
      return [];
    }
    this.traffic.messagesReceived++;
    this.traffic.bytesReceived += bytes?.length ?? 0;
    let msg: Message;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      return this.fail("PROTOCOL_ERROR", `malformed message: ${errorText(e)}`);
    }
    if (this.sessionId === null) {
      const refused = this.adoptSession(msg);
      if (refused !== null) return this.fail("PROTOCOL_ERROR", refused);
    } else if (!bytesEqual(msg.sessionId, this.sessionId)) {
      return this.fail("PROTOCOL_ERROR", `message for another session (${toHex(msg.sessionId)})`);
    }
    if (msg.seq !== this.recvSeq) return this.fail("PROTOCOL_ERROR", `out-of-order message: sequence ${msg.seq}, expected ${this.recvSeq}`);
    this.recvSeq++;
    const p = msg.payload;
    if (p.type === MsgType.Abort) {
      this.abortInfo = { code: p.code, message: p.message, by: "peer", stage: this.stage };
      this.status = "aborted";
      this.finalKey = null;
      return [];
    }
    try {
      return this.handle(p);
    } catch (e) {
      if (e instanceof ProtocolViolation) return this.fail(e.code, e.message);
      if (e instanceof CascadeProtocolError || e instanceof MessageError) return this.fail("PROTOCOL_ERROR", errorText(e));
      return this.fail("INTERNAL_ERROR", errorText(e));
    }
  }

  /**
   * After "done", only a valid Abort from the peer is still heard: the peer failed after our last
   * message (e.g. Bob's Confirm arrived corrupted at Alice), so the key is withdrawn on both sides.
   * Anything else is ignored.
   */
  private lateAbort(bytes: Uint8Array) {
    let msg: Message;
    try {
      msg = decodeMessage(bytes);
    } catch {
      return;
    }
    if (msg.payload.type !== MsgType.Abort || msg.seq !== this.recvSeq || !bytesEqual(msg.sessionId, this.sessionId!)) return;
    this.recvSeq++;
    this.abortInfo = { code: msg.payload.code, message: msg.payload.message, by: "peer", stage: this.stage };
    this.status = "aborted";
    this.finalKey = null;
  }

  /** Abort locally (e.g. the peer went away); returns the Abort message for the peer. */
  cancel(reason = "cancelled"): Uint8Array[] {
    if (this.status === "done" || this.status === "aborted") return [];
    return this.fail("CANCELLED", reason);
  }

  /**
   * Abort locally with a code and reason found outside the engine (e.g. a relay frame that failed
   * authentication or arrived out of order); returns the Abort message for the peer.
   */
  abort(code: AbortCode, message: string): Uint8Array[] {
    if (this.status === "done" || this.status === "aborted") return [];
    return this.fail(code, message);
  }

  protected abstract handle(p: Payload): Uint8Array[];
  /** Bob adopts the session id of Alice's Hello; Alice never adopts one. Returns why not, or null. */
  protected adoptSession(msg: Message): string | null {
    return `unexpected ${messageTypeName(msg.payload.type)} before the session started`;
  }
  protected setSession(id: Uint8Array) {
    if (id.length !== SESSION_ID_BYTES) throw new RangeError("session id must be 16 bytes");
    this.sessionId = id.slice();
  }

  protected send(payload: Payload): Uint8Array {
    const bytes = encodeMessage({ sessionId: this.sessionId!, seq: this.sendSeq++, payload });
    this.traffic.messagesSent++;
    this.traffic.bytesSent += bytes.length;
    return bytes;
  }

  protected fail(code: AbortCode, message: string): Uint8Array[] {
    this.abortInfo = { code, message, by: "self", stage: this.stage };
    this.status = "aborted";
    this.finalKey = null;
    if (this.sessionId === null) return [];
    try {
      return [this.send({ type: MsgType.Abort, code, message })];
    } catch {
      return [];
    }
  }

  protected expect(cond: unknown, message: string): asserts cond {
    if (!cond) throw new ProtocolViolation(message);
  }

  protected unexpected(p: Payload): never {
    throw new ProtocolViolation(`unexpected ${messageTypeName(p.type)} message in stage ${this.stage}`);
  }

  protected timed<T>(stage: Stage, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.timings[stage] += performance.now() - t0;
    }
  }

  protected finish(key: BitArray) {
    this.finalKey = key;
    this.status = "done";
  }
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
