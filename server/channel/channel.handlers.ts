/**
 * channel:set — a member in the room changes the room's simulation channel for the BB84 sessions that
 * follow (channel.ts stores, mirrors, announces and logs it).
 */
import { registerCommand, type CommandTable } from "../command";
import type { CommandInput, CommandResult, Deps } from "../context";
import type { QsecSocket } from "../socket-types";
import { setRoomChannel } from "./channel";

export function registerChannel(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "channel:set", (socket, p) => setChannel(deps, socket, p));
}

async function setChannel(deps: Deps, socket: QsecSocket, p: CommandInput<"channel:set">): Promise<CommandResult<"channel:set">> {
  deps.presence.requireMember(socket, p.roomId);
  return { channel: await setRoomChannel(deps, p.roomId, p.channel, socket.data.userId!) };
}
