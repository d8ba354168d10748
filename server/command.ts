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

export function registerCommand<K extends CommandName>(deps: Deps, socket: QsecSocket, name: K, handler: Handler<K>): void {
  const schema = COMMAND_SCHEMAS[name];
  (socket as unknown as { on(ev: string, fn: (...args: unknown[]) => void): void }).on(name, (...args: unknown[]) => {
    const ack = (typeof args[args.length - 1] === "function" ? args.pop() : noop) as (r: unknown) => void;
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
    const rows = readRows(name, parsed.data);
    if (rows > 0 && (!socket.data.commands.take(extraCommandTokens(rows)) || !deps.reads.take(socket, rows)))
      return reply(fail("RATE_LIMITED", "too many rows read; slow down"));
    const historyAsked = historyRows(name, parsed.data);
    if (historyAsked > 0 && !deps.historyReads.take(socket, historyAsked)) return reply(fail("RATE_LIMITED", "too much history read; slow down"));
    handler(socket, parsed.data as never).then(
      (data) => reply(ok(data)),
      (err: unknown) => {
        if (err instanceof ProtocolError) {
          if (REJECTIONS_WORTH_LOGGING.has(err.code)) logRejection(deps, socket, name, err.code, args[0]);
          return reply(fail(err.code, err.message));
        }
        // Several nodes, Redis away: a clear refusal to retry, not an internal error.
        if (isRedisUnreachable(err)) return reply(fail("UNAVAILABLE", "the shared state (Redis) is unreachable; retry shortly"));
        deps.logger.error("handler failed", { event: name, user: socket.data.userId, error: err instanceof Error ? err.message : String(err) });
        reply(fail("INTERNAL", "internal error"));
      },
    );
  });
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
