/**
 * Warns once per room and pair when two present members have confusable display names
 * (lib/protocol/confusables.ts): the warning names both, by name and short user id, so the reader
 * can tell them apart by safety number.
 */
import { confusablePairs } from "@/lib/protocol";

export class ConfusableNameWarnings {
  private readonly warned = new Set<string>();

  /** New warnings for this room state (each pair of names is reported once per room). */
  check(roomId: string, members: readonly { userId: string; displayName: string }[]): string[] {
    const out: string[] = [];
    for (const [a, b] of confusablePairs(members)) {
      const key = JSON.stringify([roomId, ...[`${a.userId}:${a.displayName}`, `${b.userId}:${b.displayName}`].sort()]);
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      out.push(
        `"${a.displayName}" (${a.userId.slice(0, 8)}) and "${b.displayName}" (${b.userId.slice(0, 8)}) have names that look alike; check their safety numbers before trusting either`,
      );
    }
    return out;
  }
}
