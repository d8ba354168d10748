/**
 * Cascade tuning / measurement script: f_EC, round trips and frame error rate per variant × QBER.
 * Usage: npx tsx bench/cascade-tune.ts [--n 10000] [--runs 200] [--variants a,b] [--qbers 0.01,0.02]
 *        [--errors exact|bernoulli|both] [--rt-limit 120] [--policy '{"lookahead":[[100,2]]}']
 * --policy registers variant "custom": yanetal-tuned's schedule with that CascadeRoundPolicy (JSON).
 * Errors are placed either as exactly round(Q·n) random positions (as cascade-cpp does) or
 * Bernoulli(Q) per bit. Block sizes use the actual error rate of the run (errors/n; equal to Q in
 * exact mode), and f_EC = disclosed / (n·h(actual)). fRatio = Σdisclosed / Σ n·h(actual).
 * FER = fraction of runs with any residual error after Cascade (before verification).
 * Round trips: mean, max, 99th percentile and the share of runs above --rt-limit (overRT).
 */
import { BitArray } from "../lib/qkd/bits";
import { seededRandom, randomBelow, randomFloat, RandomSource } from "../lib/qkd/rng";
import { CASCADE_VARIANTS, CASCADE_VARIANT_SPECS, CascadeVariant, runCascadeLocal } from "../lib/qkd/cascade";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const n = Number(arg("n", "10000"));
const runs = Number(arg("runs", "200"));
const policy = arg("policy", "");
if (policy) CASCADE_VARIANT_SPECS.custom = { ...CASCADE_VARIANT_SPECS["yanetal-tuned"], rounds: JSON.parse(policy) };
const variants = arg("variants", policy ? "custom" : CASCADE_VARIANTS.join(",")).split(",") as CascadeVariant[];
const qbers = arg("qbers", "0.01,0.02,0.03,0.05,0.08,0.1").split(",").map(Number);
const rtLimit = Number(arg("rt-limit", "120"));
const modes = arg("errors", "exact") === "both" ? ["exact", "bernoulli"] : [arg("errors", "exact")];

const h = (q: number) => (q <= 0 || q >= 1 ? 0 : -q * Math.log2(q) - (1 - q) * Math.log2(1 - q));

function noisy(a: BitArray, q: number, mode: string, rng: RandomSource): { b: BitArray; errs: number } {
  const b = a.clone();
  let errs = 0;
  if (mode === "exact") {
    const target = Math.round(q * a.length);
    const hit = new Uint8Array(a.length);
    while (errs < target) {
      const i = randomBelow(rng, a.length);
      if (!hit[i]) {
        hit[i] = 1;
        b.flip(i);
        errs++;
      }
    }
  } else {
    for (let i = 0; i < a.length; i++)
      if (randomFloat(rng) < q) {
        b.flip(i);
        errs++;
      }
  }
  return { b, errs };
}

const rows: unknown[] = [];
for (const mode of modes) {
  for (const variant of variants) {
    for (const q of qbers) {
      const rng = seededRandom(12345 + Math.round(q * 1e6));
      let sumF = 0,
        sumRT = 0,
        maxRT = 0,
        fails = 0,
        sumT = 0,
        sumDisc = 0,
        sumH = 0,
        over = 0;
      const rts: number[] = [];
      for (let r = 0; r < runs; r++) {
        const a = BitArray.random(n, rng);
        const { b, errs } = noisy(a, q, mode, rng);
        const seed = new Uint8Array(32);
        rng.fill(seed);
        const qa = errs / n;
        const t0 = performance.now();
        const res = runCascadeLocal(a, b, { variant, qber: qa, seed });
        sumT += performance.now() - t0;
        sumDisc += res.disclosedBits;
        sumH += n * h(qa);
        sumF += res.disclosedBits / (n * h(qa));
        sumRT += res.roundTrips;
        maxRT = Math.max(maxRT, res.roundTrips);
        if (res.roundTrips > rtLimit) over++;
        rts.push(res.roundTrips);
        const d = res.bits.xor(a).popcount();
        if (d !== 0) fails++;
      }
      const row = {
        mode,
        variant,
        n,
        qber: q,
        runs,
        f: +(sumF / runs).toFixed(4),
        fRatio: +(sumDisc / sumH).toFixed(4),
        rt: +(sumRT / runs).toFixed(1),
        maxRT,
        p99RT: rts.sort((x, y) => x - y)[Math.min(runs - 1, Math.floor(0.99 * runs))],
        overRT: +(over / runs).toFixed(4),
        fer: fails / runs,
        ms: +(sumT / runs).toFixed(2),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
