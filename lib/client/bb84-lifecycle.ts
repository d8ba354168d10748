/**
 * One BB84 session's life on this client, from the server's start notification to the verdict.
 * Its engine (lib/qkd in a QkdEngine) takes steps strictly in order on one queue; the transport
 * (bb84-transport.ts) carries its messages. A silent peer times out; a finished party reports its
 * non-secret summary (bb84:report) and waits for the server's verdict, which alone decides whether
 * the staged hybrid key is used: until then it decrypts only, on success it becomes the pair's
 * key, on abort it is dropped and an alarm is raised.
 */
import { fromHex } from "@/lib/crypto/encoding";
import type { Bb84SessionSummary } from "@/lib/protocol";
import type { AbortCode } from "@/lib/qkd/messages";
import { MIN_USABLE_KEY_BITS } from "@/lib/qkd/plan";
import { makeAlarm, type AlarmOverride } from "./bb84-alarm";
import type { Bb84Host } from "./bb84-host";
import { reportPayload, type ReportedAbort } from "./bb84-report";
import { emptySnapshot, LiveViewPublisher, withAlarm } from "./bb84-room-view";
import { framedParty, RelaySender, type FramedParty, type FramedStep, type FrameSetup } from "./bb84-transport";
import type { Bb84LiveView, Bb84Role, LinkEvent, PartyLink, QkdEngine, QkdEngineFactory, QkdSnapshot } from "./bb84-types";
import { emptyPathStats, publishPathStats, type Bb84PathStats } from "./bb84-path-stats";

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** A running session with no frame from the peer for this long is aborted. */
export const BB84_IDLE_MS = 60_000;
/** How long a finished party waits for the server's verdict before it gives up on it. */
const VERDICT_WAIT_MS = 20_000;

export class SessionLifecycle {
  readonly id: string;
  readonly roomId: string;
  readonly role: Bb84Role;
  readonly peerId: string;
  private readonly me: string;
  /** The server's latest summary of this session. */
  summary: Bb84SessionSummary;
  /** The engine finished (done or aborted) and we reported it. */
  localEnd = false;
  /** Finished here: view final, alarm raised, engine disposed. */
  ended = false;
  /** Another tab of this identity claimed the session first: this one only follows its outcome. */
  following = false;
  /** Resolves with the final view when the session ends. */
  readonly done: Promise<Bb84LiveView>;
  private resolve!: (v: Bb84LiveView) => void;
  private readonly engine: QkdEngine;
  /** The frame key, derived once (the session aborts if it cannot be). */
  private readonly key: Promise<CryptoKey>;
  /** The engine behind the frame codec, once the key is there (in the engine's thread: the worker in a browser). */
  private party: FramedParty | null = null;
  /** Set once the session is routed to the party's own connection (bb84:route): the frame loop runs there. */
  private link: PartyLink | null = null;
  private readonly sender: RelaySender;
  private readonly stats: Bb84LiveView["transport"] = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 };
  /** Where this session's time went on this client (see bb84-path-stats.ts). */
  readonly path: Bb84PathStats = emptyPathStats();
  /** When our last frames were handed to the relay (the wait for the peer's answer starts then). */
  private lastSentAt: number | null = null;
  private readonly view: Bb84LiveView;
  private readonly publisher: LiveViewPublisher;
  private snapshot: QkdSnapshot;
  private queue: Promise<void> = Promise.resolve();
  private staged = false;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the engine last took a step or a frame arrived (the no-answer timer counts from it). */
  private lastActivity = 0;
  private verdictTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly t0 = Date.now();

  constructor(
    private readonly host: Bb84Host,
    engineFactory: QkdEngineFactory,
    summary: Bb84SessionSummary,
    private readonly idleMs: number,
    /** A summary the server answered our report with (the manager routes it back here). */
    private readonly onSummary: (summary: Bb84SessionSummary) => void,
    /** Known from the start to run in another tab of this identity (Alice's tabs that did not start it). */
    private readonly startsElsewhere = false,
    /** Ask bb84:claim before running (Bob; Alice when the start's answer did not confirm the session is ours). */
    private readonly mustClaim = true,
  ) {
    const me = host.userId;
    this.me = me;
    this.id = summary.id;
    this.roomId = summary.roomId;
    this.role = summary.aliceId === me ? "alice" : "bob";
    this.peerId = this.role === "alice" ? summary.bobId : summary.aliceId;
    this.summary = { ...summary };
    this.engine = engineFactory({
      role: this.role,
      sessionId: fromHex(summary.id),
      params: { qubits: summary.qubits, cascadeVariant: summary.cascadeVariant as never, qberThreshold: summary.qberThreshold },
      ...(this.role === "bob" && { channel: { ...summary.channel } }),
    });
    this.done = new Promise<Bb84LiveView>((r) => (this.resolve = r));
    this.key = host.frameKey(summary.roomId, this.peerId, summary.id);
    this.key.catch(() => {}); // observed in the queue
    const tx = { roomId: summary.roomId, sessionId: summary.id, from: me, to: this.peerId };
    this.sender = new RelaySender(
      host,
      tx,
      () => this.ended,
      (bytes, ackMs, many, acked) => this.sent(bytes, ackMs, many, acked),
      (reason) => {
        void this.enqueue(async () => {
          if (!this.localEnd) await this.applyStep(await this.stepAbort("PROTOCOL_ERROR", `the relay refused a frame (${reason})`));
        });
      },
    );
    this.snapshot = emptySnapshot(summary);
    this.view = {
      sessionId: summary.id,
      roomId: summary.roomId,
      role: this.role,
      peerId: this.peerId,
      cascadeVariant: summary.cascadeVariant,
      channel: { ...summary.channel },
      status: "running",
      snapshot: this.snapshot,
      transport: this.stats,
      startedAt: summary.startedAt,
      finishedAt: null,
    };
    this.publisher = new LiveViewPublisher((roomId, fn) => host.patchBb84(roomId, fn), this.view);
  }

  // ---- what the manager tells it -----------------------------------------------------------

  /** Shows the session and starts the engine once the frame key is there. */
  begin(): void {
    this.publisher.publish(true);
    void this.enqueue(async () => {
      // Every tab of Bob's sees the session start: the first to claim it runs it, the others
      // follow it. Alice's tab is the one that started it; her other tabs follow it.
      if (this.startsElsewhere) {
        await this.follow();
        return;
      }
      if (this.mustClaim) {
        let claimed: boolean;
        try {
          claimed = await this.host.claim(this.roomId, this.id);
        } catch (e) {
          await this.localAbort("PROTOCOL_ERROR", `could not claim the session: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        if (!claimed) {
          await this.follow();
          return;
        }
      }
      let key: CryptoKey;
      try {
        key = await this.key;
      } catch (e) {
        await this.localAbort("PROTOCOL_ERROR", `no usable key with the peer: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      const setup: FrameSetup = {
        key,
        tx: { roomId: this.roomId, sessionId: this.id, from: this.me, to: this.peerId },
        rx: { roomId: this.roomId, sessionId: this.id, from: this.peerId, to: this.me },
      };
      this.party = this.engine.framed?.(setup) ?? framedParty(this.engine, setup);
      if (this.party.link && this.host.links) await this.goDirect(this.party.link, this.host.links);
      await this.applyStep(await this.party.start());
      this.armIdle();
    });
  }

  /**
   * Moves the frame loop to the party's own connection (a Web Worker's, PartyLink), before the
   * party's first step: connect and attach it with a ticket (once per pooled worker), have it hold
   * the peer's frames, route the session to it. Frames the page's connection got before the route
   * switched are already queued behind this step; they go to the party first (receiveFrame), then
   * endMainPath releases the held ones. Anything failing before the route keeps the session on the
   * page's connection, as without a worker.
   */
  private async goDirect(link: PartyLink, links: NonNullable<Bb84Host["links"]>): Promise<void> {
    let handle: string | null;
    try {
      handle = (await link.connect(links.url, null)) ?? (await link.connect(links.url, await links.ticket()));
    } catch {
      return;
    }
    if (!handle) return;
    await link.direct((e) => this.onLinkEvent(e));
    try {
      await links.route(this.roomId, this.id, handle);
    } catch {
      await link.undirect();
      return;
    }
    this.link = link;
    void this.enqueue(() => link.endMainPath());
  }

  /**
   * Another tab of this identity runs the session: no engine here, nothing sent or reported; the
   * view says where it runs and ends with the server's verdict.
   */
  private async follow() {
    this.following = true;
    this.localEnd = true;
    this.view.elsewhere = true;
    this.engine.dispose();
    this.publisher.publish(true);
    if (this.summary.outcome !== "running") await this.verdict(this.summary);
  }

  /** What the party's own connection did (direct mode): steps are taken in order on the queue. */
  private onLinkEvent(e: LinkEvent): void {
    switch (e.kind) {
      case "step":
        void this.enqueue(() => this.onLinkStep(e));
        return;
      case "sent":
        this.sent(e.bytes, e.ackMs, e.many, e.acked);
        return;
      case "refused":
        void this.enqueue(async () => {
          if (!this.localEnd) await this.applyStep(await this.stepAbort("PROTOCOL_ERROR", `the relay refused a frame (${e.reason})`));
        });
        return;
      case "closed":
        void this.enqueue(() => this.localAbort("CANCELLED", e.reason));
        return;
    }
  }

  /** One of our frames went through the relay (from this thread's sender, or the worker's). */
  private sent(bytes: number, ackMs: number, many: boolean, acked: boolean) {
    this.stats.framesSent++;
    this.stats.bytesSent += bytes;
    this.path.relayed++;
    if (acked) {
      this.path.acked++;
      this.path.relayAckMs += ackMs;
    }
    if (many) this.publisher.publish(false);
  }

  private async onLinkStep(e: Extract<LinkEvent, { kind: "step" }>) {
    if (this.ended || this.snapshot.status === "aborted") return;
    const p = this.path;
    p.linked++;
    p.queueMs += e.queueMs;
    p.peerWaitMs += e.waitMs;
    this.armIdle();
    p.partyMs += e.partyMs;
    await this.received(e.step, e.size);
  }

  /** A newer server summary; a final one is the verdict. */
  updateSummary(summary: Bb84SessionSummary): void {
    this.summary = { ...summary };
    if (summary.outcome !== "running") void this.enqueue(() => this.verdict(summary));
  }

  receiveFrame(bytes: Uint8Array): void {
    const at = now();
    void this.enqueue(() => this.onFrame(bytes, at));
  }

  /** Aborts the run (our Abort reaches the peer) after whatever step is under way. */
  abort(code: AbortCode, reason: string): Promise<void> {
    return this.enqueue(() => this.localAbort(code, reason));
  }

  /** We left the room: the server ends the session and we no longer hear about it. */
  left(): void {
    void this.enqueue(async () => {
      if (!this.localEnd) {
        this.localEnd = true;
        await this.applyStep(await this.stepAbort("CANCELLED", "you left the room"), false);
      }
      if (this.staged) await this.host.commitQkdKey(this.peerId, this.id, false);
      this.finish("aborted", { code: "CANCELLED", reason: "you left the room during the session" });
    });
  }

  /** The connection dropped: the server ends the session; end it here too (one that runs in another tab goes on). */
  disconnected(): void {
    if (this.following) return;
    void this.enqueue(async () => {
      if (!this.localEnd) await this.applyStep(await this.stepAbort("CANCELLED", "the connection to the server was lost"), false);
      this.finish("aborted", null);
    });
  }

  // ---- the run ---------------------------------------------------------------------------

  /** Runs one step after the previous one (frames are handled strictly in order). */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch(async (e) => {
      // An engine or transport failure that escaped: end the session visibly rather than hang.
      const reason = e instanceof Error ? e.message : String(e);
      if (!this.localEnd) {
        try {
          await this.localAbort("INTERNAL_ERROR", reason);
          return;
        } catch {
          /* ended below */
        }
      }
      if (this.ended) return;
      // A failure after our engine ended (taking or staging the key): the server hears of it, and
      // the session ends here now, rather than waiting for a verdict that our report would have asked for.
      this.localEnd = true;
      await this.report("aborted", { code: "INTERNAL_ERROR", message: reason }).catch(() => undefined);
      if (this.staged) await this.host.commitQkdKey(this.peerId, this.id, false).catch(() => undefined);
      this.finish("aborted", { code: "INTERNAL_ERROR", reason });
    });
    this.queue = next;
    return next;
  }

  /**
   * Keeps the no-answer timer running while our engine runs. Called on every frame, so it only
   * notes the time: one timer per idle period re-arms itself for what is left, instead of a
   * clearTimeout + setTimeout per frame (timer churn on the page's main thread, where frames arrive).
   */
  private armIdle() {
    this.lastActivity = now();
    if (this.idleTimer || this.localEnd || this.ended) return;
    const check = () => {
      this.idleTimer = null;
      if (this.localEnd || this.ended) return;
      const left = this.idleMs - (now() - this.lastActivity);
      if (left > 0) {
        this.idleTimer = setTimeout(check, left);
        return;
      }
      void this.enqueue(() => this.localAbort("CANCELLED", `no answer from the peer for ${Math.round(this.idleMs / 1000)} s`));
    };
    this.idleTimer = setTimeout(check, this.idleMs);
  }

  private async onFrame(bytes: Uint8Array, arrivedAt: number) {
    if (this.ended || this.snapshot.status === "aborted" || !this.party) return;
    const t0 = now();
    const p = this.path;
    p.queueMs += t0 - arrivedAt;
    if (this.lastSentAt !== null) {
      p.peerWaitMs += Math.max(0, arrivedAt - this.lastSentAt);
      this.lastSentAt = null;
    }
    this.armIdle();
    const size = bytes.length;
    const got = await this.party.receiveFrame(bytes);
    p.partyMs += now() - t0;
    await this.received(got, size);
  }

  /** A frame's step, wherever the party took it. */
  private async received(got: FramedStep, size: number) {
    const p = this.path;
    p.frames++;
    p.openMs += got.t.open;
    p.engineMs += got.t.engine;
    p.sealMs += got.t.seal;
    if (got.kind === "invalid") return this.localAbort("PROTOCOL_ERROR", got.reason);
    this.stats.framesReceived++;
    this.stats.bytesReceived += size;
    if (got.kind === "partial") {
      this.publisher.publish(false);
      return;
    }
    p.steps++;
    await this.applyStep(got);
  }

  /** An abort step: through the codec once it is set up; before that (no key) there is nothing to seal or send. */
  private async stepAbort(code: AbortCode, reason: string): Promise<FramedStep & { kind: "step" }> {
    if (this.party) return (await this.party.abort(code, reason)) as FramedStep & { kind: "step" };
    const step = await this.engine.abort(code, reason);
    return { kind: "step", frames: [], snapshot: step.snapshot, t: { open: 0, engine: 0, seal: 0 } };
  }

  /**
   * Takes an engine step: new snapshot, hand its sealed frames to the relay (not waiting for the
   * acks: the peer's answer comes after them anyway), and act on the end of the run.
   */
  private async applyStep(step: FramedStep, send = true) {
    if (step.kind !== "step") return;
    this.setSnapshot(step.snapshot);
    this.publisher.publish(false);
    if (send && step.frames.length > 0) {
      this.sender.send(step.frames);
      this.lastSentAt = now();
    }
    if (this.localEnd) return;
    if (step.snapshot.status === "done" || step.snapshot.status === "aborted") {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (step.snapshot.status === "done") {
      this.localEnd = true;
      const key = await this.engine.key();
      const keyBits = step.snapshot.finalLength ?? (key?.length ?? 0) * 8;
      try {
        if (key && key.length * 8 >= MIN_USABLE_KEY_BITS) {
          await this.host.stageQkdKey(this.peerId, this.id, key, { qber: step.snapshot.qberEstimate, keyBits });
          this.staged = true;
        }
      } finally {
        key?.fill(0);
      }
      await this.report(
        this.staged ? "success" : "aborted",
        this.staged
          ? undefined
          : {
              code: "KEY_TOO_SHORT",
              message: `the final key is ${keyBits} bits, shorter than the ${MIN_USABLE_KEY_BITS} bits a key must have; not used (a session with more qubits gives a longer key)`,
            },
      );
      this.waitVerdict();
    } else if (step.snapshot.status === "aborted") {
      this.localEnd = true;
      const a = step.snapshot.abort;
      await this.report("aborted", a ? { code: a.code, message: a.message, by: a.by } : { code: "INTERNAL_ERROR", message: "aborted" });
      this.waitVerdict();
    }
  }

  private setSnapshot(snapshot: QkdSnapshot) {
    this.snapshot = snapshot;
    this.view.snapshot = snapshot;
  }

  private async localAbort(code: AbortCode, reason: string) {
    if (this.localEnd) return;
    await this.applyStep(await this.stepAbort(code, reason));
  }

  // ---- the verdict -----------------------------------------------------------------------

  private async report(outcome: "success" | "aborted", abort?: ReportedAbort) {
    // Our last frames (the final message, or the Abort) reach the relay before the report.
    await this.sender.idle();
    if (this.link) await this.link.idle().catch(() => undefined);
    const payload = reportPayload({ roomId: this.roomId, sessionId: this.id, snapshot: this.snapshot, elapsedMs: Date.now() - this.t0 }, outcome, abort);
    try {
      this.onSummary(await this.host.report(payload));
    } catch (e) {
      this.host.warn(this.roomId, `could not report the BB84 session to the server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private waitVerdict() {
    if (this.ended || this.verdictTimer) return;
    this.verdictTimer = setTimeout(() => {
      void this.enqueue(async () => {
        if (this.ended) return;
        if (this.staged) await this.host.commitQkdKey(this.peerId, this.id, false);
        this.finish("aborted", { code: "NO_VERDICT", reason: "the server did not confirm the session's result" });
      });
    }, VERDICT_WAIT_MS);
  }

  /** The server's final summary: use the key on success, drop it and raise an alarm otherwise. */
  private async verdict(summary: Bb84SessionSummary) {
    if (this.ended) return;
    if (this.following) {
      if (summary.outcome === "success" && !(await this.host.adoptQkdKey(this.peerId, this.id).catch(() => false)))
        this.host.warn(
          this.roomId,
          "the BB84 session succeeded in another tab of yours, but its key did not reach this tab: direct messages sent here keep the previous keys",
        );
      this.finish(summary.outcome === "success" ? "success" : "aborted", null);
      return;
    }
    if (!this.localEnd) {
      // Ended by the server or the peer before our engine finished (peer left, timeout, peer's abort).
      this.localEnd = true;
      const step = await this.stepAbort("CANCELLED", summary.abortReason ?? "ended by the server");
      this.setSnapshot(step.snapshot);
    }
    if (summary.outcome === "success" && this.staged) {
      await this.host.commitQkdKey(this.peerId, this.id, true);
      this.finish("success", null);
    } else {
      if (this.staged) await this.host.commitQkdKey(this.peerId, this.id, false);
      this.finish("aborted", null);
    }
  }

  private finish(status: "success" | "aborted", override: AlarmOverride | null) {
    if (this.ended) return;
    this.ended = true;
    if (this.verdictTimer) clearTimeout(this.verdictTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.view.status = status;
    this.view.finishedAt = new Date().toISOString();
    this.view.path = { ...this.path };
    this.party?.clear();
    this.engine.dispose();
    publishPathStats(this.path, { sessionId: this.id, role: this.role, roundTrips: this.snapshot.roundTrips, qubits: this.summary.qubits, status });
    this.publisher.publish(true);
    if (status === "aborted") {
      const alarm = makeAlarm({ sessionId: this.id, peerId: this.peerId, me: this.me, snapshot: this.snapshot, summary: this.summary }, override);
      this.host.patchBb84(this.roomId, (v) => withAlarm(v, alarm));
    }
    this.resolve({ ...this.view, transport: { ...this.view.transport } });
  }
}
