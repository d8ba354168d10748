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

describe("npm run qkd -- --link decoy", () => {
  it("prints the optimised rate and the maximum distance per block size as JSON", () => {
    const r = run("--link", "decoy", "--distance", "0:100:50", "--block", "1e5,1e9", "--json");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.curves.map((c: { nX: number }) => c.nX)).toEqual([1e5, 1e9]);
    for (const c of out.curves) {
      expect(c.points.map((p: { distanceKm: number }) => p.distanceKm)).toEqual([0, 50, 100]);
      // rates fall with distance; the link dies somewhere between 100 and 250 km
      expect(c.points[0].rate).toBeGreaterThan(c.points[1].rate);
      expect(c.points[1].rate).toBeGreaterThan(c.points[2].rate);
      expect(c.maxDistanceKm).toBeGreaterThan(100);
      expect(c.maxDistanceKm).toBeLessThan(250);
    }
    expect(out.curves[1].maxDistanceKm).toBeGreaterThan(out.curves[0].maxDistanceKm);
  });

  it("prints a table by default", () => {
    const r = run("--link", "decoy", "--distance", "0,50", "--block", "1e6");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/n_X = 1e6/);
    expect(r.stdout).toMatch(/max km/);
  });

  const bad = [
    ["--link", "laser"],
    ["--link", "decoy", "--block", "5"],
    ["--link", "decoy", "--distance", "10:0:5"],
    ["--link", "decoy", "--eta-det", "0"],
    ["--link", "decoy", "--wat"],
  ];
  it.each(bad.map((a) => [a.join(" "), a] as const))("rejects bad arguments with exit code 2: %s", (_title, args) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^qkd: /);
    expect(r.stderr).toMatch(/usage: npm run qkd -- --link decoy/);
  });
});
