/**
 * What each command takes and what its successful ack carries, derived once from the typed
 * Socket.IO contract in events.ts. The client (lib/client) and the server (server/command.ts and
 * its handlers) both import these, so neither re-derives them and they cannot drift apart.
 */
import type { z } from "zod";
import type { Ack } from "./errors";
import type { ClientToServerEvents, COMMAND_SCHEMAS, CommandName } from "./events";

export type { CommandName } from "./events";

/** The payload a client sends with command K (the schema's input type). */
export type CommandPayload<K extends CommandName> = Parameters<ClientToServerEvents[K]>[0];

/** The payload as the server's handler receives it, after the schema parsed it (defaults applied). */
export type CommandInput<K extends CommandName> = z.output<(typeof COMMAND_SCHEMAS)[K]>;

/** The data a successful ack of command K carries (`{ ok: true, data }`). */
export type CommandData<K extends CommandName> = Parameters<Parameters<ClientToServerEvents[K]>[1]>[0] extends infer A
  ? A extends { ok: true; data: infer D }
    ? D
    : never
  : never;

/** The whole ack of command K: its data, or one of the closed set of error codes. */
export type CommandAck<K extends CommandName> = Ack<CommandData<K>>;
