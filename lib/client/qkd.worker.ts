/**
 * The Web Worker side of createWorkerEngine: one BB84 party at a time per worker (a "reset" ends it
 * and the worker may serve the next session), run by createLocalEngine
 * (the very code Node runs in-thread), so the browser and the tests exercise the same engine.
 *
 * Requests are handled strictly one after another in arrival order (the engine's methods are
 * async), and every outgoing engine message and the final key are transferred, not copied: after
 * `key` the worker holds no copy of the key bytes.
 *
 * The link (PartyLink in bb84-types.ts): the worker may hold a Socket.IO connection of its own,
 * attached to the page's member connection with a one-time ticket (bb84:attach), kept open across
 * sessions while the worker is pooled. Once the session is routed to it, the peer's frames arrive
 * here and are taken in the same request queue (held until the page has handed over the frames it
 * got before the switch), and every answer is relayed from here in order (RelaySender): small
 * frames without an ack while RelayPacer says the server's buckets have room (a refusal comes back
 * as bb84:refused), others one after the previous one's ack. The page hears of each step as an event.
 */
import { io, type Socket } from "socket.io-client";
import { LIMITS, type Ack, type Bb84Frame, type Bb84Refused } from "@/lib/protocol";
import { createLocalEngine } from "./qkd-engine";
import { framedParty, RelayPacer, RelaySender, type FramedParty } from "./bb84-transport";
import type { FramedStep, FrameSetup, LinkEvent, QkdEngine, QkdEngineInit } from "./bb84-types";
import { ClientError } from "./errors";
import { fromB64url, toB64url } from "@/lib/crypto/encoding";
import type { QkdWorkerRequest, QkdWorkerResponse } from "./qkd-worker-engine";

/** Frames (bytes) the link may hold while the page hands over those it got before the switch. */
const MAX_HELD_BYTES = 64 * 1024 * 1024;
const LINK_TIMEOUT_MS = 10_000;
const RELAY_TIMEOUT_MS = 30_000;

interface Link {
  socket: Socket;
  url: string;
  ticket: string;
  alive: boolean;
  /** The server's frame and byte buckets as this link has used them (they outlive a session). */
  pacer: RelayPacer;
}

/** The session's frame loop over the link (after "direct", until "reset"). */
interface Direct {
  setup: FrameSetup;
  sender: RelaySender;
  /** The page may still hand over frames it got before the route switched. */
  mainOpen: boolean;
  held: { f: Bb84Frame; at: number }[];
  heldBytes: number;
  lastSentAt: number | null;
  ended: boolean;
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());
/** A frame's bytes (text frames are base64url; a malformed one fails the codec's authentication as garbage would). */
const bytesOf = (b: Uint8Array | ArrayBuffer | string): Uint8Array => {
  if (typeof b !== "string") return b instanceof Uint8Array ? b : new Uint8Array(b);
  try {
    return fromB64url(b);
  } catch {
    return new Uint8Array(0);
  }
};
/**
 * Frames up to this size go out as base64url text, and the link asks for the peer's as text too
 * (bb84:attach textFrames): one WebSocket message per frame instead of Socket.IO's two (header +
 * binary attachment). Photon batches (128 KiB chunks) stay binary.
 */
const TEXT_FRAME_BYTES = LIMITS.maxBb84TextFrameBytes;

function emitAck<T>(socket: Socket, event: string, payload: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, res: Ack<T>) => {
      if (err) return reject(new ClientError("TIMEOUT", `no answer to ${event} within ${timeoutMs} ms`));
      if (!res || typeof res !== "object") return reject(new ClientError("INTERNAL", `malformed answer to ${event}`));
      if (res.ok) resolve(res.data);
      else reject(new ClientError(res.error.code, res.error.message));
    });
  });
}

/** What the worker needs of its global scope (a DedicatedWorkerGlobalScope, or a MessagePort in tests). */
export interface WorkerScopeLike {
  postMessage(message: QkdWorkerResponse, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: MessageEvent<QkdWorkerRequest>) => void): void;
}

/** Each distinct buffer once (transferring a buffer twice throws). */
function buffersOf(arrays: Uint8Array[]): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer) set.add(a.buffer);
  return [...set];
}

export function serveQkdEngine(scope: WorkerScopeLike, factory: (init: QkdEngineInit) => QkdEngine = createLocalEngine): void {
  let engine: QkdEngine | null = null;
  let party: FramedParty | null = null;
  let setup: FrameSetup | null = null;
  let queue: Promise<void> = Promise.resolve();
  let link: Link | null = null;
  let direct: Direct | null = null;

  const event = (e: LinkEvent) => scope.postMessage({ id: 0, ok: true, op: "event", event: e }, []);

  /** In direct mode a step's frames are relayed from here; the page gets the step without them. */
  function sendOut(step: FramedStep): FramedStep {
    if (!direct || step.kind !== "step" || step.frames.length === 0) return step;
    direct.sender.send(step.frames);
    direct.lastSentAt = now();
    return { ...step, frames: [] };
  }

  /** A peer's frame that came over the link, taken in the request queue. */
  async function linkFrame(f: Bb84Frame, at: number): Promise<void> {
    const d = direct;
    if (!d || d.ended || !party || f.sessionId !== d.setup.rx.sessionId) return;
    const t0 = now();
    const waitMs = d.lastSentAt !== null ? Math.max(0, at - d.lastSentAt) : 0;
    d.lastSentAt = null;
    const bytes = bytesOf(f.frame);
    let step: FramedStep;
    if (f.roomId !== d.setup.rx.roomId || f.from !== d.setup.rx.from) {
      step = {
        kind: "invalid",
        reason: `a frame for this session came from ${f.from.slice(0, 8)}, who is not its peer`,
        frames: [],
        t: { open: 0, engine: 0, seal: 0 },
      };
    } else {
      try {
        step = sendOut(await party.receiveFrame(bytes));
      } catch (e) {
        // An engine failure: the page aborts the session with the reason (as for a request's error).
        if (direct === d) event({ kind: "closed", reason: `the BB84 party failed: ${e instanceof Error ? e.message : String(e)}` });
        return;
      }
    }
    if (direct !== d) return; // reset meanwhile
    event({ kind: "step", step, size: bytes.length, waitMs, queueMs: t0 - at, partyMs: now() - t0 });
  }

  function onLinkFrame(f: Bb84Frame) {
    const at = now();
    const d = direct;
    if (!d || d.ended || f.sessionId !== d.setup.rx.sessionId) return; // not (or no longer) ours
    if (d.mainOpen) {
      d.held.push({ f, at });
      d.heldBytes += bytesOf(f.frame).byteLength;
      if (d.heldBytes > MAX_HELD_BYTES) {
        d.ended = true;
        event({ kind: "closed", reason: "too many frames arrived before the session's route switched" });
      }
      return;
    }
    queue = queue.then(() => linkFrame(f, at));
  }

  async function connectLink(url: string, ticket: string | null): Promise<string | null> {
    if (link?.alive && link.url === url) return link.ticket;
    if (!ticket) return null;
    link?.socket.disconnect();
    link = null;
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, autoConnect: false });
    const l: Link = { socket, url, ticket, alive: false, pacer: new RelayPacer() };
    socket.on("bb84:frame", (f: Bb84Frame) => onLinkFrame(f));
    socket.on("bb84:refused", (r: Bb84Refused) => {
      const d = direct;
      if (d && !d.ended && r?.sessionId === d.setup.tx.sessionId) d.sender.refused(`${r.error?.code}: ${r.error?.message}`);
    });
    socket.on("disconnect", (reason) => {
      l.alive = false;
      if (link === l) link = null;
      if (direct && !direct.ended) {
        direct.ended = true;
        event({ kind: "closed", reason: `the BB84 worker connection closed (${reason})` });
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new ClientError("TIMEOUT", "the BB84 worker connection did not open")), LINK_TIMEOUT_MS);
        socket.once("connect", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once("connect_error", (e) => {
          clearTimeout(timer);
          reject(new ClientError("OFFLINE", `the BB84 worker connection failed: ${e.message}`));
        });
        socket.connect();
      });
      await emitAck(socket, "bb84:attach", { ticket, textFrames: true }, LINK_TIMEOUT_MS);
    } catch (e) {
      socket.disconnect();
      throw e;
    }
    l.alive = socket.connected;
    if (!l.alive) throw new ClientError("OFFLINE", "the BB84 worker connection closed");
    link = l;
    return ticket;
  }

  function startDirect(): void {
    const l = link;
    if (!l?.alive || !setup) throw new Error("QKD worker: no live link");
    const tx = setup.tx;
    const pacer = l.pacer;
    const d: Direct = {
      setup,
      mainOpen: true,
      held: [],
      heldBytes: 0,
      lastSentAt: null,
      ended: false,
      sender: new RelaySender(
        {
          relay: (p) => {
            const small = p.frame.length <= TEXT_FRAME_BYTES;
            // Small frames (all of Cascade's) go without an ack while the server's buckets have
            // room: one WebSocket message each way per frame instead of two, off the critical path
            // but not off the machine's cores. A refusal then comes back as bb84:refused.
            if (pacer.take(p.frame.length) && small) {
              l.socket.emit("bb84:relay", { ...p, frame: toB64url(p.frame) });
              return Promise.resolve(false as const);
            }
            return emitAck(l.socket, "bb84:relay", small ? { ...p, frame: toB64url(p.frame) } : p, RELAY_TIMEOUT_MS).then(() => undefined);
          },
        },
        tx,
        () => d.ended || direct !== d,
        (bytes, ackMs, many, acked) => {
          if (direct === d) event({ kind: "sent", bytes, ackMs, many, acked });
        },
        (reason) => {
          if (direct === d) event({ kind: "refused", reason });
        },
      ),
    };
    direct = d;
  }

  function endDirect(): void {
    if (direct) direct.ended = true;
    direct = null;
  }

  function need(): QkdEngine {
    if (!engine) throw new Error("QKD worker: init first");
    return engine;
  }

  async function handle(req: QkdWorkerRequest): Promise<void> {
    try {
      switch (req.op) {
        case "init": {
          if (engine) throw new Error("QKD worker: already initialised");
          engine = factory(req.init);
          scope.postMessage({ id: req.id, ok: true, op: "init" }, []);
          return;
        }
        case "start":
        case "receive":
        case "abort": {
          const e = need();
          const step = req.op === "start" ? await e.start() : req.op === "receive" ? await e.receive(req.message) : await e.abort(req.code, req.message);
          scope.postMessage({ id: req.id, ok: true, op: "step", step }, buffersOf(step.out));
          return;
        }
        case "framed": {
          if (party) throw new Error("QKD worker: frames already set up");
          setup = req.setup;
          party = framedParty(need(), req.setup);
          scope.postMessage({ id: req.id, ok: true, op: "framed" }, []);
          return;
        }
        case "fstart":
        case "frame":
        case "fabort": {
          if (!party) throw new Error("QKD worker: set up frames first");
          const step = sendOut(
            req.op === "fstart" ? await party.start() : req.op === "frame" ? await party.receiveFrame(req.frame) : await party.abort(req.code, req.message),
          );
          scope.postMessage({ id: req.id, ok: true, op: "fstep", step }, buffersOf(step.frames));
          return;
        }
        case "link": {
          const handle = await connectLink(req.url, req.ticket);
          scope.postMessage({ id: req.id, ok: true, op: "link", handle }, []);
          return;
        }
        case "direct":
        case "undirect":
        case "mainDone":
        case "fidle": {
          if (req.op === "direct") startDirect();
          else if (req.op === "undirect") endDirect();
          else if (req.op === "mainDone" && direct) {
            const d = direct;
            d.mainOpen = false;
            const held = d.held;
            d.held = [];
            d.heldBytes = 0;
            for (const h of held) await linkFrame(h.f, h.at);
          } else if (req.op === "fidle" && direct) await direct.sender.idle();
          scope.postMessage({ id: req.id, ok: true, op: "done" }, []);
          return;
        }
        case "reset": {
          // The session is over: drop the engine, the codec and with it the frame key; the next init
          // starts afresh. The link's connection stays open for the next session.
          endDirect();
          party?.clear();
          engine?.dispose();
          engine = null;
          party = null;
          setup = null;
          scope.postMessage({ id: req.id, ok: true, op: "reset" }, []);
          return;
        }
        case "fclear": {
          party?.clear();
          scope.postMessage({ id: req.id, ok: true, op: "framed" }, []);
          return;
        }
        case "key": {
          const key = await need().key();
          scope.postMessage({ id: req.id, ok: true, op: "key", key }, key ? buffersOf([key]) : []);
          return;
        }
        default:
          throw new Error(`QKD worker: unknown op ${(req as { op?: unknown }).op}`);
      }
    } catch (e) {
      scope.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }, []);
    }
  }

  scope.addEventListener("message", (ev) => {
    const req = ev.data;
    queue = queue.then(() => handle(req));
  });
}

// Started only inside a real worker; importing this module elsewhere (tests) does nothing.
const workerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
if (typeof workerScope === "function" && globalThis instanceof workerScope) {
  serveQkdEngine(globalThis as unknown as WorkerScopeLike);
}
