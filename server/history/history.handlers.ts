/**
 * history:fetch: a page of the room's stored envelopes the caller may read, newest first. The
 * access rule lives in the query (history.repository.ts): room envelopes of epochs within one of
 * the caller's membership periods, and direct messages the caller sent or received.
 */
import { LIMITS } from "@/lib/protocol";
import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import { membershipPeriods } from "../rooms/rooms.repository";
import { fetchHistoryPage } from "./history.repository";

export function registerHistory(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "history:fetch", async (socket, p) => {
    const room = deps.presence.requireMember(socket, p.roomId);
    const userId = socket.data.userId!;
    const member = room.members.get(userId)!;
    const visibleFrom = member.visibleFrom;
    if (room.historyDays === null) return { messages: [], nextBefore: null, visibleFrom, historyDays: null };
    await deps.envelopes.flush();
    const periods = await membershipPeriods(deps.prisma, p.roomId, userId);
    const page = await fetchHistoryPage(deps.prisma, p.roomId, userId, periods, p.before, p.limit ?? LIMITS.defaultHistoryFetch);
    return { ...page, visibleFrom, historyDays: room.historyDays };
  });
}
