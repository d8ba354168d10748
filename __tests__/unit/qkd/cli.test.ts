import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(__dirname, "..", "..", "..");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "node_modules", "tsx", "dist", "cli.mjs"), join(root, "scripts", "qkd.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
  });

describe("npm run qkd", () => {
  it("prints a JSON report", () => {
    const r = run("--qubits", "50000", "--noise", "0.03", "--loss", "0.2", "--seed", "1", "--json");
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.ok).toBe(true);
    expect(rep.keys.identical).toBe(true);
    expect(rep.keys.alice.bits).toBe(rep.finalKeyLength);
    expect(Math.abs(rep.detected / 50000 - 0.8)).toBeLessThan(0.02);
  });

  const bad = [["--qubits", "abc"], ["--noise", "2"], ["--cascade", "nope"], ["--sweep", "x"], ["--frobnicate"], ["--eve"]];
  it.each(bad.map((a) => [a.join(" "), a] as const))("rejects bad arguments with exit code 2: %s", (_title, args) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^qkd: /);
    expect(r.stderr).toMatch(/usage:/);
  });
});
