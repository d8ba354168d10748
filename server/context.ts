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
import type { Bb84Links } from "./bb84/tickets";
import type { QsecServer, QsecSocket, RelayTap } from "./socket-types";
import type { ReadBudget } from "./cost";
import type { EnvelopeWriter } from "./history/history.repository";
import type { AttachmentService } from "./attachments/attachment-service";

/** Settings from the environment that handlers need (server/config.ts; tests pass their own). */
export interface RoomPolicy {
  /** QSEC_HISTORY_DAYS: the most days a room may keep history (0: every room is ephemeral). */
  historyDaysCap: number;
  /** QSEC_MEMBER_TTL_DAYS: a member away longer is removed (member expiry). */
  memberTtlDays: number;
}

export interface Deps {
  io: QsecServer;
  prisma: PrismaClient;
  logs: LogWriter;
  presence: Presence;
  logger: Logger;
  /** userId → the connections authenticated as that identity (its tabs, oldest first; at most LIMITS.maxSocketsPerIdentity). */
  sockets: Map<string, QsecSocket[]>;
  /** Stored envelopes of rooms with history, written in batches. */
  envelopes: EnvelopeWriter;
  config: RoomPolicy;
  /** Running BB84 sessions (who may relay frames to whom) and their summaries. */
  bb84: Bb84Sessions;
  /** BB84 worker connections' tickets (server/bb84/links.ts). */
  bb84Links: Bb84Links;
  /** The read budget expensive reads (logs:fetch, bb84:list) are charged to (cost.ts). */
  reads: ReadBudget;
  /** Encrypted attachments (null when the app was built without an attachment store). */
  attachments: AttachmentService | null;
  /** history:fetch's own row budget (cost.ts historyRows; LIMITS.historyRow*). */
  historyReads: ReadBudget;
  /** Test seam (AppOptions.relayTap): unset in production. */
  relayTap?: RelayTap;
}

export type { CommandInput } from "@/lib/protocol";
/** The data a handler's successful ack carries (lib/protocol/commands.ts, shared with the client). */
export type CommandResult<K extends CommandName> = CommandData<K>;

/** A command handler: runs after schema validation, authentication and rate limiting. */
export type Handler<K extends CommandName> = (socket: QsecSocket, input: CommandInput<K>) => Promise<CommandResult<K>>;
