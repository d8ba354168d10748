import { readFileSync } from "node:fs";
import path from "node:path";
import { COMMAND_NAMES, NOTIFICATION_NAMES, ERROR_CODES, LOG_EVENT_TYPES, COMMAND_SCHEMAS } from "@/lib/protocol";

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
