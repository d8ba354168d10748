/**
 * BB84 sessions over the relay, client side. The server starts a session (bb84:start, which picks
 * its id and snapshots the room's channel settings) and tells the room (bb84:updated); the peer's
 * client accepts automatically. Each party runs one lib/qkd state machine in a QkdEngine (in-thread
 * or a Web Worker). Engine messages are cut into chunks; each chunk is one relay frame sealed under
 * the session's frame key (lib/crypto/bb84-frames.ts), with a per-direction sequence number, so a
 * tampered, replayed, reordered, dropped or foreign frame aborts the session with a reason, and the
 * Abort reaches the peer (encrypted, and through the server's summary).
 *
 * A key is used only on the server's verdict: each party reports its non-secret summary
 * (bb84:report); the session succeeds when both report success with the same final length. Until
 * then the candidate hybrid keys are accepted for decryption only (so nothing in flight is lost
 * across the switch); on success they become the pair's keys, on abort they are dropped.
 */
import { openFrame, sealFrame, type FrameContext } from "@/lib/crypto/bb84-frames";
import { concatBytes, fromHex } from "@/lib/crypto/encoding";
import type { Bb84SessionSummary } from "@/lib/protocol";
import type { AbortCode } from "@/lib/qkd/messages";
import { DEFAULT_CASCADE_VARIANT } from "@/lib/qkd/cascade";
import type { Bb84Alarm, Bb84LiveView, QkdEngine, QkdEngineFactory, QkdSnapshot, RoomBb84View, StartBb84Options } from "./bb84-types";
import { DEFAULT_BB84_QUBITS } from "./bb84-types";
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
/** A running session with no frame from the peer for this long is aborted. */
export const BB84_IDLE_MS = 60_000;
/** A message being reassembled may not exceed this (a hostile peer can't grow our memory). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** How long a finished party waits for the server's verdict before it gives up on it. */
const VERDICT_WAIT_MS = 20_000;
const MAX_SESSIONS_KEPT = 100;
const MAX_LIVE_KEPT = 20;
const MAX_ALARMS_KEPT = 10;
const VIEW_THROTTLE_MS = 60;

export interface Bb84Host {
  readonly userId: string;
  relay(payload: { roomId: string; to: string; sessionId: string; frame: Uint8Array }): Promise<void>;
  start(payload: { roomId: string; peerId: string; qubits: number; cascadeVariant: string }): Promise<Bb84SessionSummary>;
  report(payload: Record<string, unknown> & { roomId: string; sessionId: string }): Promise<Bb84SessionSummary>;
  list(roomId: string): Promise<Bb84SessionSummary[]>;
  /** The session's frame key with a present, correctly bound peer (throws ClientError otherwise). */
  frameKey(roomId: string, peerId: string, sessionId: string): Promise<CryptoKey>;
  hasRoom(roomId: string): boolean;
  otherMembers(roomId: string): string[];
  patchBb84(roomId: string, fn: (v: RoomBb84View) => RoomBb84View): void;
  /** Local success: derive the candidate hybrid keys (accepted for decryption at once). */
  stageQkdKey(peerId: string, sessionId: string, key: Uint8Array, info: { qber: number | null; keyBits: number }): Promise<void>;
  /** The server's verdict on a session whose key was staged. */
  commitQkdKey(peerId: string, sessionId: string, success: boolean): Promise<void>;
  warn(roomId: string, message: string): void;
}

interface Session {
  id: string;
  roomId: string;
  role: "alice" | "bob";
  peerId: string;
  summary: Bb84SessionSummary;
  engine: QkdEngine;
  key: Promise<CryptoKey>;
  tx: FrameContext;
  rx: FrameContext;
  sendSeq: number;
  recvSeq: number;
  chunks: Uint8Array[];
  chunkBytes: number;
  queue: Promise<void>;
  /** The relay refused a frame for good: nothing more is sent (not even the Abort). */
  transportBroken: boolean;
  idleTimer: ReturnType<typeof setTimeout> | null;
  snapshot: QkdSnapshot;
  view: Bb84LiveView;
  /** The engine finished (done or aborted) and we reported it. */
  localEnd: boolean;
  staged: boolean;
  ended: boolean;
  t0: number;
  lastPatch: number;
  patchTimer: ReturnType<typeof setTimeout> | null;
  resolve: (v: Bb84LiveView) => void;
  done: Promise<Bb84LiveView>;
  verdictTimer: ReturnType<typeof setTimeout> | null;
}

export class Bb84Manager {
  private sessions = new Map<string, Session>();
  /** Starts we asked for and whose ack is not back yet: only those may make us Alice. */
  private pendingStarts = new Map<string, number>();

  constructor(
    private readonly host: Bb84Host,
    private readonly engineFactory: QkdEngineFactory,
    private readonly idleMs = BB84_IDLE_MS,
  ) {}

  // ---- commands --------------------------------------------------------------------------

  async start(roomId: string, peerId: string, opts: StartBb84Options = {}): Promise<Bb84LiveView> {
    if (!this.host.hasRoom(roomId)) throw new ClientError("NOT_JOINED", `not in room ${roomId}`);
    if (peerId === this.host.userId) throw new ClientError("UNKNOWN_PEER", "a BB84 session needs another member");
    // Fail before asking the server if the peer's keys are unusable.
    await this.host.frameKey(roomId, peerId, "0".repeat(32));
    const k = `${roomId}|${peerId}`;
    this.pendingStarts.set(k, (this.pendingStarts.get(k) ?? 0) + 1);
    let summary: Bb84SessionSummary;
    try {
      summary = await this.host.start({
        roomId,
        peerId,
        qubits: opts.qubits ?? DEFAULT_BB84_QUBITS,
        cascadeVariant: opts.cascadeVariant ?? DEFAULT_CASCADE_VARIANT,
      });
      this.onSummary(summary, true);
    } finally {
      const left = (this.pendingStarts.get(k) ?? 1) - 1;
      if (left <= 0) this.pendingStarts.delete(k);
      else this.pendingStarts.set(k, left);
    }
    const s = this.sessions.get(summary.id);
    if (!s) throw new ClientError("UNKNOWN_SESSION", "the session ended before it started");
    return s.done;
  }

  async startWithEach(roomId: string, opts: StartBb84Options = {}): Promise<Bb84LiveView[]> {
    const out: Bb84LiveView[] = [];
    for (const peer of this.host.otherMembers(roomId)) {
      if (!this.host.otherMembers(roomId).includes(peer)) continue; // left meanwhile
      try {
        out.push(await this.start(roomId, peer, opts));
      } catch (e) {
        this.host.warn(roomId, `BB84 with ${peer.slice(0, 8)} did not start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return out;
  }

  async cancel(sessionId: string, reason: string): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s || s.localEnd) return;
    await this.enqueue(s, () => this.localAbort(s, "CANCELLED", reason));
  }

  async load(roomId: string): Promise<void> {
    const sessions = await this.host.list(roomId);
    this.host.patchBb84(roomId, (v) => {
      const byId = new Map(v.sessions.map((x) => [x.id, x]));
      for (const x of sessions) if (!byId.has(x.id)) byId.set(x.id, x);
      return { ...v, sessions: sortSessions([...byId.values()]) };
    });
  }

  // ---- notifications -----------------------------------------------------------------------

  /** bb84:updated: a session of a room we are in started or ended. */
  onSummary(summary: Bb84SessionSummary, ours = false): void {
    if (!this.host.hasRoom(summary.roomId)) return;
    const me = this.host.userId;
    const s = this.sessions.get(summary.id);
    // A command's ack can be handled after a notification that left the socket later (its
    // continuation runs as a microtask): never let a "running" summary replace a final one.
    if (summary.outcome === "running" && s && s.summary.outcome !== "running") return;
    this.host.patchBb84(summary.roomId, (v) => ({ ...v, sessions: upsertSession(v.sessions, summary) }));
    if (s) {
      s.summary = { ...summary };
      if (summary.outcome !== "running") void this.enqueue(s, () => this.verdict(s, summary));
      return;
    }
    if (summary.outcome !== "running" || (summary.aliceId !== me && summary.bobId !== me)) return;
    // We are Alice only in a session we asked for (the notification may precede the ack).
    if (summary.aliceId === me && !ours && !this.pendingStarts.has(`${summary.roomId}|${summary.bobId}`)) return;
    this.open(summary);
  }

  /** bb84:frame: one sealed frame from the peer. */
  onFrame(f: { roomId: string; from: string; sessionId: string; frame: Uint8Array | ArrayBuffer }): void {
    const s = this.sessions.get(f.sessionId);
    if (!s || s.ended) return;
    const bytes = f.frame instanceof Uint8Array ? f.frame : new Uint8Array(f.frame);
    if (f.roomId !== s.roomId || f.from !== s.peerId) {
      void this.enqueue(s, () => this.localAbort(s, "PROTOCOL_ERROR", `a frame for this session came from ${f.from.slice(0, 8)}, who is not its peer`));
      return;
    }
    void this.enqueue(s, () => this.receiveFrame(s, bytes));
  }

  /** We left a room: the server ends our sessions there (and we no longer hear about them). */
  onLeave(roomId: string): void {
    for (const s of this.sessions.values()) {
      if (s.ended || s.roomId !== roomId) continue;
      void this.enqueue(s, async () => {
        if (!s.localEnd) {
          s.localEnd = true;
          await this.applyStep(s, await s.engine.abort("CANCELLED", "you left the room"), false);
        }
        if (s.staged) await this.host.commitQkdKey(s.peerId, s.id, false);
        this.finish(s, "aborted", { code: "CANCELLED", reason: "you left the room during the session" });
      });
    }
  }

  /** The connection dropped: the server ends our sessions; end them here too. */
  onDisconnect(): void {
    for (const s of this.sessions.values()) {
      if (s.ended) continue;
      void this.enqueue(s, async () => {
        if (!s.localEnd) await this.applyStep(s, await s.engine.abort("CANCELLED", "the connection to the server was lost"), false);
        this.finish(s, "aborted", null);
      });
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  private open(summary: Bb84SessionSummary) {
    const me = this.host.userId;
    const role = summary.aliceId === me ? "alice" : "bob";
    const peerId = role === "alice" ? summary.bobId : summary.aliceId;
    const idBytes = fromHex(summary.id);
    const engine = this.engineFactory({
      role,
      sessionId: idBytes,
      params: { qubits: summary.qubits, cascadeVariant: summary.cascadeVariant as never, qberThreshold: summary.qberThreshold },
      ...(role === "bob" && { channel: { ...summary.channel } }),
    });
    let resolve!: (v: Bb84LiveView) => void;
    const done = new Promise<Bb84LiveView>((r) => (resolve = r));
    const snapshot = emptySnapshot(summary);
    const s: Session = {
      id: summary.id,
      roomId: summary.roomId,
      role,
      peerId,
      summary: { ...summary },
      engine,
      key: this.host.frameKey(summary.roomId, peerId, summary.id),
      tx: { roomId: summary.roomId, sessionId: summary.id, from: me, to: peerId },
      rx: { roomId: summary.roomId, sessionId: summary.id, from: peerId, to: me },
      sendSeq: 0,
      recvSeq: 0,
      chunks: [],
      chunkBytes: 0,
      queue: Promise.resolve(),
      transportBroken: false,
      idleTimer: null,
      snapshot,
      view: {
        sessionId: summary.id,
        roomId: summary.roomId,
        role,
        peerId,
        cascadeVariant: summary.cascadeVariant,
        channel: { ...summary.channel },
        status: "running",
        snapshot,
        transport: { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 },
        startedAt: summary.startedAt,
        finishedAt: null,
      },
      localEnd: false,
      staged: false,
      ended: false,
      t0: Date.now(),
      lastPatch: 0,
      patchTimer: null,
      resolve,
      done,
      verdictTimer: null,
    };
    s.key.catch(() => {}); // observed in the queue
    this.sessions.set(s.id, s);
    this.pruneSessions();
    this.patch(s, true);
    void this.enqueue(s, async () => {
      try {
        await s.key;
      } catch (e) {
        await this.localAbort(s, "PROTOCOL_ERROR", `no usable key with the peer: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      await this.applyStep(s, await s.engine.start());
      this.armIdle(s);
    });
  }

  /** Runs one step of a session after the previous one (frames are handled strictly in order). */
  private enqueue(s: Session, fn: () => Promise<void>): Promise<void> {
    const next = s.queue.then(fn).catch(async (e) => {
      // An engine or transport failure that escaped: end the session visibly rather than hang.
      if (!s.localEnd) {
        try {
          await this.localAbort(s, "INTERNAL_ERROR", e instanceof Error ? e.message : String(e));
        } catch {
          this.finish(s, "aborted", null);
        }
      }
    });
    s.queue = next;
    return next;
  }

  /** (Re)arms the no-answer timer while our engine runs. */
  private armIdle(s: Session) {
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = null;
    if (s.localEnd || s.ended) return;
    s.idleTimer = setTimeout(() => {
      void this.enqueue(s, () => this.localAbort(s, "CANCELLED", `no answer from the peer for ${Math.round(this.idleMs / 1000)} s`));
    }, this.idleMs);
  }

  private async receiveFrame(s: Session, bytes: Uint8Array) {
    if (s.ended || s.snapshot.status === "aborted") return;
    this.armIdle(s);
    let opened;
    try {
      opened = await openFrame(await s.key, s.rx, bytes);
    } catch {
      return this.localAbort(s, "PROTOCOL_ERROR", "a relay frame failed authentication: it was altered in transit or not sent by the peer");
    }
    if (opened.seq !== s.recvSeq) {
      const why = opened.seq < s.recvSeq
        ? `a relay frame was replayed (sequence ${opened.seq} again)`
        : `relay frames arrived out of order or went missing (got ${opened.seq}, expected ${s.recvSeq})`;
      return this.localAbort(s, "PROTOCOL_ERROR", why);
    }
    s.recvSeq++;
    s.view.transport.framesReceived++;
    s.view.transport.bytesReceived += bytes.length;
    s.chunks.push(opened.chunk);
    s.chunkBytes += opened.chunk.length;
    if (s.chunkBytes > MAX_MESSAGE_BYTES) return this.localAbort(s, "PROTOCOL_ERROR", "the peer sent an oversized message");
    if (!opened.last) {
      this.patch(s, false);
      return;
    }
    const msg = s.chunks.length === 1 ? s.chunks[0] : concatBytes(...s.chunks);
    s.chunks = [];
    s.chunkBytes = 0;
    await this.applyStep(s, await s.engine.receive(msg));
  }

  /** Takes an engine step: new snapshot, send its messages, and act on the end of the run. */
  private async applyStep(s: Session, step: { out: Uint8Array[]; snapshot: QkdSnapshot }, send = true) {
    s.snapshot = step.snapshot;
    s.view.snapshot = step.snapshot;
    this.patch(s, false);
    if (send) {
      for (const m of step.out) await this.sendMessage(s, m);
    }
    if (s.localEnd) return;
    if (step.snapshot.status === "done" || step.snapshot.status === "aborted") {
      if (s.idleTimer) clearTimeout(s.idleTimer);
      s.idleTimer = null;
    }
    if (step.snapshot.status === "done") {
      s.localEnd = true;
      const key = await s.engine.key();
      if (key && key.length >= 16) {
        try {
          await this.host.stageQkdKey(s.peerId, s.id, key, { qber: step.snapshot.qberEstimate, keyBits: step.snapshot.finalLength ?? key.length * 8 });
          s.staged = true;
        } finally {
          key.fill(0);
        }
      }
      await this.report(s, s.staged ? "success" : "aborted", s.staged ? undefined : { code: "KEY_TOO_SHORT", message: "the final key is shorter than 128 bits; not used" });
      this.waitVerdict(s);
    } else if (step.snapshot.status === "aborted") {
      s.localEnd = true;
      const a = step.snapshot.abort;
      await this.report(s, "aborted", a ? { code: a.code, message: a.message, by: a.by } : { code: "INTERNAL_ERROR", message: "aborted" });
      this.waitVerdict(s);
    }
  }

  private async localAbort(s: Session, code: AbortCode, reason: string) {
    if (s.localEnd) return;
    await this.applyStep(s, await s.engine.abort(code, reason));
  }

  /** Seals a message into frames and relays them in order, each after the previous one's ack. */
  private async sendMessage(s: Session, msg: Uint8Array) {
    const key = await s.key;
    const n = Math.max(1, Math.ceil(msg.length / BB84_CHUNK_BYTES));
    for (let i = 0; i < n; i++) {
      if (s.ended || s.transportBroken) return;
      const chunk = msg.subarray(i * BB84_CHUNK_BYTES, Math.min(msg.length, (i + 1) * BB84_CHUNK_BYTES));
      const frame = await sealFrame(key, s.tx, s.sendSeq++, i === n - 1, chunk);
      const refused = await this.relayWithRetry(s, frame);
      if (refused) {
        // The frame is lost, so the peer's sequence check would fail anyway: end it here with the reason.
        s.transportBroken = true;
        if (!s.localEnd) await this.applyStep(s, await s.engine.abort("PROTOCOL_ERROR", `the relay refused a frame (${refused})`));
        return;
      }
      s.view.transport.framesSent++;
      s.view.transport.bytesSent += frame.length;
      if (n > 1) this.patch(s, false);
    }
  }

  /** Relays one frame; retries RATE_LIMITED with backoff. Returns why it failed for good, or null. */
  private async relayWithRetry(s: Session, frame: Uint8Array): Promise<string | null> {
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.host.relay({ roomId: s.roomId, to: s.peerId, sessionId: s.id, frame });
        return null;
      } catch (e) {
        const err = e instanceof ClientError ? e : null;
        if (err?.code === "RATE_LIMITED" && Date.now() - t0 < RETRY_FOR_MS && !s.ended) {
          await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** attempt)));
          continue;
        }
        return err ? `${err.code}: ${err.message}` : String(e);
      }
    }
  }

  private async report(s: Session, outcome: "success" | "aborted", abort?: { code: string; message: string; by?: "self" | "peer" }) {
    const snap = s.snapshot;
    const durations: Record<string, number> = { total: Date.now() - s.t0 };
    for (const [k, v] of Object.entries(snap.timings)) durations[k] = Math.round(v * 10) / 10;
    const payload: Record<string, unknown> & { roomId: string; sessionId: string } = { roomId: s.roomId, sessionId: s.id, outcome, durations };
    const put = (k: string, v: number | null) => {
      if (v !== null && Number.isFinite(v)) payload[k] = v;
    };
    put("detected", snap.detected);
    put("sifted", snap.sifted);
    put("sampleSize", snap.sampleSize);
    put("qberEstimate", snap.qberEstimate);
    put("qberBound", snap.qberBound !== null ? Math.min(1, snap.qberBound) : null);
    put("disclosedBits", snap.disclosedBits);
    put("fEC", snap.fEC !== null ? Math.min(100, snap.fEC) : null);
    put("roundTrips", snap.roundTrips);
    if (outcome === "success") put("finalLength", snap.finalLength);
    if (abort) {
      payload.abortCode = /^[A-Z_]{1,32}$/.test(abort.code) ? abort.code : "ABORTED";
      payload.abortReason = abort.message.slice(0, 300);
      payload.abortBy = abort.by ?? "self";
    }
    try {
      const summary = await this.host.report(payload);
      this.onSummary(summary);
    } catch (e) {
      this.host.warn(s.roomId, `could not report the BB84 session to the server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private waitVerdict(s: Session) {
    if (s.ended || s.verdictTimer) return;
    s.verdictTimer = setTimeout(() => {
      void this.enqueue(s, async () => {
        if (s.ended) return;
        if (s.staged) await this.host.commitQkdKey(s.peerId, s.id, false);
        this.finish(s, "aborted", { code: "NO_VERDICT", reason: "the server did not confirm the session's result" });
      });
    }, VERDICT_WAIT_MS);
  }

  /** The server's final summary: use the key on success, drop it and raise an alarm otherwise. */
  private async verdict(s: Session, summary: Bb84SessionSummary) {
    if (s.ended) return;
    if (!s.localEnd) {
      // Ended by the server or the peer before our engine finished (peer left, timeout, peer's abort).
      s.localEnd = true;
      const step = await s.engine.abort("CANCELLED", summary.abortReason ?? "ended by the server");
      s.snapshot = step.snapshot;
      s.view.snapshot = step.snapshot;
    }
    if (summary.outcome === "success" && s.staged) {
      await this.host.commitQkdKey(s.peerId, s.id, true);
      this.finish(s, "success", null);
    } else {
      if (s.staged) await this.host.commitQkdKey(s.peerId, s.id, false);
      this.finish(s, "aborted", null);
    }
  }

  private finish(s: Session, status: "success" | "aborted", override: { code: string; reason: string } | null) {
    if (s.ended) return;
    s.ended = true;
    if (s.verdictTimer) clearTimeout(s.verdictTimer);
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.view.status = status;
    s.view.finishedAt = new Date().toISOString();
    s.chunks = [];
    s.engine.dispose();
    this.patch(s, true);
    if (status === "aborted") {
      const alarm = makeAlarm(s, override);
      this.host.patchBb84(s.roomId, (v) => ({ ...v, alarms: [...v.alarms, alarm].slice(-MAX_ALARMS_KEPT) }));
    }
    s.resolve({ ...s.view, transport: { ...s.view.transport } });
  }

  private patch(s: Session, force: boolean) {
    const now = Date.now();
    const apply = () => {
      s.patchTimer = null;
      s.lastPatch = Date.now();
      const view: Bb84LiveView = { ...s.view, transport: { ...s.view.transport } };
      this.host.patchBb84(s.roomId, (v) => {
        const live = v.live.filter((x) => x.sessionId !== s.id);
        live.push(view);
        return { ...v, live: live.slice(-MAX_LIVE_KEPT) };
      });
    };
    if (force || now - s.lastPatch >= VIEW_THROTTLE_MS) {
      if (s.patchTimer) clearTimeout(s.patchTimer);
      apply();
    } else if (!s.patchTimer) {
      s.patchTimer = setTimeout(apply, VIEW_THROTTLE_MS - (now - s.lastPatch));
    }
  }

  private pruneSessions() {
    if (this.sessions.size <= MAX_LIVE_KEPT * 2) return;
    for (const [id, s] of this.sessions) {
      if (this.sessions.size <= MAX_LIVE_KEPT * 2) break;
      if (s.ended) this.sessions.delete(id);
    }
  }
}

/** Whether an abort's QBER is more than the channel's noise explains (the eavesdropper alarm). */
export function suspectEavesdropper(q: { qberEstimate: number | null; sampleSize: number | null; noise: number }): boolean {
  if (q.qberEstimate === null || !q.sampleSize) return false;
  const p = Math.max(q.noise, 1 / q.sampleSize);
  const sigma = Math.sqrt((p * (1 - p)) / q.sampleSize);
  return q.qberEstimate > q.noise + 3 * sigma + 0.005;
}

function makeAlarm(s: Session, override: { code: string; reason: string } | null): Bb84Alarm {
  const local = s.snapshot.abort;
  const sum = s.summary;
  // The first detector's reason wins: the server's (a party left, timeout, shutdown) or the peer's
  // (its QBER check, its cancel) explains whatever then failed here, e.g. a refused frame.
  const elsewhere = sum.outcome === "aborted" && sum.abortCode !== null && sum.abortedBy !== null && sum.abortedBy !== s.tx.from;
  const useLocal = !elsewhere && local !== null && local.code !== "CANCELLED";
  const code = override?.code ?? (useLocal ? local!.code : sum.abortCode ?? local?.code ?? "ABORTED");
  let reason = override?.reason ?? (useLocal ? local!.message : sum.abortReason ?? local?.message ?? "the session was aborted");
  const qber = s.snapshot.qberEstimate ?? sum.qberEstimate;
  const sample = s.snapshot.sampleSize ?? sum.sampleSize;
  const qberCodes = new Set(["QBER_TOO_HIGH", "KEY_TOO_SHORT", "VERIFICATION_FAILED"]);
  const suspectedEve = qberCodes.has(code) && suspectEavesdropper({ qberEstimate: qber, sampleSize: sample, noise: sum.channel.noise });
  if (suspectedEve && qber !== null) {
    // Replaces the engine's own wording (which says the same with less context).
    const on = sample ? ` on ${sample.toLocaleString("en-US")} test bits` : "";
    reason = `QBER ${pct(qber)}${on} is far above the ${pct(sum.channel.noise)} the channel's noise explains (abort threshold ${pct(sum.qberThreshold)}), as an eavesdropper measuring the qubits would cause`;
  }
  return { sessionId: s.id, peerId: s.peerId, code, reason, suspectedEve, at: new Date().toISOString() };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function emptySnapshot(summary: Bb84SessionSummary): QkdSnapshot {
  return {
    status: "idle",
    stage: "idle",
    fraction: 0,
    qubits: summary.qubits,
    detected: null,
    sifted: null,
    sampleSize: null,
    sampleErrors: null,
    qberEstimate: null,
    qberBound: null,
    qberThreshold: summary.qberThreshold,
    disclosedBits: null,
    roundTrips: null,
    fEC: null,
    finalLength: null,
    abort: null,
    timings: { qubits: 0, sifting: 0, estimation: 0, cascade: 0, verification: 0, amplification: 0 },
    eve: null,
  };
}

function sortSessions(list: Bb84SessionSummary[]): Bb84SessionSummary[] {
  return list.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.id < b.id ? -1 : 1)).slice(-MAX_SESSIONS_KEPT);
}

function upsertSession(list: Bb84SessionSummary[], s: Bb84SessionSummary): Bb84SessionSummary[] {
  const i = list.findIndex((x) => x.id === s.id);
  if (i >= 0) {
    if (s.outcome === "running" && list[i].outcome !== "running") return list; // stale (see onSummary)
    const next = list.slice();
    next[i] = s;
    return next;
  }
  return sortSessions([...list, s]);
}
