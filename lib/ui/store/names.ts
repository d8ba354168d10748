import type { ChatState } from "@/lib/client";

/**
 * userId → display name, learned from every room in a client snapshot: present members overwrite
 * (a rename wins), and members who left before this tab joined are named by their join log rows,
 * which never overwrite. Returns `names` itself when nothing changed, so selectors keep their value.
 */
export function learnNames(names: Record<string, string>, snapshot: ChatState): Record<string, string> {
  let out = names;
  let copied = false;
  const learn = (userId: string, name: string, overwrite: boolean) => {
    if (out[userId] === name || (!overwrite && out[userId] !== undefined)) return;
    if (!copied) {
      out = { ...out };
      copied = true;
    }
    out[userId] = name;
  };
  for (const room of Object.values(snapshot.rooms)) {
    for (const m of room.members) learn(m.userId, m.displayName, true);
    for (const l of room.logs) {
      if (l.type === "MEMBER_JOINED" && l.actorId && typeof l.meta.displayName === "string") learn(l.actorId, l.meta.displayName, false);
    }
  }
  return out;
}
