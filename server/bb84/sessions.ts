/**
 * Running BB84 sessions, in memory (one process): who is Alice and Bob, in which room, and what
 * each party reported. The relay only forwards frames within a running session between its two
 * parties; the summary is stored when the session ends (both parties report success, one reports
 * an abort, a party leaves, the session times out, or the server shuts down).
 */
import { randomBytes } from "node:crypto";
import { LIMITS, type Bb84SessionSummary } from "@/lib/protocol";
import type { z } from "zod";
import type { bb84ReportSchema } from "@/lib/protocol";
import type { LogWriter } from "../logs/log-writer";
import type { Logger } from "../logger";
import type { PrismaClient } from "@prisma/client";
import type { QsecServer } from "../socket-types";
import { createSession, findSession, saveSession } from "./bb84.repository";
import type { RedisState } from "../cluster/redis-state";
import { refuse } from "../refuse";

/** Several nodes: where a running session is held (its Alice's node), in Redis as <prefix>bb84:<id>. */
export interface RemoteSession {
  roomId: string;
  aliceId: string;
  bobId: string;
  node: string;
  /** Alice's connection (the one that started the session): her frames come from it and go to it only. */
  aliceSocket?: string;
  /** Ended: only late reports still go to its node. */
  ended?: boolean;
}

export type Bb84Report = z.output<typeof bb84ReportSchema>;

/**
 * The connection that runs a session for one of its parties (its claim): the server node it is on
 * and its socket id. Alice's is the connection that started the session; Bob's is the first of his
 * connections (tabs) that claims it (bb84:claim, or implicitly by relaying, routing or reporting).
 */
export interface Bb84Conn {
  node: string;
  socket: string;
}

/** What a claim came to: granted to this connection, or held by `holder` (another connection of the party). */
interface ClaimVerdict {
  granted: boolean;
  holder: Bb84Conn;
}

const sameConn = (a: Bb84Conn, b: Bb84Conn) => a.node === b.node && a.socket === b.socket;

interface LiveSession {
  summary: Bb84SessionSummary;
  /**
   * A party's BB84 worker connection (bb84:route), by user id: the session's frames to that party
   * go there instead of to its member connections, and only that connection relays its frames.
   */
  routes: Map<string, string>;
  /** Each party's claim, by user id: the one connection of theirs that runs the session (first claim wins). */
  claims: Map<string, Bb84Conn>;
  reports: { alice?: Bb84Report; bob?: Bb84Report };
  timer: NodeJS.Timeout;
  /** An abort reported by the party that only received it: waiting briefly for the detector's figures. */
  hold: NodeJS.Timeout | null;
}

/**
 * When the first abort report comes from the party that merely received the Abort, the session
 * waits this long for the other party's report (the one that measured the QBER), so the stored
 * summary and both alarms carry the detector's figures and reason.
 */
const ABORT_HOLD_MS = 2000;
/** Reports that arrive after the end still fill in missing figures for this long. */
const LATE_REPORT_MS = 60_000;
/**
 * Several nodes: a party's entry in the cross-node BUSY count outlives the session's timeout by
 * this much, in case its node could not take it out when the session ended (Redis away then).
 */
const ENTRY_MARGIN_MS = 30_000;

/** The BUSY refusals of bb84:start (docs/protocol.md), the same on one node and on several. */
function refuseBusy(why: "pair" | "alice" | "bob"): never {
  if (why === "pair") refuse("BUSY", "a session with this member is already running");
  if (why === "alice") refuse("BUSY", `at most ${LIMITS.maxBb84SessionsPerMember} sessions at once`);
  refuse("BUSY", "that member is running too many sessions; try later");
}

/** A party's relay, route or report from a connection that does not run the session for it. */
export function refuseElsewhere(): never {
  refuse("UNKNOWN_SESSION", "this session runs on another connection of yours (another tab)");
}

/** What bb84:start fixes before any frame moves; the rest of the summary comes from the parties. */
export type StartInput = Pick<Bb84SessionSummary, "roomId" | "aliceId" | "bobId" | "qubits" | "cascadeVariant" | "qberThreshold" | "channel">;

function roleOf(s: Bb84SessionSummary, userId: string): "alice" | "bob" | null {
  return s.aliceId === userId ? "alice" : s.bobId === userId ? "bob" : null;
}

export class Bb84Sessions {
  private live = new Map<string, LiveSession>();
  private recent = new Map<string, { l: LiveSession; until: number }>();
  private saving = new Set<Promise<unknown>>();
  private saveChain = new Map<string, Promise<unknown>>();
  private cluster: RedisState | null = null;
  /** One process: sessions past the BUSY check whose row is being created (they count toward the caps). */
  private starting = new Map<string, Pick<Bb84SessionSummary, "roomId" | "aliceId" | "bobId">>();
  /** Several nodes: ended sessions whose entries could not be taken out of Redis (retried when it is back). */
  private unreleased = new Map<string, Bb84SessionSummary>();
  /** Other nodes' sessions looked up lately (frames come in bursts): id → record, for a second. */
  private remoteCache = new Map<string, { rec: RemoteSession | undefined; at: number }>();
  /**
   * Several nodes: claims of sessions other nodes hold, as their node answered them ("<id>|<user id>"
   * → holder). A claim never changes while its session runs, so an answer is kept until the session
   * could no longer be running.
   */
  private remoteClaims = new Map<string, { holder: Bb84Conn; at: number }>();

  constructor(
    private readonly io: QsecServer,
    private readonly prisma: PrismaClient,
    private readonly logs: LogWriter,
    private readonly logger: Logger,
    private readonly timeoutMs = LIMITS.bb84SessionTimeoutMs,
  ) {}

  get(id: string): Bb84SessionSummary | undefined {
    return this.live.get(id)?.summary;
  }

  /**
   * Several nodes: sessions are registered in Redis so frames between parties on different nodes
   * pass, reports reach the session's node, a member leaving on any node ends it, and a dead node's
   * sessions are ended by the nodes still alive (NODE_LOST, on both sides).
   */
  attachCluster(cluster: RedisState) {
    this.cluster = cluster;
    // Redis came back (a restart forgets every key): register this node's running sessions again
    // (frames between nodes, reports, the BUSY caps) and take out the ones that ended meanwhile.
    cluster.onReconnect(() => void this.reregister().catch(() => {}));
    cluster.handle("bb84:report", (args) => {
      const { userId, report, conn } = args as { userId: string; report: Bb84Report; conn?: Bb84Conn };
      return this.report(userId, report, conn);
    });
    cluster.handle("bb84:claim", (args) => {
      const { id, userId, roomId, conn } = args as { id: string; userId: string; roomId: string; conn: Bb84Conn };
      return this.claimHere(id, userId, roomId, conn);
    });
    cluster.handle("bb84:connClosed", (args) => {
      const conn = args as Bb84Conn;
      this.endClaimedBy(conn);
    });
    cluster.handle("bb84:memberLeft", (args) => {
      const { roomId, userId } = args as { roomId: string; userId: string };
      this.memberLeftHere(roomId, userId);
    });
  }

  /** A running session held by another node (several nodes), or undefined. */
  async elsewhere(id: string): Promise<RemoteSession | undefined> {
    if (!this.cluster || this.live.has(id) || !/^[0-9a-f]{32}$/.test(id)) return undefined;
    const now = Date.now();
    const hit = this.remoteCache.get(id);
    if (hit && now - hit.at < 1000) return hit.rec;
    const json = await this.cluster.client.get(this.cluster.key("bb84", id));
    const parsed = json ? (JSON.parse(json) as RemoteSession) : undefined;
    const rec = parsed && parsed.node !== this.cluster.nodeId ? parsed : undefined;
    if (this.remoteCache.size > 1000) for (const [k, v] of this.remoteCache) if (now - v.at >= 1000) this.remoteCache.delete(k);
    this.remoteCache.set(id, { rec, at: now });
    return rec;
  }

  /** A report for a session another node holds: answered by that node (null: not its session). */
  async reportElsewhere(userId: string, r: Bb84Report, socketId?: string): Promise<Bb84SessionSummary | null> {
    const rec = await this.elsewhere(r.sessionId);
    if (!rec || !this.cluster) return null;
    const conn = socketId === undefined ? undefined : { node: this.node, socket: socketId };
    return (await this.cluster.call(rec.node, "bb84:report", { userId, report: r, conn })) as Bb84SessionSummary | null;
  }

  /** This node's name in claims ("local" on one node). */
  get nodeName(): string {
    return this.cluster?.nodeId ?? "local";
  }

  private get node(): string {
    return this.nodeName;
  }

  private record(s: Bb84SessionSummary, ended: boolean, aliceSocket?: string): string {
    const rec: RemoteSession = {
      roomId: s.roomId,
      aliceId: s.aliceId,
      bobId: s.bobId,
      node: this.cluster!.nodeId,
      ...(aliceSocket !== undefined && { aliceSocket }),
      ...(ended && { ended }),
    };
    return JSON.stringify(rec);
  }

  /**
   * Several nodes: checks the BUSY caps over every node's sessions and registers this one, in one
   * Lua script (server/cluster/redis-state.ts START_BB84). check false: registers only.
   */
  private reserve(s: Bb84SessionSummary, check: boolean, aliceSocket: string | undefined) {
    return this.cluster!.startBb84(s, {
      max: LIMITS.maxBb84SessionsPerMember,
      entryMs: this.timeoutMs + ENTRY_MARGIN_MS,
      record: this.record(s, false, aliceSocket),
      recordMs: this.timeoutMs + LATE_REPORT_MS,
      check,
    });
  }

  /** Several nodes: an ended session leaves the BUSY count (kept for retry when Redis is away). */
  private release(s: Bb84SessionSummary) {
    const c = this.cluster;
    if (!c) return;
    this.unreleased.delete(s.id);
    c.endBb84(s, c.nodeId, this.record(s, true), LATE_REPORT_MS).catch(() => this.unreleased.set(s.id, s));
  }

  /** Several nodes, Redis back: running sessions registered again, ended ones taken out (sent at once, in order). */
  private async reregister() {
    const c = this.cluster!;
    const calls: Promise<unknown>[] = [];
    for (const l of this.live.values()) calls.push(this.reserve(l.summary, false, l.claims.get(l.summary.aliceId)?.socket));
    for (const s of [...this.unreleased.values()]) {
      this.unreleased.delete(s.id);
      calls.push(c.endBb84(s, c.nodeId, this.record(s, true), LATE_REPORT_MS).catch(() => this.unreleased.set(s.id, s)));
    }
    await Promise.all(calls);
  }

  /**
   * Several nodes: the sessions a dead node held end here, as aborted with NODE_LOST: the row is
   * saved and both parties (wherever they are) get the summary.
   */
  async endSessionsOf(node: string): Promise<number> {
    const c = this.cluster;
    if (!c) return 0;
    const setKey = c.key("bb84node", node);
    let n = 0;
    for (const id of await c.client.sMembers(setKey)) {
      // Several live nodes may reap at once: the one that takes the id out of the set ends it.
      if ((await c.client.sRem(setKey, id)) === 0) continue;
      const row = await findSession(this.prisma, id);
      if (!row || row.outcome !== "running") continue;
      const s: Bb84SessionSummary = {
        ...row,
        outcome: "aborted",
        abortCode: "NODE_LOST",
        abortReason: "the server node relaying this session stopped",
        abortedBy: "server",
        finishedAt: new Date().toISOString(),
        finalLength: null,
      };
      const { id: sessionId, roomId, aliceId, bobId, ...rest } = s;
      this.logs.append({ roomId, type: "BB84_SESSION_SUMMARY", actorId: aliceId, targetId: bobId, meta: { sessionId, ...rest } });
      this.io.to(roomId).emit("bb84:updated", { ...s });
      await c.endBb84(s, node, null);
      this.save(s);
      n += 1;
    }
    await c.client.del(setKey);
    return n;
  }

  /** Sessions held by this node only (one process, or a cluster node): BB84 worker connections need one node. */
  get clustered(): boolean {
    return this.cluster !== null;
  }

  /**
   * Routes a running session's frames to `userId` (one of its parties) to the worker connection
   * `socketId` from now on (bb84:route). Once per party: false when the session is not running
   * here, the user is not a party, or the party is already routed.
   */
  route(id: string, userId: string, socketId: string, ownerSocket: string): "ok" | "routed" | "elsewhere" | "none" {
    const l = this.live.get(id);
    if (!l || roleOf(l.summary, userId) === null) return "none";
    // Only the connection that runs the session for this party (its claim; claimed now if nobody has) may route it.
    if (!this.claimHere(id, userId, l.summary.roomId, { node: this.node, socket: ownerSocket })?.granted) return "elsewhere";
    if (l.routes.has(userId)) return "routed";
    l.routes.set(userId, socketId);
    return "ok";
  }

  /**
   * A party's connection claims the session, on the node that holds it: that node alone decides,
   * one step in one thread, so the first claim wins on one node and on several. Null: no such
   * running session of that party in that room here.
   */
  private claimHere(id: string, userId: string, roomId: string, conn: Bb84Conn): ClaimVerdict | null {
    const l = this.live.get(id);
    if (!l || l.summary.roomId !== roomId || roleOf(l.summary, userId) === null) return null;
    const holder = l.claims.get(userId);
    if (!holder) {
      l.claims.set(userId, { ...conn });
      return { granted: true, holder: { ...conn } };
    }
    return { granted: sameConn(holder, conn), holder: { ...holder } };
  }

  /**
   * bb84:claim, and the implicit claim of a party's relay, route or report: whether the connection
   * `socketId` (on this node) runs the session for `userId`. The first connection of the party to
   * claim gets it; any other connection of the same identity (another tab) gets false. Several
   * nodes: the node holding the session decides (a call to it), and its answer is kept here.
   * Null: no running session of that party in that room.
   */
  async claim(id: string, userId: string, roomId: string, socketId: string): Promise<boolean | null> {
    const conn: Bb84Conn = { node: this.node, socket: socketId };
    if (!this.cluster || this.live.has(id)) {
      const v = this.claimHere(id, userId, roomId, conn);
      return v && v.granted;
    }
    const k = `${id}|${userId}`;
    const known = this.remoteClaims.get(k);
    if (known) return sameConn(known.holder, conn);
    const rec = await this.elsewhere(id);
    if (!rec || rec.ended || rec.roomId !== roomId || (rec.aliceId !== userId && rec.bobId !== userId)) return null;
    const v = (await this.cluster.call(rec.node, "bb84:claim", { id, userId, roomId, conn })) as ClaimVerdict | null;
    if (!v) return null;
    const now = Date.now();
    const keep = this.timeoutMs + LATE_REPORT_MS;
    if (this.remoteClaims.size > 1000) for (const [key, e] of this.remoteClaims) if (now - e.at > keep) this.remoteClaims.delete(key);
    this.remoteClaims.set(k, { holder: v.holder, at: now });
    return v.granted;
  }

  /**
   * The connection that runs the session for `userId`, if this node knows it: the session's own
   * claims when it is held here; otherwise the holding node's answer to a claim made here, or for
   * Alice the connection in the session's record.
   */
  holderOf(id: string, userId: string): Bb84Conn | undefined {
    const l = this.live.get(id);
    if (l) return l.claims.get(userId);
    const known = this.remoteClaims.get(`${id}|${userId}`)?.holder;
    if (known) return known;
    const rec = this.remoteCache.get(id)?.rec;
    return rec && rec.aliceId === userId && rec.aliceSocket ? { node: rec.node, socket: rec.aliceSocket } : undefined;
  }

  /**
   * A member connection closed: the sessions it ran for its party cannot go on (its frames and
   * its report would be lost), even while another tab of the same member stays in the room.
   * Several nodes: the nodes holding sessions it claimed there are told.
   */
  connectionClosed(socketId: string): void {
    const conn: Bb84Conn = { node: this.node, socket: socketId };
    this.endClaimedBy(conn);
    if (!this.cluster) return;
    let elsewhere = false;
    for (const [k, e] of this.remoteClaims) {
      if (!sameConn(e.holder, conn)) continue;
      elsewhere = true;
      this.remoteClaims.delete(k);
    }
    if (elsewhere) void this.cluster.broadcast("bb84:connClosed", conn).catch(() => {});
  }

  private endClaimedBy(conn: Bb84Conn): void {
    for (const l of [...this.live.values()]) {
      for (const [userId, c] of l.claims) {
        if (!sameConn(c, conn)) continue;
        const s = l.summary;
        this.end(s.id, "PEER_LEFT", `the connection that ran the session for ${s.aliceId === userId ? "Alice" : "Bob"} closed`, "server");
        break;
      }
    }
  }

  /** The worker connection a session's frames to `userId` go to, if that party routed them (bb84:route). */
  routeOf(id: string, userId: string): string | undefined {
    return this.live.get(id)?.routes.get(userId);
  }

  /** A BB84 worker connection closed: the sessions routed to it cannot go on (their frames would be lost). */
  linkClosed(socketId: string): void {
    for (const l of [...this.live.values()]) {
      for (const [userId, sid] of l.routes) {
        if (sid !== socketId) continue;
        const s = l.summary;
        this.end(s.id, "PEER_LEFT", `${s.aliceId === userId ? "Alice" : "Bob"}'s BB84 worker connection closed during the session`, "server");
        break;
      }
    }
  }

  /** Running sessions a member takes part in (any room) on this node, those being started included. */
  runningFor(userId: string): Pick<Bb84SessionSummary, "roomId" | "aliceId" | "bobId">[] {
    return [...[...this.live.values()].map((l) => l.summary), ...this.starting.values()].filter((s) => s.aliceId === userId || s.bobId === userId);
  }

  /**
   * Starts a session after the BUSY caps: one session per pair in a room, and
   * LIMITS.maxBb84SessionsPerMember per member (as Alice or Bob, any room). One process: this
   * node's sessions, checked and counted in one synchronous step (sessions whose row is being
   * written count). Several nodes: every node's, checked and registered by one Lua script in
   * Redis, so two nodes can't both let the same member past the cap.
   */
  async start(input: StartInput, aliceSocket: string): Promise<Bb84SessionSummary> {
    const summary: Bb84SessionSummary = {
      id: randomBytes(16).toString("hex"),
      roomId: input.roomId,
      aliceId: input.aliceId,
      bobId: input.bobId,
      qubits: input.qubits,
      cascadeVariant: input.cascadeVariant,
      qberThreshold: input.qberThreshold,
      channel: { ...input.channel },
      outcome: "running",
      abortCode: null,
      abortReason: null,
      abortedBy: null,
      detected: null,
      sifted: null,
      sampleSize: null,
      qberEstimate: null,
      qberBound: null,
      disclosedBits: null,
      fEC: null,
      roundTrips: null,
      finalLength: null,
      durations: {},
      startedAt: new Date().toISOString(),
      finishedAt: null,
    };
    if (this.cluster) {
      const verdict = await this.reserve(summary, true, aliceSocket);
      if (verdict !== "ok") refuseBusy(verdict);
    } else {
      const mine = this.runningFor(summary.aliceId);
      if (mine.some((s) => s.roomId === summary.roomId && (s.aliceId === summary.bobId || s.bobId === summary.bobId))) refuseBusy("pair");
      if (mine.length >= LIMITS.maxBb84SessionsPerMember) refuseBusy("alice");
      if (this.runningFor(summary.bobId).length >= LIMITS.maxBb84SessionsPerMember) refuseBusy("bob");
      this.starting.set(summary.id, summary);
    }
    try {
      await createSession(this.prisma, summary);
    } catch (e) {
      if (this.cluster) await this.cluster.endBb84(summary, this.cluster.nodeId, null).catch(() => this.unreleased.set(summary.id, summary));
      throw e;
    } finally {
      this.starting.delete(summary.id);
    }
    const timer = setTimeout(() => this.end(summary.id, "TIMEOUT", `no result within ${Math.round(this.timeoutMs / 1000)} s`, "server"), this.timeoutMs);
    timer.unref();
    // Alice's connection is the one that asked: it runs the session for her (her other tabs follow it).
    const claims = new Map<string, Bb84Conn>([[summary.aliceId, { node: this.node, socket: aliceSocket }]]);
    this.live.set(summary.id, { summary, reports: {}, timer, hold: null, routes: new Map(), claims });
    this.logs.append({
      roomId: summary.roomId,
      type: "BB84_SESSION_STARTED",
      actorId: summary.aliceId,
      targetId: summary.bobId,
      meta: { sessionId: summary.id, qubits: summary.qubits, cascadeVariant: summary.cascadeVariant, channel: summary.channel },
    });
    this.io.to(summary.roomId).emit("bb84:updated", summary);
    return summary;
  }

  /**
   * A party's report. An abort ends the session: at once when the reporter found the problem
   * itself (or the other party has reported), else after ABORT_HOLD_MS at the latest, so the
   * detector's figures and reason are what is stored. Success ends it when both parties have
   * reported success and agree on the final length. Returns the summary as it now stands.
   */
  report(userId: string, r: Bb84Report, conn?: Bb84Conn): Bb84SessionSummary | null {
    const l = this.live.get(r.sessionId);
    if (!l) return this.lateReport(userId, r, conn);
    const s = l.summary;
    const role = roleOf(s, userId);
    if (!role || s.roomId !== r.roomId) return null;
    // Only the connection that runs the session for this party reports for it (claimed now if nobody has).
    if (conn && !this.claimHere(s.id, userId, s.roomId, conn)?.granted) refuseElsewhere();
    if (l.reports[role]) return s; // one report per party
    l.reports[role] = r;
    this.merge(l);
    const other = role === "alice" ? "bob" : "alice";
    if (r.outcome === "aborted") {
      const detector = r.abortBy !== "peer" ? r : l.reports[other]?.outcome === "aborted" ? l.reports[other]! : null;
      if (detector || l.reports[other]) {
        const d = detector ?? r;
        this.end(s.id, d.abortCode ?? "ABORTED", d.abortReason ?? "aborted", d === r ? userId : role === "alice" ? s.bobId : s.aliceId);
      } else if (!l.hold) {
        // We only heard of the abort from its receiver: give the detector a moment to report.
        l.hold = setTimeout(() => this.end(s.id, r.abortCode ?? "ABORTED", r.abortReason ?? "aborted", userId), ABORT_HOLD_MS);
        l.hold.unref();
      }
    } else if (l.reports[other]?.outcome === "aborted") {
      const d = l.reports[other]!;
      this.end(s.id, d.abortCode ?? "ABORTED", d.abortReason ?? "aborted", role === "alice" ? s.bobId : s.aliceId);
    } else if (l.reports.alice?.outcome === "success" && l.reports.bob?.outcome === "success") {
      const a = l.reports.alice.finalLength,
        b = l.reports.bob.finalLength;
      if (a === undefined || a !== b)
        this.end(s.id, "MISMATCH", `the parties report different final key lengths (${a ?? "none"} and ${b ?? "none"})`, "server");
      else this.end(s.id, null, null, null);
    }
    return s;
  }

  /** A report after the end: fills in figures the summary lacks (never the outcome), saves and tells the room. */
  private lateReport(userId: string, r: Bb84Report, conn?: Bb84Conn): Bb84SessionSummary | null {
    const hit = this.recent.get(r.sessionId);
    if (!hit || hit.until < Date.now()) return null;
    const { l } = hit;
    const s = l.summary;
    const role = roleOf(s, userId);
    const holder = role ? l.claims.get(userId) : undefined;
    if (conn && holder && !sameConn(holder, conn) && s.roomId === r.roomId) refuseElsewhere();
    if (!role || s.roomId !== r.roomId || l.reports[role]) return role && s.roomId === r.roomId ? { ...s } : null;
    l.reports[role] = r;
    const before = JSON.stringify(s);
    const finalLength = s.finalLength;
    this.merge(l);
    if (s.outcome === "aborted") s.finalLength = null;
    else s.finalLength = finalLength;
    if (JSON.stringify(s) !== before) {
      this.io.to(s.roomId).emit("bb84:updated", { ...s });
      this.save(s);
    }
    return { ...s };
  }

  /** A member left the room (or disconnected): their running sessions there end, on whichever node holds them. */
  memberLeft(roomId: string, userId: string) {
    this.memberLeftHere(roomId, userId);
    if (this.cluster) void this.cluster.broadcast("bb84:memberLeft", { roomId, userId }).catch(() => {});
  }

  private memberLeftHere(roomId: string, userId: string) {
    for (const l of [...this.live.values()]) {
      const s = l.summary;
      if (s.roomId !== roomId || (s.aliceId !== userId && s.bobId !== userId)) continue;
      this.end(s.id, "PEER_LEFT", `${s.aliceId === userId ? "Alice" : "Bob"} left the room during the session`, "server");
    }
  }

  /** Ends every running session (server shutdown) and waits until their rows are saved. */
  async close(): Promise<void> {
    for (const id of [...this.live.keys()]) this.end(id, "SERVER_SHUTDOWN", "the server shut down during the session", "server");
    await Promise.allSettled([...this.saving]);
  }

  /** Waits for pending row writes (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.saving]);
  }

  private merge(l: LiveSession) {
    const s = l.summary;
    const a = l.reports.alice,
      b = l.reports.bob;
    // Bob measured (detections) and knows how many errors Cascade corrected (f_EC on the true QBER).
    const pick = <K extends keyof Bb84Report>(k: K, prefer: "alice" | "bob") => {
      const first = prefer === "bob" ? b : a,
        second = prefer === "bob" ? a : b;
      return (first?.[k] ?? second?.[k] ?? null) as Bb84Report[K] | null;
    };
    s.detected = pick("detected", "bob") as number | null;
    s.sifted = pick("sifted", "bob") as number | null;
    s.sampleSize = pick("sampleSize", "alice") as number | null;
    s.qberEstimate = pick("qberEstimate", "bob") as number | null;
    s.qberBound = pick("qberBound", "bob") as number | null;
    s.disclosedBits = pick("disclosedBits", "bob") as number | null;
    s.fEC = pick("fEC", "bob") as number | null;
    s.roundTrips = pick("roundTrips", "bob") as number | null;
    s.finalLength = pick("finalLength", "alice") as number | null;
    const durations: Record<string, number> = {};
    for (const rep of [a, b]) {
      for (const [k, v] of Object.entries(rep?.durations ?? {})) {
        if (typeof v !== "number") continue;
        // Compute per stage adds up over both parties; the wall-clock total is the longer one.
        durations[k] = k === "total" ? Math.max(durations[k] ?? 0, v) : (durations[k] ?? 0) + v;
      }
    }
    s.durations = durations;
  }

  private end(id: string, code: string | null, reason: string | null, by: string | null) {
    const l = this.live.get(id);
    if (!l) return;
    this.live.delete(id);
    clearTimeout(l.timer);
    if (l.hold) clearTimeout(l.hold);
    const now = Date.now();
    for (const [k, v] of this.recent) if (v.until < now) this.recent.delete(k);
    this.recent.set(id, { l, until: now + LATE_REPORT_MS });
    const s = l.summary;
    s.outcome = code === null ? "success" : "aborted";
    s.abortCode = code;
    s.abortReason = reason;
    s.abortedBy = by;
    s.finishedAt = new Date().toISOString();
    if (s.outcome === "aborted") s.finalLength = null;
    const { id: sessionId, roomId, aliceId, bobId, ...rest } = s;
    this.logs.append({ roomId, type: "BB84_SESSION_SUMMARY", actorId: aliceId, targetId: bobId, meta: { sessionId, ...rest } });
    this.io.to(roomId).emit("bb84:updated", { ...s });
    this.save(s);
    this.release(s);
  }

  private save(s: Bb84SessionSummary) {
    const snapshot = { ...s, durations: { ...s.durations } };
    // Saves of one session run in order, so a late merge can't be overwritten by the first save.
    const prev = this.saveChain.get(s.id) ?? Promise.resolve();
    const p = prev
      .then(() => saveSession(this.prisma, snapshot))
      .catch((e) => this.logger.error("saving a BB84 session summary failed", { sessionId: s.id, error: e instanceof Error ? e.message : String(e) }));
    this.saveChain.set(s.id, p);
    this.saving.add(p);
    void p.finally(() => {
      this.saving.delete(p);
      if (this.saveChain.get(s.id) === p) this.saveChain.delete(s.id);
    });
  }
}
