/**
 * What both Cascade parties agree on before the first message: the configuration (variant, QBER
 * estimate, public seed), the block sizes it implies, and the result Bob reports.
 */
import { BitArray } from "../bits";
import { CASCADE_VARIANT_SPECS, CascadeRoundPolicy, CascadeVariant } from "./variants";

// Module-scope aliases: global lookups are slow inside vm contexts (Jest).
const { floor, min, max, ceil } = Math;

export interface CascadeConfig {
  variant: CascadeVariant;
  /** QBER estimate used to size the blocks (clamped to [1e-5, 0.5]). */
  qber: number;
  /** 32 public random bytes chosen by Bob and sent to Alice; both derive the same shuffles. */
  seed: Uint8Array;
  /** Test-sample size behind the estimate (bounds.ts: how many corrections an honest run can need). */
  sampleSize?: number;
}

export interface CascadeResult {
  bits: BitArray;
  disclosedBits: number;
  roundTrips: number;
  errorsCorrected: number;
}

export class CascadeProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CascadeProtocolError";
  }
}

const MIN_QBER = 1e-5;

export interface CascadeSchedule {
  passes: number;
  blockSize: number[];
  numBlocks: number[];
  inferLastBlock: boolean;
  rounds: CascadeRoundPolicy;
}

/** Block sizes both parties derive from (variant, qber, n). */
export function cascadeSchedule(variant: CascadeVariant, qber: number, n: number): CascadeSchedule {
  const spec = Object.hasOwn(CASCADE_VARIANT_SPECS, variant) ? CASCADE_VARIANT_SPECS[variant] : undefined;
  if (!spec) throw new CascadeProtocolError(`unknown Cascade variant ${String(variant)}`);
  if (typeof qber !== "number" || !Number.isFinite(qber) || qber < 0) {
    throw new CascadeProtocolError("Cascade: qber must be a finite number ≥ 0");
  }
  const q = min(0.5, max(MIN_QBER, qber));
  const blockSize: number[] = [];
  const numBlocks: number[] = [];
  for (let p = 0; p < spec.passes; p++) {
    const k = max(1, min(max(n, 1), floor(spec.blockSize(p, q, n))));
    blockSize.push(k);
    numBlocks.push(n === 0 ? 0 : ceil(n / k));
  }
  return { passes: spec.passes, blockSize, numBlocks, inferLastBlock: spec.inferLastBlock, rounds: { ...spec.rounds } };
}

/** Validate a party's key and configuration; returns the schedule both parties derive. */
export function checkConfig(bits: BitArray, cfg: CascadeConfig): CascadeSchedule {
  if (!(bits instanceof BitArray)) throw new CascadeProtocolError("Cascade: bits must be a BitArray");
  if (!cfg || !(cfg.seed instanceof Uint8Array) || cfg.seed.length !== 32) {
    throw new CascadeProtocolError("Cascade: seed must be 32 bytes");
  }
  if (bits.length >= 2 ** 26) throw new CascadeProtocolError("Cascade: key too long");
  return cascadeSchedule(cfg.variant, cfg.qber, bits.length);
}
