import type { Server, Socket } from "socket.io";
import type { PrismaClient } from "@prisma/client";
import type { ClientToServerEvents, ServerToClientEvents, CommandName, CommandData, CommandInput } from "@/lib/protocol";
import type { LogWriter } from "./logs/log-writer";
import type { Presence } from "./rooms/presence";
import type { Logger } from "./logger";
import type { TokenBucket } from "./rate-limit";
import type { Bb84Sessions } from "./bb84/sessions";

export interface SocketData {
  userId: string | null;
  keys: { signingKey: string; agreementKey: string; agreementSig: string } | null;
  nonce: { value: string; issuedAt: number } | null;
  rooms: Set<string>;
  commands: TokenBucket;
  frames: TokenBucket;
  frameBytes: TokenBucket;
}

export type QsecServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type QsecSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

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
}

export type { CommandInput } from "@/lib/protocol";
/** The data a handler's successful ack carries (lib/protocol/commands.ts, shared with the client). */
export type CommandResult<K extends CommandName> = CommandData<K>;

/** A command handler: runs after schema validation, authentication and rate limiting. */
export type Handler<K extends CommandName> = (socket: QsecSocket, input: CommandInput<K>) => Promise<CommandResult<K>>;
