/** lib/crypto must bundle for the browser: no Node built-ins, no runtime imports outside itself. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = path.resolve(__dirname, "../../../lib/crypto");

describe("lib/crypto portability", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  it.each(files)("%s imports only WebCrypto-era globals and its own modules", (f) => {
    const src = readFileSync(path.join(dir, f), "utf8");
    const imports = [...src.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gm)].map((m) => ({ typeOnly: !!m[2], spec: m[3] }));
    for (const { typeOnly, spec } of imports) {
      if (typeOnly) continue; // erased at compile time
      expect(spec).toMatch(/^\.\//);
    }
    expect(src).not.toMatch(/require\(|node:|\bBuffer\b|process\./);
  });
});
