/**
 * The lab's setup in the URL, so a teacher can share it: every parameter is one query field,
 * written only when it differs from the default. Reading is strict per field: a value that is not
 * a number, or is out of range, is ignored (the default stays) and named in `ignored`, so the page
 * can say so instead of running something else than the link promised.
 */
import { CASCADE_VARIANTS, type CascadeVariant } from "@/lib/qkd/cascade";
import { DEFAULT_SWEEPS, SWEEP_LIMITS, type BlockSizeSweepSpec, type CascadeSweepSpec, type EveSweepSpec, type KeyFractionSweepSpec } from "@/lib/qkd/sweeps";
import { DEFAULT_LINK } from "@/lib/qkd/decoy";
import { LINK_LIMITS, linkDistances, type LinkSpec } from "./link-job";
import { WALKTHROUGH_MAX_QUBITS, WALKTHROUGH_MIN_QUBITS } from "@/lib/qkd/walkthrough";

export interface WalkState {
  qubits: number;
  seed: number;
  noise: number;
  eve: number;
  /** Index of the step shown (0-based). */
  step: number;
}

export interface LabState {
  walk: WalkState;
  eve: EveSweepSpec;
  keyFraction: KeyFractionSweepSpec;
  cascade: CascadeSweepSpec;
  blockSize: BlockSizeSweepSpec;
  link: LinkSpec;
}

type NumField = { key: string; min: number; max: number; int?: boolean; get: (s: LabState) => number; set: (s: LabState, v: number) => void };
type ListField = {
  key: string;
  min: number;
  max: number;
  int?: boolean;
  maxLen: number;
  get: (s: LabState) => number[];
  set: (s: LabState, v: number[]) => void;
};

const SEED_MAX = 0xffffffff;

const NUM_FIELDS: NumField[] = [
  { key: "wq", min: WALKTHROUGH_MIN_QUBITS, max: WALKTHROUGH_MAX_QUBITS, int: true, get: (s) => s.walk.qubits, set: (s, v) => (s.walk.qubits = v) },
  { key: "wseed", min: 0, max: SEED_MAX, int: true, get: (s) => s.walk.seed, set: (s, v) => (s.walk.seed = v) },
  { key: "wnoise", min: 0, max: 0.5, get: (s) => s.walk.noise, set: (s, v) => (s.walk.noise = v) },
  { key: "weve", min: 0, max: 1, get: (s) => s.walk.eve, set: (s, v) => (s.walk.eve = v) },
  { key: "wstep", min: 0, max: 100, int: true, get: (s) => s.walk.step, set: (s, v) => (s.walk.step = v) },
  {
    key: "seed",
    min: 0,
    max: SEED_MAX,
    int: true,
    get: (s) => s.eve.seed,
    set: (s, v) => (s.eve.seed = s.keyFraction.seed = s.cascade.seed = s.blockSize.seed = v),
  },
  { key: "eq", min: 1000, max: SWEEP_LIMITS.maxQubits, int: true, get: (s) => s.eve.qubits, set: (s, v) => (s.eve.qubits = v) },
  { key: "enoise", min: 0, max: 0.5, get: (s) => s.eve.noise, set: (s, v) => (s.eve.noise = v) },
  { key: "efmax", min: 0, max: 1, get: (s) => s.eve.fMax, set: (s, v) => (s.eve.fMax = v) },
  { key: "epts", min: 1, max: SWEEP_LIMITS.maxPoints, int: true, get: (s) => s.eve.points, set: (s, v) => (s.eve.points = v) },
  { key: "kq", min: 1000, max: SWEEP_LIMITS.maxQubits, int: true, get: (s) => s.keyFraction.qubits, set: (s, v) => (s.keyFraction.qubits = v) },
  { key: "kqmax", min: 0, max: 0.2, get: (s) => s.keyFraction.qMax, set: (s, v) => (s.keyFraction.qMax = v) },
  { key: "kpts", min: 1, max: SWEEP_LIMITS.maxPoints, int: true, get: (s) => s.keyFraction.points, set: (s, v) => (s.keyFraction.points = v) },
  { key: "cbits", min: 100, max: SWEEP_LIMITS.maxKeyBits, int: true, get: (s) => s.cascade.keyBits, set: (s, v) => (s.cascade.keyBits = v) },
  { key: "cqmin", min: 0.001, max: 0.25, get: (s) => s.cascade.qMin, set: (s, v) => (s.cascade.qMin = v) },
  { key: "cqmax", min: 0.001, max: 0.25, get: (s) => s.cascade.qMax, set: (s, v) => (s.cascade.qMax = v) },
  { key: "cpts", min: 1, max: SWEEP_LIMITS.maxPoints, int: true, get: (s) => s.cascade.points, set: (s, v) => (s.cascade.points = v) },
  { key: "la", min: 0, max: 10, get: (s) => s.link.params.attenuationDbPerKm, set: (s, v) => (s.link.params.attenuationDbPerKm = v) },
  { key: "ldet", min: 1e-6, max: 1, get: (s) => s.link.params.detectorEfficiency, set: (s, v) => (s.link.params.detectorEfficiency = v) },
  { key: "ldc", min: 0, max: 0.49, get: (s) => s.link.params.darkCount, set: (s, v) => (s.link.params.darkCount = v) },
  { key: "lap", min: 0, max: 0.99, get: (s) => s.link.params.afterpulse, set: (s, v) => (s.link.params.afterpulse = v) },
  { key: "lmis", min: 0, max: 0.49, get: (s) => s.link.params.misalignment, set: (s, v) => (s.link.params.misalignment = v) },
  { key: "lfec", min: 1, max: 10, get: (s) => s.link.params.fEC, set: (s, v) => (s.link.params.fEC = v) },
  { key: "lepscor", min: 1e-30, max: 0.1, get: (s) => s.link.params.epsCor, set: (s, v) => (s.link.params.epsCor = v) },
  { key: "lkappa", min: 1e-30, max: 1e-4, get: (s) => s.link.params.kappa, set: (s, v) => (s.link.params.kappa = v) },
  { key: "ldmax", min: 0, max: LINK_LIMITS.maxDistanceKm, get: (s) => s.link.dMax, set: (s, v) => (s.link.dMax = v) },
  { key: "lstep", min: LINK_LIMITS.minStepKm, max: LINK_LIMITS.maxDistanceKm, get: (s) => s.link.dStep, set: (s, v) => (s.link.dStep = v) },
  { key: "bnoise", min: 0, max: 0.5, get: (s) => s.blockSize.noise, set: (s, v) => (s.blockSize.noise = v) },
];

const LIST_FIELDS: ListField[] = [
  {
    key: "kblocks",
    min: 100,
    max: 1e12,
    int: true,
    maxLen: SWEEP_LIMITS.maxBlocks,
    get: (s) => s.keyFraction.blocks,
    set: (s, v) => (s.keyFraction.blocks = v),
  },
  { key: "lblocks", min: 1e4, max: 1e12, int: true, maxLen: LINK_LIMITS.maxBlocks, get: (s) => s.link.blocks, set: (s, v) => (s.link.blocks = v) },
  {
    key: "bsizes",
    min: 1000,
    max: SWEEP_LIMITS.maxQubits,
    int: true,
    maxLen: SWEEP_LIMITS.maxBlocks,
    get: (s) => s.blockSize.sizes,
    set: (s, v) => (s.blockSize.sizes = v),
  },
];

export function defaultLabState(): LabState {
  return {
    walk: { qubits: 16, seed: 1, noise: 0.05, eve: 0, step: 0 },
    eve: { ...DEFAULT_SWEEPS.eve },
    keyFraction: { ...DEFAULT_SWEEPS.keyFraction, blocks: [...DEFAULT_SWEEPS.keyFraction.blocks] },
    cascade: { ...DEFAULT_SWEEPS.cascade, variants: [...DEFAULT_SWEEPS.cascade.variants] },
    blockSize: { ...DEFAULT_SWEEPS.blockSize, sizes: [...DEFAULT_SWEEPS.blockSize.sizes] },
    link: { params: { ...DEFAULT_LINK }, dMax: 200, dStep: 10, blocks: [1e4, 1e6, 1e8, 1e9] },
  };
}

function parseNum(raw: string, f: { min: number; max: number; int?: boolean }): number | null {
  if (!/^[-+0-9.eE]+$/.test(raw)) return null;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < f.min || v > f.max || (f.int && !Number.isInteger(v))) return null;
  return v;
}

export function parseLabParams(sp: URLSearchParams): { state: LabState; ignored: string[] } {
  const state = defaultLabState();
  const ignored: string[] = [];
  for (const f of NUM_FIELDS) {
    const raw = sp.get(f.key);
    if (raw === null) continue;
    const v = parseNum(raw, f);
    if (v === null) ignored.push(f.key);
    else f.set(state, v);
  }
  for (const f of LIST_FIELDS) {
    const raw = sp.get(f.key);
    if (raw === null) continue;
    const parts = raw.split(",").map((p) => parseNum(p.trim(), f));
    if (parts.length === 0 || parts.length > f.maxLen || parts.some((p) => p === null)) ignored.push(f.key);
    else f.set(state, parts as number[]);
  }
  const vars = sp.get("cvars");
  if (vars !== null) {
    const list = vars.split(",");
    if (list.length && list.every((v) => (CASCADE_VARIANTS as readonly string[]).includes(v))) state.cascade.variants = [...new Set(list)] as CascadeVariant[];
    else ignored.push("cvars");
  }
  if (state.cascade.qMax < state.cascade.qMin) {
    ignored.push("cqmax");
    state.cascade.qMax = Math.max(state.cascade.qMin, DEFAULT_SWEEPS.cascade.qMax);
  }
  if (linkDistances(state.link).length > LINK_LIMITS.maxDistances || state.link.dStep > Math.max(1, state.link.dMax)) {
    ignored.push("lstep");
    state.link.dStep = Math.max(LINK_LIMITS.minStepKm, Math.ceil(state.link.dMax / (LINK_LIMITS.maxDistances - 1)));
  }
  return { state, ignored };
}

/** The query string for a state: only fields that differ from the defaults, in a stable order. */
export function labParamsString(state: LabState): string {
  const def = defaultLabState();
  const sp = new URLSearchParams();
  for (const f of NUM_FIELDS) if (f.get(state) !== f.get(def)) sp.set(f.key, String(f.get(state)));
  for (const f of LIST_FIELDS) {
    const v = f.get(state);
    if (v.join(",") !== f.get(def).join(",")) sp.set(f.key, v.join(","));
  }
  if (state.cascade.variants.join(",") !== def.cascade.variants.join(",")) sp.set("cvars", state.cascade.variants.join(","));
  return sp.toString().replace(/%2C/g, ",");
}
