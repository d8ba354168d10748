/**
 * BB84 sessions over the relay, client side: the manager of one ChatClient's sessions. The server
 * starts a session (bb84:start, which picks its id and snapshots the room's channel settings) and
 * tells the room (bb84:updated); the peer's client accepts automatically. The manager turns
 * commands and notifications into sessions and routes frames and summaries to them; each session
 * runs in bb84-lifecycle.ts over bb84-transport.ts (sealed, sequenced frames), so a tampered,
 * replayed, reordered, dropped or foreign frame aborts it with a reason that reaches the peer.
 *
 * A key is used only on the server's verdict: each party reports its non-secret summary
 * (bb84:report); the session succeeds when both report success with the same final length. Until
 * then the candidate hybrid keys are accepted for decryption only (so nothing in flight is lost
 * across the switch); on success they become the pair's keys, on abort they are dropped.
 */
import { fromB64url } from "@/lib/crypto/encoding";
import type { Bb84Frame, Bb84SessionSummary } from "@/lib/protocol";
import { DEFAULT_CASCADE_VARIANT } from "@/lib/qkd/cascade";
import type { Bb84Host } from "./bb84-host";
import { BB84_IDLE_MS, SessionLifecycle } from "./bb84-lifecycle";
import { MAX_LIVE_KEPT, sortSessions, upsertSession } from "./bb84-room-view";
import type { Bb84LiveView, QkdEngineFactory, StartBb84Options } from "./bb84-types";
import { DEFAULT_BB84_QUBITS } from "./bb84-types";
import { ClientError } from "./errors";

export type { Bb84Host, Bb84ReportPayload } from "./bb84-host";
export { BB84_IDLE_MS } from "./bb84-lifecycle";
export { BB84_CHUNK_BYTES } from "./bb84-transport";

export class Bb84Manager {
  private sessions = new Map<string, SessionLifecycle>();
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
    await s.abort("CANCELLED", reason);
  }

  async load(roomId: string): Promise<void> {
    const sessions = await this.host.list(roomId);
    this.host.patchBb84(roomId, (v) => {
      const byId = new Map(v.sessions.map((x) => [x.id, x]));
      for (const x of sessions) if (!byId.has(x.id) || (x.outcome !== "running" && byId.get(x.id)!.outcome === "running")) byId.set(x.id, x);
      return { ...v, sessions: sortSessions([...byId.values()]) };
    });
    // A session another tab ran that ended while this tab's connection was away: its verdict.
    for (const x of sessions) {
      const s = this.sessions.get(x.id);
      if (s?.following && !s.ended && x.outcome !== "running") s.updateSummary(x);
    }
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
      s.updateSummary(summary);
      return;
    }
    if (summary.outcome !== "running" || (summary.aliceId !== me && summary.bobId !== me)) return;
    // We run Alice only in a session we asked for (the notification may precede the ack); one that
    // another tab of ours started runs there, and this tab follows it.
    const elsewhere = summary.aliceId === me && !ours && !this.pendingStarts.has(`${summary.roomId}|${summary.bobId}`);
    // A start of ours in flight does not prove the session is the one we asked for (another tab of
    // ours may have started one with the same peer at the same moment, and ours is refused): such a
    // session claims before it runs, as Bob's tabs do, and follows if the claim is another tab's.
    this.open(summary, elsewhere, summary.bobId === me || !ours);
  }

  /** bb84:frame: one sealed frame from the peer. */
  onFrame(f: Bb84Frame): void {
    const s = this.sessions.get(f.sessionId);
    // A session another tab of ours runs: its frames reached this connection before it was claimed.
    if (!s || s.ended || s.following) return;
    let bytes: Uint8Array;
    try {
      bytes = typeof f.frame === "string" ? fromB64url(f.frame) : f.frame instanceof Uint8Array ? f.frame : new Uint8Array(f.frame);
    } catch {
      void s.abort("PROTOCOL_ERROR", "a relay frame was not valid base64url");
      return;
    }
    if (f.roomId !== s.roomId || f.from !== s.peerId) {
      void s.abort("PROTOCOL_ERROR", `a frame for this session came from ${f.from.slice(0, 8)}, who is not its peer`);
      return;
    }
    s.receiveFrame(bytes);
  }

  /** We left a room: the server ends our sessions there (and we no longer hear about them). */
  onLeave(roomId: string): void {
    for (const s of this.sessions.values()) if (!s.ended && s.roomId === roomId) s.left();
  }

  /** The connection dropped: the server ends our sessions; end them here too. */
  onDisconnect(): void {
    for (const s of this.sessions.values()) if (!s.ended) s.disconnected();
  }

  // ---- internals ---------------------------------------------------------------------------

  private open(summary: Bb84SessionSummary, elsewhere: boolean, claim: boolean) {
    const s = new SessionLifecycle(this.host, this.engineFactory, summary, this.idleMs, (answer) => this.onSummary(answer), elsewhere, claim);
    this.sessions.set(s.id, s);
    this.pruneSessions();
    s.begin();
  }

  /** Forgets ended sessions beyond twice the live views a room keeps. */
  private pruneSessions() {
    if (this.sessions.size <= MAX_LIVE_KEPT * 2) return;
    for (const [id, s] of this.sessions) {
      if (this.sessions.size <= MAX_LIVE_KEPT * 2) break;
      if (s.ended) this.sessions.delete(id);
    }
  }
}
