/**
 * Display names that look alike. Two members whose names share a Unicode confusables skeleton
 * (UTS #39: NFD, then each character mapped to its prototype from Unicode's confusables.txt, as
 * packaged by `unhomoglyph`, then NFD again) can pass for each other on screen — "аlice" with a
 * Cyrillic а, "bob" and "b0b" are not (0 is not confusable with o), "I" and "l" are. The server
 * refuses exact duplicates (case-insensitively); clients warn about confusable ones, because a
 * warning names both members and their safety numbers, while a refusal would only teach an
 * impersonator which spelling passes.
 *
 * Also: names that render blank (only fillers, combining marks, spaces, invisible letters such as
 * U+3164 HANGUL FILLER) are refused by the display-name schema (lib/protocol/events.ts).
 */
import unhomoglyph from "unhomoglyph";

export function skeleton(s: string): string {
  return unhomoglyph(s.normalize("NFD")).normalize("NFD");
}

/** True when the two names render alike (same skeleton, with or without case folding). */
export function confusableNames(a: string, b: string): boolean {
  if (a === b) return true;
  return skeleton(a) === skeleton(b) || skeleton(a.toLocaleLowerCase()) === skeleton(b.toLocaleLowerCase());
}

/** Every pair of members (by user id) whose display names are confusable. */
export function confusablePairs(members: readonly { userId: string; displayName: string }[]): [(typeof members)[number], (typeof members)[number]][] {
  const bySkeleton = new Map<string, (typeof members)[number][]>();
  const pairs: [(typeof members)[number], (typeof members)[number]][] = [];
  for (const m of members) {
    const keys = new Set([skeleton(m.displayName), skeleton(m.displayName.toLocaleLowerCase())]);
    const seen = new Set<string>();
    for (const k of keys) {
      for (const other of bySkeleton.get(k) ?? []) {
        if (other.userId === m.userId || seen.has(other.userId)) continue;
        seen.add(other.userId);
        pairs.push([other, m]);
      }
      bySkeleton.set(k, [...(bySkeleton.get(k) ?? []), m]);
    }
  }
  return pairs;
}

/**
 * Characters that draw nothing: Hangul and halfwidth fillers, the blank Braille pattern, Khmer
 * inherent vowels, Mongolian variation selectors and the like (letters by category, so the
 * control/format rule does not catch them), plus combining marks and separators.
 */
// Variation selectors (U+180B–180D, U+FE00–FE0F, U+E0100–E01EF), U+034F and the Khmer vowels
// U+17B4/5 are combining marks (\p{M}); naming them inside the class again would only mislead.
const INVISIBLE =
  /[\p{M}\p{Z}\s\u115F\u1160\u3164\uFFA0\u2800\u180E\u2060-\u206F\u{1D159}\u{1D173}-\u{1D17A}\u061C\u200B-\u200F\u202A-\u202E\u{E0000}-\u{E007F}]/gu;

export function rendersBlank(s: string): boolean {
  return s.replace(INVISIBLE, "").length === 0;
}
