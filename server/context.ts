/**
 * What a command handler works with: the application's dependencies (built once by app.ts) and the
 * handler signature, typed per command from lib/protocol's schemas and acks.
 */
import type { PrismaClient } from "@prisma/client";
import type { CommandName, CommandData, CommandInput } from "@/lib/protocol";
import type { LogWriter } from "./logs/log-writer";
import type { Presence } from "./rooms/presence";
import type { Logger } from "./logger";
import type { Bb84Sessions } from "./bb84/sessions";
import type { QsecServer, QsecSocket, RelayTap } from "./socket-types";
import type { ReadBudget } from "./cost";

export interface Deps {
  io: QsecServer;
  prisma: PrismaClient;
  logs: LogWriter;
  presence: Presence;
  logger: Logger;
  /** userId → the one socket authenticated as that identity. */
  sockets: Map<string, QsecSocket>;
  /** Running BB84 sessions (who may relay frames to whom) and their summaries. */
  bb84: Bb84Sessions;
  /** The read budget expensive reads (logs:fetch, bb84:list) are charged to (cost.ts). */
  reads: ReadBudget;
  /** Test seam (AppOptions.relayTap): unset in production. */
  relayTap?: RelayTap;
}

export type { CommandInput } from "@/lib/protocol";
/** The data a handler's successful ack carries (lib/protocol/commands.ts, shared with the client). */
export type CommandResult<K extends CommandName> = CommandData<K>;

/** A command handler: runs after schema validation, authentication and rate limiting. */
export type Handler<K extends CommandName> = (socket: QsecSocket, input: CommandInput<K>) => Promise<CommandResult<K>>;
