/**
 * The one path every inbound event takes: rate limit → authentication → schema → handler → ack.
 * A handler throws ProtocolError for refusals; anything else becomes INTERNAL without details, so
 * internals never reach a client and no payload can crash the process.
 */
import { COMMAND_SCHEMAS, ProtocolError, fail, ok, type CommandName, type ErrorCode } from "@/lib/protocol";
import type { Deps, Handler } from "./context";
import type { QsecSocket } from "./socket-types";
import { extraCommandTokens, historyRows, readRows } from "./cost";
import { isRedisUnreachable } from "./cluster/redis-state";

// backup:fetch is public: a fresh browser restoring a key backup has no identity to prove yet.
// bb84:attach authenticates a BB84 worker connection with a ticket (server/bb84/links.ts).
const PUBLIC_COMMANDS: ReadonlySet<CommandName> = new Set(["auth:hello", "auth:prove", "backup:fetch", "bb84:attach"]);
const noop = () => {};

/**
 * A node's commands, built once when the application starts: one entry per event, each taking the
 * connection it came on. Every connection shares it through one dispatcher (commandDispatcher), so an
 * idle connection holds no listener or closure per command (about 5 KB less per connection).
 */
export type CommandTable = Map<string, (socket: QsecSocket, args: unknown[]) => void>;

export function registerCommand<K extends CommandName>(deps: Deps, commands: CommandTable, name: K, handler: Handler<K>): void {
  const schema = COMMAND_SCHEMAS[name];
  commands.set(name, (socket, args) => {
    const ack = (typeof args[args.length - 1] === "function" ? args.pop() : name === "bb84:relay" ? refusalNotice(socket, args[0]) : noop) as (
      r: unknown,
    ) => void;
    const reply = (r: unknown) => {
      try {
        ack(r);
      } catch {
        /* a client-side ack can't throw here, but never let it take the process down */
      }
    };
    const bucket = name === "bb84:relay" ? socket.data.frames : socket.data.commands;
    if (!bucket.take()) return reply(fail("RATE_LIMITED", "too many requests; slow down"));
    if (!PUBLIC_COMMANDS.has(name) && !socket.data.userId) return reply(fail("NOT_AUTHENTICATED", "authenticate first (auth:hello, auth:prove)"));
    // A BB84 worker connection relays its session's frames and does nothing else.
    if (socket.data.kind === "bb84" && name !== "bb84:relay") return reply(fail("FORBIDDEN", "a BB84 worker connection only relays BB84 frames"));
    if (args.length !== 1) return reply(fail("INVALID_PAYLOAD", `${name} takes exactly one payload object`));
    const parsed = schema.safeParse(args[0]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const tooLarge = parsed.error.issues.some((i) => i.message === "too large");
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      return reply(fail(tooLarge ? "TOO_LARGE" : "INVALID_PAYLOAD", `${where}${issue?.message ?? "invalid payload"}`));
    }
    const failed = (err: unknown) => {
      if (err instanceof ProtocolError) {
        if (REJECTIONS_WORTH_LOGGING.has(err.code)) logRejection(deps, socket, name, err.code, args[0]);
        return reply(fail(err.code, err.message));
      }
      // Several nodes, Redis away: a clear refusal to retry, not an internal error.
      if (isRedisUnreachable(err)) return reply(fail("UNAVAILABLE", "the shared state (Redis) is unreachable; retry shortly"));
      deps.logger.error("handler failed", { event: name, user: socket.data.userId, error: err instanceof Error ? err.message : String(err) });
      reply(fail("INTERNAL", "internal error"));
    };
    const run = () => handler(socket, parsed.data as never).then((data) => reply(ok(data)), failed);
    // The row budgets: answered at once on one node; several nodes share each address's budget in
    // Redis, so the answer is a promise there (the handler runs once it is known).
    const refusal = chargeRows(deps, socket, name, parsed.data);
    if (refusal instanceof Promise) return void refusal.then((m) => (m ? reply(fail("RATE_LIMITED", m)) : run()), failed);
    if (refusal) return reply(fail("RATE_LIMITED", refusal));
    void run();
  });
}

/**
 * The answer to a `bb84:relay` sent without an ack (a BB84 worker connection's small frames, so
 * that each frame costs one WebSocket message back and forth, not two): nothing when relayed, a
 * `bb84:refused` notification naming the session when refused.
 */
function refusalNotice(socket: QsecSocket, payload: unknown): (r: unknown) => void {
  const sessionId = (payload as { sessionId?: unknown } | null)?.sessionId;
  return (r) => {
    const res = r as { ok: boolean; error?: { code: ErrorCode; message: string } };
    if (res.ok || !res.error) return;
    socket.emit("bb84:refused", { sessionId: typeof sessionId === "string" ? sessionId.slice(0, 64) : null, error: res.error });
  };
}

/**
 * Routes every connection's events through the node's command table: one function for all of
 * them, registered with `socket.onAny` (Socket.IO calls it with the socket as `this` and the ack as
 * the last argument). Events outside the protocol (the prototype's generic
 * `relay`, typos, probes) get a clear refusal when they carry an ack, and are otherwise ignored.
 */
export function commandDispatcher(commands: CommandTable): (this: QsecSocket, event: string, ...args: unknown[]) => void {
  return function dispatch(this: QsecSocket, event: string, ...args: unknown[]) {
    const run = typeof event === "string" ? commands.get(event) : undefined;
    if (run) return run(this, args);
    const ack = args[args.length - 1];
    if (typeof ack === "function") {
      try {
        ack(fail("INVALID_PAYLOAD", `unknown event "${String(event).slice(0, 40)}"`));
      } catch {
        /* ignore */
      }
    }
  };
}

/** Charges an expensive read or a history page to its row budget: the refusal's message, or null when charged. */
function chargeRows(deps: Deps, socket: QsecSocket, name: CommandName, data: unknown): string | null | Promise<string | null> {
  const rows = readRows(name, data);
  if (rows > 0) {
    const tooMany = "too many rows read; slow down";
    if (!socket.data.commands.take(extraCommandTokens(rows))) return tooMany;
    const r = deps.reads.take(socket, rows);
    return r instanceof Promise ? r.then((ok) => (ok ? null : tooMany)) : r ? null : tooMany;
  }
  const historyAsked = historyRows(name, data);
  if (historyAsked > 0) {
    const tooMuch = "too much history read; slow down";
    const r = deps.historyReads.take(socket, historyAsked);
    return r instanceof Promise ? r.then((ok) => (ok ? null : tooMuch)) : r ? null : tooMuch;
  }
  return null;
}

const REJECTIONS_WORTH_LOGGING: ReadonlySet<ErrorCode> = new Set(["NOT_A_MEMBER", "NOT_LEADER", "UNKNOWN_PEER", "UNKNOWN_SESSION"]);

/** Operators see refused attempts against a room (never their payloads); members don't. */
function logRejection(deps: Deps, socket: QsecSocket, event: string, code: ErrorCode, payload: unknown) {
  const roomId = (payload as { roomId?: unknown })?.roomId;
  if (typeof roomId !== "string" || !deps.presence.rooms.has(roomId)) return;
  deps.logs.append({
    roomId,
    type: "SECURITY_REJECTED",
    actorId: socket.data.userId,
    meta: { event, code },
    coalesceKey: `rej|${roomId}|${socket.data.userId}|${event}|${code}`,
  });
}
