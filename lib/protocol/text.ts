/**
 * Text that enters from a client must be well-formed UTF-16: a lone surrogate cannot be stored
 * (SQLite/Prisma reject it deep inside a write, after side effects), cannot be rendered, and
 * compares unequal to itself once re-encoded. Every free-text field of the protocol goes through
 * `wellFormedText()` so the refusal happens at the schema, before any handler runs.
 * NUL (U+0000) is refused too: PostgreSQL cannot store it in a text column (nor take it as a text
 * parameter), so on that engine it would fail inside a write; refusing it on both engines keeps
 * SQLite and PostgreSQL deployments accepting the same input.
 */
import { z } from "./zod";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

export const MALFORMED_TEXT = "malformed text (lone UTF-16 surrogate)";
export const NUL_IN_TEXT = "text must not contain NUL (U+0000)";

/** z.string() that refuses lone surrogates; chain .max() etc. on the result's input side. */
export function wellFormedText(max?: number) {
  let s = z.string();
  if (max !== undefined) s = s.max(max);
  return s.refine(isWellFormedText, MALFORMED_TEXT).refine((v) => !v.includes("\u0000"), NUL_IN_TEXT);
}
