"use client";
import { CartesianGrid, ComposedChart, ErrorBar, Legend, Line, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from "recharts";
import { CASCADE_VARIANTS, type CascadeVariant } from "@/lib/qkd/cascade";
import {
  sweepTable,
  SWEEP_LIMITS,
  type BlockSizePoint,
  type CascadePoint,
  type EvePoint,
  type KeyFractionPoint,
  type SweepPoint,
  type SweepSpec,
} from "@/lib/qkd/sweeps";
import type { LabState } from "@/lib/lab/url-state";
import { ChartFigure } from "./chart-figure";
import { JobControls } from "./job-controls";
import { ListInput, SpecNumbers } from "./inputs";
import { useJob, type JobState } from "./use-job";

const COLORS = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#db2777", "#7c3aed", "#ea580c", "#64748b"];
const OK = "var(--qs-ok)";
const DANGER = "var(--qs-danger)";
const AXIS = { stroke: "var(--qs-muted)", tick: { fontSize: 11, fill: "var(--qs-muted)" } };
const pctTick = (v: number) => `${Math.round(v * 1000) / 10}%`;
/** 200000 → "2·10^5", 1e6 → "10^6", 5000 → "5000". */
export function sci(v: number): string {
  if (v < 1e4) return String(v);
  const e = Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round((v / 10 ** e) * 10) / 10;
  return m === 1 ? `10^${e}` : `${m}·10^${e}`;
}

/** The points of a finished or running job, when they belong to the spec kind shown. */
function pointsOf<P extends SweepPoint>(state: JobState, kind: SweepSpec["kind"]): { spec: SweepSpec; points: P[] } | null {
  if (!state.job || state.job.kind !== "sweep" || state.job.spec.kind !== kind) return null;
  return { spec: state.job.spec, points: state.points.filter(Boolean) as P[] };
}

function tableOf(d: { spec: SweepSpec; points: SweepPoint[] } | null) {
  return d ? sweepTable(d.spec, d.points) : null;
}

function Outside({ n, total }: { n: number; total: number }) {
  return (
    <span data-testid="outside-count" data-count={n}>
      {n === 0
        ? `All ${total} measured points' 95% intervals contain the theory.`
        : `${n} of ${total} runs land outside their 95% interval (marked with a red +): about 1 in 20 is expected by chance.`}
    </span>
  );
}

export function EveSweep({ spec, onSpec }: { spec: LabState["eve"]; onSpec: (s: LabState["eve"]) => void }) {
  const { state, run, cancel } = useJob();
  const d = pointsOf<EvePoint>(state, "eve");
  const pts = d?.points ?? [];
  const inside = pts.filter((p) => !p.outside && Number.isFinite(p.qber)).map((p) => ({ x: p.f, y: p.qber, err: [p.qber - p.lo, p.hi - p.qber] }));
  const outside = pts.filter((p) => p.outside).map((p) => ({ x: p.f, y: p.qber, err: [p.qber - p.lo, p.hi - p.qber] }));
  const theory = Array.from({ length: 41 }, (_, i) => {
    const f = (spec.fMax * i) / 40;
    return { x: f, theory: spec.noise + f / 4 - (spec.noise * f) / 2 };
  });
  const running = state.status === "running";
  return (
    <section aria-labelledby="sweep-eve" className="space-y-3 rounded-xl border border-line bg-panel p-3" data-testid="sweep-eve">
      <h3 id="sweep-eve" className="font-semibold">
        QBER against the eavesdropper
      </h3>
      <div className="flex flex-wrap gap-3">
        <SpecNumbers
          spec={spec}
          onSpec={onSpec}
          disabled={running}
          fields={[
            { key: "qubits", label: "Qubits per run", id: "eq", min: 1000, max: SWEEP_LIMITS.maxQubits, step: 1 },
            { key: "noise", label: "Channel error e", id: "enoise", min: 0, max: 0.5, step: 0.005 },
            { key: "fMax", label: "Largest f", id: "efmax", min: 0, max: 1, step: 0.1 },
            { key: "points", label: "Points", id: "epts", min: 1, max: SWEEP_LIMITS.maxPoints, step: 1 },
          ]}
        />
      </div>
      <JobControls id="eve" state={state} onRun={() => run({ kind: "sweep", spec })} onCancel={cancel} />
      <ChartFigure
        id="eve"
        title="QBER vs fraction f of photons Eve intercepts"
        caption="Line: theory e + f/4 − e·f/2. Points: the engine's QBER on its test sample with a 95% Clopper–Pearson interval; a red + when the theory is outside it."
        table={tableOf(d)}
        summary={pts.length > 0 && <Outside n={outside.length} total={pts.length} />}
      >
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart margin={{ top: 8, right: 12, bottom: 18, left: 4 }}>
            <CartesianGrid strokeDasharray="2 4" stroke="var(--qs-line)" />
            <XAxis
              dataKey="x"
              type="number"
              domain={[0, spec.fMax || 1]}
              {...AXIS}
              label={{ value: "Eve fraction f", position: "insideBottom", offset: -10, fontSize: 11 }}
            />
            <YAxis type="number" tickFormatter={pctTick} {...AXIS} width={48} />
            <Tooltip formatter={(v) => (typeof v === "number" ? pctTick(v) : String(v))} />
            <Legend verticalAlign="top" height={24} wrapperStyle={{ fontSize: 11 }} />
            <Line data={theory} dataKey="theory" name="theory" dot={false} stroke={COLORS[0]} isAnimationActive={false} />
            <Scatter data={inside} dataKey="y" name="measured" fill={OK} isAnimationActive={false}>
              <ErrorBar dataKey="err" direction="y" stroke={OK} width={4} />
            </Scatter>
            <Scatter data={outside} dataKey="y" name="outside 95% interval" fill={DANGER} shape="cross" isAnimationActive={false}>
              <ErrorBar dataKey="err" direction="y" stroke={DANGER} width={4} />
            </Scatter>
          </ComposedChart>
        </ResponsiveContainer>
      </ChartFigure>
    </section>
  );
}

export function KeyFractionSweep({ spec, onSpec }: { spec: LabState["keyFraction"]; onSpec: (s: LabState["keyFraction"]) => void }) {
  const { state, run, cancel } = useJob();
  const d = pointsOf<KeyFractionPoint>(state, "keyFraction");
  const pts = d?.points ?? [];
  const blocks = (d?.spec.kind === "keyFraction" ? d.spec.blocks : spec.blocks).map(String);
  const rows = pts.map((p) => ({ x: p.q, asymptotic: p.asymptotic, measured: p.measured, ...Object.fromEntries(blocks.map((b) => [`N${b}`, p.finite[b]])) }));
  const outside = pts.filter((p) => p.outside).length;
  const running = state.status === "running";
  return (
    <section aria-labelledby="sweep-kf" className="space-y-3 rounded-xl border border-line bg-panel p-3" data-testid="sweep-keyFraction">
      <h3 id="sweep-kf" className="font-semibold">
        Secret key fraction against QBER
      </h3>
      <div className="flex flex-wrap gap-3">
        <SpecNumbers
          spec={spec}
          onSpec={onSpec}
          disabled={running}
          fields={[
            { key: "qubits", label: "Qubits per run", id: "kq", min: 1000, max: SWEEP_LIMITS.maxQubits, step: 1 },
            { key: "qMax", label: "Largest QBER", id: "kqmax", min: 0, max: 0.2, step: 0.01 },
            { key: "points", label: "Points", id: "kpts", min: 1, max: SWEEP_LIMITS.maxPoints, step: 1 },
          ]}
        />
        <ListInput
          label="Block sizes N (sifted bits)"
          id="kblocks"
          value={spec.blocks}
          min={100}
          max={1e12}
          maxLen={SWEEP_LIMITS.maxBlocks}
          onValue={(v) => onSpec({ ...spec, blocks: v })}
          disabled={running}
        />
      </div>
      <JobControls id="keyFraction" state={state} onRun={() => run({ kind: "sweep", spec })} onCancel={cancel} />
      <ChartFigure
        id="keyFraction"
        title="Key bits per sifted bit vs QBER"
        caption="Asymptotic 1 − 2h(Q) (Shor–Preskill); the engine's finite-key length ℓ/N at each block size N (its own test-sample size, f_EC = 1.1); points: ℓ / sifted bits of full engine runs."
        table={tableOf(d)}
        summary={pts.length > 0 && <Outside n={outside} total={pts.length} />}
      >
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 18, left: 4 }}>
            <CartesianGrid strokeDasharray="2 4" stroke="var(--qs-line)" />
            <XAxis
              dataKey="x"
              type="number"
              domain={[0, spec.qMax || 0.1]}
              tickFormatter={pctTick}
              {...AXIS}
              label={{ value: "QBER", position: "insideBottom", offset: -10, fontSize: 11 }}
            />
            <YAxis type="number" domain={[0, 1]} {...AXIS} width={40} />
            <Tooltip />
            <Legend verticalAlign="top" height={24} wrapperStyle={{ fontSize: 11 }} />
            <Line dataKey="asymptotic" name="1 − 2h(Q)" stroke={COLORS[7]} strokeDasharray="5 3" dot={false} isAnimationActive={false} />
            {blocks.map((b, i) => (
              <Line key={b} dataKey={`N${b}`} name={`N = ${sci(Number(b))}`} stroke={COLORS[i % 7]} dot={false} isAnimationActive={false} />
            ))}
            <Scatter dataKey="measured" name={`engine, ${sci(spec.qubits)} qubits`} fill={OK} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </ChartFigure>
    </section>
  );
}

export function CascadeSweep({ spec, onSpec }: { spec: LabState["cascade"]; onSpec: (s: LabState["cascade"]) => void }) {
  const { state, run, cancel } = useJob();
  const d = pointsOf<CascadePoint>(state, "cascade");
  const pts = d?.points ?? [];
  const variants = d?.spec.kind === "cascade" ? d.spec.variants : spec.variants;
  const byQ = new Map<number, Record<string, number>>();
  for (const p of pts) {
    const row = byQ.get(p.q) ?? { x: p.q };
    row[`f_${p.variant}`] = p.fEC;
    row[`rt_${p.variant}`] = p.roundTrips;
    byQ.set(p.q, row);
  }
  const rows = [...byQ.values()].sort((a, b) => a.x - b.x);
  const running = state.status === "running";
  const toggle = (v: CascadeVariant) => {
    const next = spec.variants.includes(v) ? spec.variants.filter((x) => x !== v) : CASCADE_VARIANTS.filter((x) => x === v || spec.variants.includes(x));
    if (next.length) onSpec({ ...spec, variants: next });
  };
  const chart = (key: "f" | "rt", label: string) => (
    <ResponsiveContainer width="100%" height="100%">
      <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 18, left: 4 }}>
        <CartesianGrid strokeDasharray="2 4" stroke="var(--qs-line)" />
        <XAxis
          dataKey="x"
          type="number"
          domain={[spec.qMin, spec.qMax]}
          tickFormatter={pctTick}
          {...AXIS}
          label={{ value: "QBER", position: "insideBottom", offset: -10, fontSize: 11 }}
        />
        <YAxis
          type="number"
          domain={key === "f" ? [1, "auto"] : [0, "auto"]}
          {...AXIS}
          width={44}
          label={{ value: label, angle: -90, position: "insideLeft", fontSize: 11 }}
        />
        <Tooltip />
        <Legend verticalAlign="top" height={36} wrapperStyle={{ fontSize: 11 }} />
        {variants.map((v) => (
          <Line key={v} dataKey={`${key}_${v}`} name={v} stroke={COLORS[CASCADE_VARIANTS.indexOf(v) % 8]} isAnimationActive={false} dot={{ r: 2 }} />
        ))}
      </ComposedChart>
    </ResponsiveContainer>
  );
  const table = tableOf(d);
  return (
    <section aria-labelledby="sweep-cascade" className="space-y-3 rounded-xl border border-line bg-panel p-3" data-testid="sweep-cascade">
      <h3 id="sweep-cascade" className="font-semibold">
        Cascade variants
      </h3>
      <div className="flex flex-wrap gap-3">
        <SpecNumbers
          spec={spec}
          onSpec={onSpec}
          disabled={running}
          fields={[
            { key: "keyBits", label: "Key bits", id: "cbits", min: 100, max: SWEEP_LIMITS.maxKeyBits, step: 1 },
            { key: "qMin", label: "Smallest QBER", id: "cqmin", min: 0.001, max: spec.qMax, step: 0.01 },
            { key: "qMax", label: "Largest QBER", id: "cqmax", min: spec.qMin, max: 0.25, step: 0.01 },
            { key: "points", label: "Points", id: "cpts", min: 1, max: SWEEP_LIMITS.maxPoints, step: 1 },
          ]}
        />
      </div>
      <fieldset className="flex flex-wrap gap-x-4 gap-y-1 text-xs" disabled={running}>
        <legend className="mb-1 text-xs text-muted">Variants</legend>
        {CASCADE_VARIANTS.map((v) => (
          <label key={v} className="inline-flex items-center gap-1">
            <input type="checkbox" checked={spec.variants.includes(v)} onChange={() => toggle(v)} data-testid={`cvar-${v}`} />
            {v}
          </label>
        ))}
      </fieldset>
      <JobControls id="cascade" state={state} onRun={() => run({ kind: "sweep", spec })} onCancel={cancel} />
      <div className="grid gap-4 lg:grid-cols-2">
        <ChartFigure
          id="cascade-fec"
          title="Efficiency f_EC vs QBER"
          caption="Disclosed parity bits / (n·h(Q)) with Q the key's actual error rate; 1 is the Shannon limit."
          table={table}
        >
          {chart("f", "f_EC")}
        </ChartFigure>
        <ChartFigure
          id="cascade-rt"
          title="Round trips vs QBER"
          caption="Request/response exchanges Bob needs to correct every error (the same keys for every variant)."
          table={table}
        >
          {chart("rt", "round trips")}
        </ChartFigure>
      </div>
    </section>
  );
}

export function BlockSizeSweep({ spec, onSpec }: { spec: LabState["blockSize"]; onSpec: (s: LabState["blockSize"]) => void }) {
  const { state, run, cancel } = useJob();
  const d = pointsOf<BlockSizePoint>(state, "blockSize");
  const pts = d?.points ?? [];
  const rows = pts.map((p) => ({ x: p.qubits, measured: p.measured, bound: p.bound, asymptotic: p.asymptotic }));
  const running = state.status === "running";
  return (
    <section aria-labelledby="sweep-block" className="space-y-3 rounded-xl border border-line bg-panel p-3" data-testid="sweep-blockSize">
      <h3 id="sweep-block" className="font-semibold">
        Key fraction against block size
      </h3>
      <div className="flex flex-wrap gap-3">
        <SpecNumbers
          spec={spec}
          onSpec={onSpec}
          disabled={running}
          fields={[{ key: "noise", label: "Channel error e", id: "bnoise", min: 0, max: 0.5, step: 0.005 }]}
        />
        <ListInput
          label="Qubits per session"
          id="bsizes"
          value={spec.sizes}
          min={1000}
          max={SWEEP_LIMITS.maxQubits}
          maxLen={SWEEP_LIMITS.maxBlocks}
          onValue={(v) => onSpec({ ...spec, sizes: v })}
          disabled={running}
        />
      </div>
      <JobControls id="blockSize" state={state} onRun={() => run({ kind: "sweep", spec })} onCancel={cancel} />
      <ChartFigure
        id="blockSize"
        title="Key bits per sifted bit vs session size"
        caption="Points: ℓ / sifted bits of engine runs; line: the finite-key bound at the run's sifted size and the channel's error rate (f_EC = 1.1); dashed: 1 − 2h(e)."
        table={tableOf(d)}
        summary={pts.length > 0 && <Outside n={pts.filter((p) => p.outside).length} total={pts.length} />}
      >
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 18, left: 4 }}>
            <CartesianGrid strokeDasharray="2 4" stroke="var(--qs-line)" />
            <XAxis
              dataKey="x"
              type="number"
              scale="log"
              domain={["auto", "auto"]}
              tickFormatter={sci}
              {...AXIS}
              label={{ value: "qubits sent", position: "insideBottom", offset: -10, fontSize: 11 }}
            />
            <YAxis type="number" domain={[0, 1]} {...AXIS} width={40} />
            <Tooltip />
            <Legend verticalAlign="top" height={24} wrapperStyle={{ fontSize: 11 }} />
            <Line dataKey="asymptotic" name="1 − 2h(e)" stroke={COLORS[7]} strokeDasharray="5 3" dot={false} isAnimationActive={false} />
            <Line dataKey="bound" name="finite-key bound" stroke={COLORS[0]} dot={false} isAnimationActive={false} />
            <Scatter dataKey="measured" name="engine" fill={OK} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </ChartFigure>
    </section>
  );
}
