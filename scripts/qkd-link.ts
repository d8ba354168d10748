/**
 * npm run qkd -- --link decoy [--distance A:B:STEP | D1,D2,…] [--block 1e4,1e6,1e9] [--json] [link options]
 *
 * The fibre-link model of lib/qkd/decoy.ts (vacuum + weak decoy, finite-key bounds of Lim et al.,
 * PRA 89, 022307 (2014)): optimised secret key rate per pulse against distance for each block size,
 * and each block size's maximum distance. Called by scripts/qkd.ts when --link is given.
 */
import { DEFAULT_LINK, keyRateCurve, KeyRateCurve, LinkParams, MIN_RATE, validateLink } from "../lib/qkd/decoy";

export const LINK_USAGE = `usage: npm run qkd -- --link decoy [options]
  --distance A:B:S  distances in km, from A to B in steps of S (default 0:200:10), or a list 0,50,100
  --block LIST      block sizes n_X, e.g. 1e4,1e6,1e9 (default); "inf" for the asymptotic limit
  --alpha x         fibre loss in dB/km (default ${DEFAULT_LINK.attenuationDbPerKm})
  --eta-det x       detector efficiency (default ${DEFAULT_LINK.detectorEfficiency})
  --dark x          dark-count probability (default ${DEFAULT_LINK.darkCount})
  --afterpulse x    afterpulse probability (default ${DEFAULT_LINK.afterpulse})
  --misalignment x  misalignment error rate (default ${DEFAULT_LINK.misalignment})
  --f-ec x          error-correction efficiency (default ${DEFAULT_LINK.fEC})
  --eps-cor x       ε_cor (default ${DEFAULT_LINK.epsCor})
  --kappa x         ε_sec = κ·ℓ, the paper's choice (default κ = ${DEFAULT_LINK.kappa})
  --eps-sec x       a fixed ε_sec instead of κ·ℓ
  --mu3 x           third ("vacuum") intensity (default ${DEFAULT_LINK.mu3})
  --json            print JSON instead of a table`;

export class LinkUsageError extends Error {}

interface LinkCli {
  params: LinkParams;
  distances: number[];
  blocks: number[];
  json: boolean;
}

function parseNumber(flag: string, v: string | undefined): number {
  if (v === undefined || v.startsWith("--")) throw new LinkUsageError(`${flag} needs a value`);
  const x = Number(v.replace(/_/g, ""));
  if (!Number.isFinite(x)) throw new LinkUsageError(`${flag}: expected a number, got "${v}"`);
  return x;
}

function parseDistances(v: string | undefined): number[] {
  if (v === undefined || v.startsWith("--")) throw new LinkUsageError("--distance needs a value");
  let out: number[];
  if (v.includes(":")) {
    const parts = v.split(":").map((s) => Number(s));
    if (parts.length !== 3 || !parts.every(Number.isFinite) || parts[2] <= 0 || parts[1] < parts[0])
      throw new LinkUsageError(`--distance: expected A:B:STEP with A ≤ B and STEP > 0, got "${v}"`);
    const [a, b, s] = parts;
    const n = Math.floor((b - a) / s + 1e-9);
    if (n > 2000) throw new LinkUsageError(`--distance: at most 2001 points, got ${n + 1}`);
    out = Array.from({ length: n + 1 }, (_, i) => Math.round((a + i * s) * 1e9) / 1e9);
  } else out = v.split(",").map((s) => Number(s));
  if (!out.every((d) => Number.isFinite(d) && d >= 0 && d <= 1000)) throw new LinkUsageError(`--distance: distances must be in [0, 1000] km, got "${v}"`);
  return out;
}

function parseBlocks(v: string | undefined): number[] {
  if (v === undefined || v.startsWith("--")) throw new LinkUsageError("--block needs a value");
  const out = v.split(",").map((s) => (/^inf(inity)?$/i.test(s.trim()) ? Infinity : Number(s)));
  if (!out.every((n) => n === Infinity || (Number.isFinite(n) && n >= 1e2 && n <= 1e15)))
    throw new LinkUsageError(`--block: block sizes must be in [1e2, 1e15] or "inf", got "${v}"`);
  return out;
}

export function parseLinkArgs(argv: string[]): LinkCli {
  const cli: LinkCli = { params: { ...DEFAULT_LINK }, distances: parseDistances("0:200:10"), blocks: [1e4, 1e6, 1e9], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case "--link": {
        const v = value();
        if (v !== "decoy") throw new LinkUsageError(`--link: the only link model is "decoy", got "${v ?? ""}"`);
        break;
      }
      case "--distance":
        cli.distances = parseDistances(value());
        break;
      case "--block":
        cli.blocks = parseBlocks(value());
        break;
      case "--alpha":
        cli.params.attenuationDbPerKm = parseNumber(flag, value());
        break;
      case "--eta-det":
        cli.params.detectorEfficiency = parseNumber(flag, value());
        break;
      case "--dark":
        cli.params.darkCount = parseNumber(flag, value());
        break;
      case "--afterpulse":
        cli.params.afterpulse = parseNumber(flag, value());
        break;
      case "--misalignment":
        cli.params.misalignment = parseNumber(flag, value());
        break;
      case "--f-ec":
        cli.params.fEC = parseNumber(flag, value());
        break;
      case "--eps-cor":
        cli.params.epsCor = parseNumber(flag, value());
        break;
      case "--kappa":
        cli.params.kappa = parseNumber(flag, value());
        cli.params.epsSecMode = "perKeyBit";
        break;
      case "--eps-sec":
        cli.params.epsSec = parseNumber(flag, value());
        cli.params.epsSecMode = "fixed";
        break;
      case "--mu3":
        cli.params.mu3 = parseNumber(flag, value());
        break;
      case "--json":
        cli.json = true;
        break;
      default:
        throw new LinkUsageError(`unknown argument "${a}"`);
    }
  }
  try {
    validateLink(cli.params);
  } catch (e) {
    throw new LinkUsageError((e as Error).message);
  }
  return cli;
}

const blockLabel = (n: number) => (n === Infinity ? "n_X = ∞" : `n_X = 1e${Math.log10(n).toFixed(Number.isInteger(Math.log10(n)) ? 0 : 1)}`);

function printTable(cli: LinkCli, curves: KeyRateCurve[]) {
  const p = cli.params;
  console.log(
    `decoy-state BB84 link (Lim et al. 2014): α ${p.attenuationDbPerKm} dB/km, η_det ${p.detectorEfficiency}, p_dc ${p.darkCount}, p_ap ${p.afterpulse}, e_mis ${p.misalignment}, f_EC ${p.fEC}, ε_cor ${p.epsCor}, ${p.epsSecMode === "perKeyBit" ? `ε_sec = ${p.kappa}·ℓ` : `ε_sec ${p.epsSec}`}, μ3 ${p.mu3}`,
  );
  console.log("secret key rate per pulse ℓ/N, intensities and probabilities optimised per point");
  const header = ["km", ...curves.map((c) => blockLabel(c.nX))];
  const rows = cli.distances.map((d, i) => [String(d), ...curves.map((c) => (c.points[i].rate > 0 ? c.points[i].rate.toExponential(3) : "0"))]);
  rows.push(["max km", ...curves.map((c) => c.maxDistanceKm.toFixed(1))]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padStart(widths[c])).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log(`max km: largest distance with a rate ≥ ${MIN_RATE} per pulse`);
}

export function runLinkCli(argv: string[]): void {
  const cli = parseLinkArgs(argv);
  const curves = keyRateCurve(cli.params, cli.distances, cli.blocks);
  if (cli.json) {
    const fix = (n: number) => (n === Infinity ? "Infinity" : n);
    console.log(
      JSON.stringify(
        {
          link: "decoy",
          params: cli.params,
          minRate: MIN_RATE,
          curves: curves.map((c) => ({ ...c, nX: fix(c.nX), points: c.points.map((pt) => ({ ...pt, nX: fix(pt.nX) })) })),
        },
        null,
        2,
      ),
    );
  } else printTable(cli, curves);
}
