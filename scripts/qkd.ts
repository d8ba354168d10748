/**
 * npm run qkd -- [--qubits N] [--noise e] [--loss p] [--dark d] [--eve f] [--cascade VARIANT]
 *                [--eps-sec x] [--eps-cor x] [--seed S] [--json] [--show-keys] [--sweep eve|noise]
 * npm run qkd -- --link decoy [--distance 0:200:10] [--block 1e4,1e6,1e9] [--json]   (scripts/qkd-link.ts)
 *
 * Runs Alice and Bob in this process (lib/qkd runLocal) and prints the report, or sweeps Eve's
 * intercept fraction / the channel noise and prints measured vs expected QBER and key fractions.
 */
import { createHash } from "node:crypto";
import { BitArray } from "../lib/qkd/bits";
import { CASCADE_VARIANT_NAMES, CASCADE_VARIANTS, CascadeVariant, DEFAULT_CASCADE_VARIANT } from "../lib/qkd/cascade";
import { expectedQber } from "../lib/qkd/channel";
import { asymptoticKeyFraction, binaryEntropy } from "../lib/qkd/entropy";
import { finiteKeyLength, verificationHashBits } from "../lib/qkd/finite-key";
import { QkdReport } from "../lib/qkd/report";
import { runLocal, RunOptions } from "../lib/qkd/run";
import { LINK_USAGE, LinkUsageError, runLinkCli } from "./qkd-link";

const USAGE = `usage: npm run qkd -- [options]
  --qubits N        qubits Alice sends (default 1000000; sweeps 524288)
  --noise e         channel bit error rate, 0..1 (default 0.02)
  --loss p          probability a qubit is lost, 0..1 (default 0)
  --dark d          dark-count probability per slot, 0..1 (default 0)
  --eve f           fraction intercepted and resent by Eve, 0..1 (default 0)
  --cascade V       Cascade variant (default ${DEFAULT_CASCADE_VARIANT}): ${CASCADE_VARIANTS.map((v) => `${v} "${CASCADE_VARIANT_NAMES[v].label}"`).join(", ")}
  --eps-sec x       secrecy parameter ε_sec (default 1e-10)
  --eps-cor x       correctness parameter ε_cor (default 1e-15)
  --seed S          reproducible run from integer seed S (simulation only, not for keys)
  --sweep eve|noise sweep Eve's fraction (0..0.5) or the noise (0..0.12)
  --json            print JSON instead of a table
  --show-keys       include both final keys in full (hex)
  --link decoy      the fibre-link model instead (see npm run qkd -- --link decoy --help)`;

class UsageError extends Error {}

interface Cli {
  run: RunOptions;
  json: boolean;
  showKeys: boolean;
  sweep: "eve" | "noise" | null;
  qubitsGiven: boolean;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { run: {}, json: false, showKeys: false, sweep: null, qubitsGiven: false };
  const num = (flag: string, v: string | undefined, lo: number, hi: number, integer = false): number => {
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    const x = Number(v.replace(/_/g, ""));
    if (!Number.isFinite(x) || x < lo || x > hi || (integer && !Number.isInteger(x))) {
      throw new UsageError(`${flag}: expected ${integer ? "an integer" : "a number"} in [${lo}, ${hi}], got "${v}"`);
    }
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case "--qubits":
        cli.run.qubits = num(flag, value(), 64, 1 << 25, true);
        cli.qubitsGiven = true;
        break;
      case "--noise":
        cli.run.noise = num(flag, value(), 0, 1);
        break;
      case "--loss":
        cli.run.loss = num(flag, value(), 0, 0.999999);
        break;
      case "--dark":
        cli.run.darkCount = num(flag, value(), 0, 1);
        break;
      case "--eve":
        cli.run.eve = num(flag, value(), 0, 1);
        break;
      case "--eps-sec":
        cli.run.epsSec = num(flag, value(), 1e-300, 0.5);
        break;
      case "--eps-cor":
        cli.run.epsCor = num(flag, value(), 1e-300, 0.5);
        break;
      case "--seed":
        cli.run.seed = num(flag, value(), 0, 0xffffffff, true);
        break;
      case "--cascade": {
        const v = value();
        if (!v || !(CASCADE_VARIANTS as readonly string[]).includes(v))
          throw new UsageError(`--cascade: unknown variant "${v ?? ""}" (known: ${CASCADE_VARIANTS.join(", ")})`);
        cli.run.cascade = v as CascadeVariant;
        break;
      }
      case "--sweep": {
        const v = value();
        if (v !== "eve" && v !== "noise") throw new UsageError(`--sweep: expected "eve" or "noise", got "${v ?? ""}"`);
        cli.sweep = v;
        break;
      }
      case "--json":
        cli.json = true;
        break;
      case "--show-keys":
        cli.showKeys = true;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        return process.exit(0);
      default:
        throw new UsageError(`unknown argument "${a}"`);
    }
  }
  return cli;
}

const hex = (b: BitArray) => Buffer.from(b.toBytes()).toString("hex");
const fingerprint = (b: BitArray) => createHash("sha256").update(b.toBytes()).digest("hex").slice(0, 16);
const pct = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(d)}%`);
const ms = (x: number) => `${x.toFixed(1)} ms`;

function jsonReport(r: QkdReport, showKeys: boolean) {
  const key = (b: BitArray | null) => (b === null ? null : showKeys ? hex(b) : { bits: b.length, sha256Prefix: fingerprint(b) });
  return { ...r, keys: { alice: key(r.keys.alice), bob: key(r.keys.bob), identical: r.keys.identical } };
}

function printTable(r: QkdReport, showKeys: boolean) {
  const rows: [string, string][] = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  const p = r.params;
  add(
    "result",
    r.ok ? "OK — keys identical" : `ABORTED (${r.abort!.code}, detected by ${r.abort!.party}${r.abort!.by === "peer" ? " via peer" : ""}): ${r.abort!.message}`,
  );
  add("channel", `noise ${pct(p.noise)}, loss ${pct(p.loss)}, dark counts ${p.darkCount}, Eve ${pct(p.eve, 0)}`);
  add("qubits sent / detected", `${r.qubitsSent} / ${r.detected}`);
  add("sifted", `${r.sifted} (${pct(r.detected ? r.sifted / r.detected : 0)} of detections)`);
  add("test sample / key bits", `${r.testSampleSize} / ${r.keyBits}`);
  if (r.qber) {
    add("QBER expected", pct(r.qber.expected, 3));
    add(
      "QBER measured",
      `${pct(r.qber.estimate, 3)} (${r.qber.sampleErrors}/${r.testSampleSize}), 95% CI [${pct(r.qber.interval95[0], 3)}, ${pct(r.qber.interval95[1], 3)}]`,
    );
    add("QBER bound Q + μ", `${pct(r.qber.upper, 3)} (μ = ${pct(r.qber.mu, 3)})`);
    add("QBER of key (simulation)", pct(r.qber.actual, 3));
  }
  if (r.cascade) {
    const c = r.cascade;
    add("Cascade", `${c.variant}: ${c.errorsCorrected} errors corrected (true ${c.actualErrors}, residual ${c.residualErrors}), ${c.roundTrips} round trips`);
    add("disclosed bits / f_EC", `${c.disclosedBits} / ${c.fEC?.toFixed(3) ?? "—"} (with estimated Q: ${c.fECEstimated?.toFixed(3) ?? "—"})`);
  }
  if (r.verification) add("verification", `${r.verification.hashBits}-bit Toeplitz hash: ${r.verification.passed ? "match" : "MISMATCH"}`);
  add("leak_EC / security cost", `${r.finiteKey.leakEC ?? "—"} / ${r.finiteKey.securityCostBits.toFixed(1)} bits`);
  add("final key ℓ", `${r.finalKeyLength} bits (${pct(r.finiteKey.keyFraction)} of sifted; asymptotic 1 − 2h(Q) = ${pct(r.finiteKey.asymptoticFraction)})`);
  const e = r.eve;
  add("Eve (simulation)", `intercepted ${e.intercepted}; knows ${e.siftedKnownBits} sifted bits (${pct(e.siftedKnownFraction)}), ${e.keyKnownBits} key bits`);
  add("Eve before PA", `≤ ${e.keyInformationBound} bits (known bits + disclosed parities)`);
  if (r.ok)
    add(
      "Eve on final key",
      `≤ ${e.finalKeyInformationBound.toExponential(2)} bits (ε_sec bound)${e.finalKeyGuessAgreement !== null ? `; her best guess matches ${pct(e.finalKeyGuessAgreement)} of bits` : ""}`,
    );
  const t = r.timings;
  add(
    "time",
    `total ${ms(t.total)}: channel ${ms(t.channel)}, qubits ${ms(t.qubits)}, sifting ${ms(t.sifting)}, estimation ${ms(t.estimation)}, cascade ${ms(t.cascade)}, verification ${ms(t.verification)}, amplification ${ms(t.amplification)}`,
  );
  add("messages", `${r.traffic.messages} (${r.traffic.bytesAliceToBob} B Alice→Bob, ${r.traffic.bytesBobToAlice} B Bob→Alice)`);
  for (const [who, k] of [
    ["Alice's key", r.keys.alice],
    ["Bob's key", r.keys.bob],
  ] as const) {
    if (k) add(who, showKeys ? hex(k) : `${k.length} bits, sha256 ${fingerprint(k)}…, starts ${hex(k).slice(0, 32)}…`);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

interface SweepRow {
  [key: string]: unknown;
  expectedQber: number;
  measuredQber: number | null;
  ci95: [number, number] | null;
  keyFraction: number;
  asymptotic: number;
  finiteKeyBound: number | null;
  ok: boolean;
  abort: string | null;
  ell: number;
}

function sweep(cli: Cli) {
  const steps = cli.sweep === "eve" ? Array.from({ length: 11 }, (_, i) => i * 0.05) : Array.from({ length: 13 }, (_, i) => i * 0.01);
  const base: RunOptions = { ...cli.run, qubits: cli.qubitsGiven ? cli.run.qubits : 1 << 19 };
  const rows: SweepRow[] = [];
  for (const [i, x] of steps.entries()) {
    const opts: RunOptions = { ...base, [cli.sweep!]: x, ...(base.seed !== undefined && { seed: base.seed + i }) };
    const r = runLocal(opts);
    const q = r.qber;
    // Finite-key bound for this block with ideal error correction (leak = n·h(Q̂) + t), as a fraction of the sifted bits.
    let fkb: number | null = null;
    if (q && r.keyBits > 0) {
      const t = verificationHashBits(r.params.epsCor);
      const fk = finiteKeyLength({
        n: r.keyBits,
        k: r.testSampleSize,
        qber: q.estimate,
        leakEC: r.keyBits * binaryEntropy(Math.min(0.5, q.estimate)) + t,
        epsSec: r.params.epsSec,
        epsCor: r.params.epsCor,
      });
      fkb = Math.max(0, fk.ell) / r.sifted;
    }
    const exp = expectedQber(r.params);
    rows.push({
      [cli.sweep!]: x,
      expectedQber: exp,
      measuredQber: q?.estimate ?? null,
      ci95: q?.interval95 ?? null,
      keyFraction: r.finiteKey.keyFraction,
      asymptotic: asymptoticKeyFraction(exp),
      finiteKeyBound: fkb,
      ok: r.ok,
      abort: r.abort ? r.abort.code : null,
      ell: r.finalKeyLength,
    });
  }
  if (cli.json) {
    console.log(JSON.stringify({ sweep: cli.sweep, qubits: base.qubits, params: { ...base }, rows }, null, 2));
    return;
  }
  const p0 = { ...base };
  console.log(
    `sweep ${cli.sweep}: ${base.qubits} qubits per run, noise ${cli.sweep === "noise" ? "swept" : pct(p0.noise ?? 0.02)}, Eve ${cli.sweep === "eve" ? "swept" : pct(p0.eve ?? 0, 0)}`,
  );
  console.log(
    'key fraction = ℓ / sifted bits; 1 − 2h(Q) at the expected Q; "TLGR, f_EC = 1" = finite-key ℓ of this block (same n, k, Q̂) if error correction leaked exactly n·h(Q̂), / sifted',
  );
  const header = [cli.sweep === "eve" ? "Eve f" : "noise e", "expected Q", "measured Q", "95% CI", "key fraction", "1 − 2h(Q)", "TLGR, f_EC = 1", "outcome"];
  const table = rows.map((r) => [
    (r[cli.sweep!] as number).toFixed(2),
    pct(r.expectedQber),
    pct(r.measuredQber),
    r.ci95 ? `[${pct(r.ci95[0])}, ${pct(r.ci95[1])}]` : "—",
    pct(r.keyFraction),
    pct(r.asymptotic),
    pct(r.finiteKeyBound),
    r.ok ? `ok, ℓ = ${r.ell}` : (r.abort ?? ""),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c])).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of table) console.log(line(row));
}

function main() {
  const argv = process.argv.slice(2);
  if (argv.some((a) => a === "--link" || a.startsWith("--link="))) {
    if (argv.includes("--help") || argv.includes("-h")) return console.log(LINK_USAGE);
    try {
      return runLinkCli(argv);
    } catch (e) {
      if (e instanceof LinkUsageError || e instanceof RangeError) {
        console.error(`qkd: ${e.message}\n\n${LINK_USAGE}`);
        process.exit(2);
      }
      throw e;
    }
  }
  let cli: Cli;
  try {
    cli = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`qkd: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw e;
  }
  if (cli.sweep) return sweep(cli);
  const r = runLocal({ qubits: 1_000_000, ...cli.run });
  if (cli.json) console.log(JSON.stringify(jsonReport(r, cli.showKeys), null, 2));
  else printTable(r, cli.showKeys);
}

main();
