import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { COMMAND_NAMES, NOTIFICATION_NAMES, ERROR_CODES, LOG_EVENT_TYPES, COMMAND_SCHEMAS, LIMITS } from "@/lib/protocol";

const doc = readFileSync(path.join(__dirname, "..", "..", "docs", "protocol.md"), "utf8");

test("every command and notification has its own section in docs/protocol.md", () => {
  for (const name of COMMAND_NAMES) expect(doc).toContain(`### \`${name}\` (command)`);
  for (const name of NOTIFICATION_NAMES) expect(doc).toContain(`### \`${name}\` (notification)`);
});

test("the documented events are exactly those in code", () => {
  const documented = [...doc.matchAll(/^### `([a-z0-9]+:[a-z-]+)` \((command|notification)\)$/gm)].map((m) => m[1]).sort();
  expect(documented).toEqual([...COMMAND_NAMES, ...NOTIFICATION_NAMES].sort());
  expect(Object.keys(COMMAND_SCHEMAS).sort()).toEqual([...COMMAND_NAMES].sort());
});

test("every error code and log event type is documented", () => {
  for (const code of ERROR_CODES) expect(doc).toContain(`| \`${code}\` |`);
  for (const t of LOG_EVENT_TYPES) expect(doc).toContain(`| \`${t}\` |`);
});

/** A command's own section of docs/protocol.md: from its heading to the next heading. */
function section(name: string): string {
  const start = doc.indexOf(`### \`${name}\` (command)`);
  const rest = doc.slice(start + 4);
  const end = rest.search(/^##/m);
  return end < 0 ? rest : rest.slice(0, end);
}

// Past every byte cap of the protocol (the largest: a 1 MiB BB84 frame, a 512 KiB backup blob as base64url).
const LONG_TEXT = "A".repeat(720_000);
const LONG_BINARY = new Uint8Array(LIMITS.maxBb84FrameBytes + 1);

/**
 * Payloads that put an oversize value (a long string, a large binary) at each leaf of a schema in
 * turn, so the test finds every field whose refusal is "too large" (server/command.ts answers
 * TOO_LARGE for those) without a hand-kept list.
 */
function oversizeProbes(schema: unknown): unknown[] {
  const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case "object":
      return Object.entries(def.shape as Record<string, unknown>).flatMap(([k, v]) => oversizeProbes(v).map((p) => ({ [k]: p })));
    case "optional":
    case "default":
    case "nullable":
      return oversizeProbes(def.innerType);
    case "array":
      return oversizeProbes(def.element).map((p) => [p]);
    case "pipe":
      return oversizeProbes(def.in);
    case "union":
      return (def.options as unknown[]).flatMap(oversizeProbes);
    case "string":
      return [LONG_TEXT];
    case "custom":
      return [LONG_BINARY];
    default:
      return []; // numbers, enums, literals, booleans, records: no byte cap
  }
}

test("a command whose schema refuses a field as too large lists TOO_LARGE among its errors", () => {
  const canBeTooLarge = COMMAND_NAMES.filter((name) =>
    oversizeProbes(COMMAND_SCHEMAS[name]).some((p) => COMMAND_SCHEMAS[name].safeParse(p).error?.issues.some((i) => i.message === "too large")),
  );
  // The probe itself must find the known cases (a message's ciphertext, a BB84 frame, a backup blob).
  expect(canBeTooLarge).toEqual(expect.arrayContaining(["message:send", "bb84:relay", "backup:put", "auth:prove"]));
  for (const name of canBeTooLarge) expect({ name, lists: section(name).includes("`TOO_LARGE`") }).toEqual({ name, lists: true });
});

test("every command section lists INVALID_PAYLOAD and RATE_LIMITED (every command can answer them)", () => {
  for (const name of COMMAND_NAMES) {
    const s = section(name);
    expect({ name, invalid: s.includes("`INVALID_PAYLOAD`"), limited: s.includes("`RATE_LIMITED`") }).toEqual({ name, invalid: true, limited: true });
  }
});

/**
 * The documented payload `{ a, b?, … }` of each command names exactly the schema's top-level
 * fields, optional ones with `?` (nested objects and arrays are not compared).
 */
test("each command's documented payload names the schema's fields, optional ones with ?", () => {
  for (const name of COMMAND_NAMES) {
    const m = /- Payload: `(\{[^`]*\})`/.exec(section(name));
    expect({ name, documented: m !== null }).toEqual({ name, documented: true });
    let depth = 0;
    let top = "";
    for (const ch of m![1].slice(1, -1)) {
      if ("{[(".includes(ch)) depth += 1;
      else if ("}])".includes(ch)) depth -= 1;
      else if (depth === 0) top += ch;
    }
    const documented = top
      .split(",")
      .map((f) => f.replace(/:.*$/s, "").trim())
      .filter(Boolean)
      .sort();
    const shape = (COMMAND_SCHEMAS[name] as unknown as { _zod: { def: { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> } } })._zod.def
      .shape;
    const fromSchema = Object.entries(shape)
      .map(([k, v]) => (v.safeParse(undefined).success ? `${k}?` : k))
      .sort();
    expect({ name, fields: documented }).toEqual({ name, fields: fromSchema });
  }
});

test("every domain-separation label in lib/crypto is documented in docs/security.md", () => {
  const security = readFileSync(path.join(__dirname, "..", "..", "docs", "security.md"), "utf8");
  const dir = path.join(__dirname, "..", "..", "lib", "crypto");
  const labels = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts")))
    for (const m of readFileSync(path.join(dir, f), "utf8").matchAll(/"(QSEC-[A-Za-z0-9-]+)"/g)) labels.add(m[1]);
  expect(labels.size).toBeGreaterThan(10);
  for (const label of labels) expect({ label, documented: security.includes(`\`${label}\``) }).toEqual({ label, documented: true });
});
