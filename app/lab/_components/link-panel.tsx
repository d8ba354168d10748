"use client";
import { CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { DEFAULT_LINK, type LinkParams } from "@/lib/qkd/decoy";
import { LINK_LIMITS, linkTables, type LinkPoint, type LinkSpec } from "@/lib/lab/link-job";
import { Button } from "@/app/_components/ui";
import { ChartFigure } from "./chart-figure";
import { JobControls } from "./job-controls";
import { ListInput, NumberInput, SpecNumbers } from "./inputs";
import { sci } from "./sweep-panels";
import { useJob } from "./use-job";

const COLORS = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#db2777", "#7c3aed"];
const AXIS = { stroke: "var(--qs-muted)", tick: { fontSize: 11, fill: "var(--qs-muted)" } };
const exp10 = (v: number) => `1e${Math.round(Math.log10(v))}`;

const FIELDS: { key: keyof LinkParams; label: string; min: number; max: number; step: number }[] = [
  { key: "attenuationDbPerKm", label: "Fibre loss (dB/km)", min: 0, max: 10, step: 0.01 },
  { key: "detectorEfficiency", label: "Detector efficiency", min: 1e-6, max: 1, step: 0.01 },
  { key: "darkCount", label: "Dark-count prob.", min: 0, max: 0.49, step: 1e-7 },
  { key: "afterpulse", label: "Afterpulse prob.", min: 0, max: 0.99, step: 0.01 },
  { key: "misalignment", label: "Misalignment e_mis", min: 0, max: 0.49, step: 0.001 },
  { key: "fEC", label: "EC efficiency f_EC", min: 1, max: 10, step: 0.01 },
  { key: "epsCor", label: "ε_cor", min: 1e-30, max: 0.1, step: 1e-15 },
  { key: "kappa", label: "κ (ε_sec = κ·ℓ)", min: 1e-30, max: 1e-4, step: 1e-15 },
];

export function LinkPanel({ spec, onSpec }: { spec: LinkSpec; onSpec: (s: LinkSpec) => void }) {
  const { state, run, cancel } = useJob();
  const job = state.job?.kind === "link" ? state.job.spec : null;
  const pts = (job ? state.points.filter(Boolean) : []) as LinkPoint[];
  const blocks = job?.blocks ?? spec.blocks;
  const byD = new Map<number, Record<string, number | null>>();
  let minRate = Infinity,
    maxRate = 0;
  for (const p of pts) {
    if (p.kind !== "rate") continue;
    const row = byD.get(p.distanceKm) ?? { x: p.distanceKm };
    row[`r${p.nX}`] = p.rate > 0 ? p.rate : null;
    if (p.rate > 0) {
      minRate = Math.min(minRate, p.rate);
      maxRate = Math.max(maxRate, p.rate);
    }
    byD.set(p.distanceKm, row);
  }
  const rows = [...byD.values()].sort((a, b) => (a.x as number) - (b.x as number));
  const maxes = pts.filter((p): p is Extract<LinkPoint, { kind: "max" }> => p.kind === "max");
  const tables = job ? linkTables(pts) : null;
  const running = state.status === "running";
  const domain: [number, number] = maxRate > 0 ? [10 ** Math.floor(Math.log10(minRate)), 10 ** Math.ceil(Math.log10(maxRate))] : [1e-8, 1e-2];
  const isPaper = (Object.keys(DEFAULT_LINK) as (keyof LinkParams)[]).every((k) => spec.params[k] === DEFAULT_LINK[k]);

  return (
    <section aria-labelledby="link-title" className="space-y-3 rounded-xl border border-line bg-panel p-3" data-testid="link-panel">
      <div>
        <h2 id="link-title" className="text-lg font-semibold">
          A real link: decoy-state BB84 over fibre
        </h2>
        <p className="max-w-3xl text-sm leading-6 text-muted">
          Real sources send weak laser pulses, not single photons, so Alice mixes three intensities (signal, weak decoy, vacuum) to catch an eavesdropper who
          splits multi-photon pulses. The model (lib/qkd/decoy.ts) applies the finite-key bounds of Lim, Curty, Walenta, Xu and Zbinden, Phys. Rev. A 89, 022307
          (2014), optimising the intensities and their probabilities at every point. The defaults are the paper&apos;s.
        </p>
      </div>
      {/* Fields top-aligned (an error line under one grows it downwards, see walkthrough-view); the button keeps to the inputs' bottom edge. */}
      <div className="flex flex-wrap items-start gap-3">
        {FIELDS.map((f) => (
          <NumberInput
            key={f.key}
            label={f.label}
            id={`link-${f.key}`}
            value={spec.params[f.key] as number}
            min={f.min}
            max={f.max}
            step={f.step}
            disabled={running}
            onValue={(v) => onSpec({ ...spec, params: { ...spec.params, [f.key]: v } })}
          />
        ))}
        <Button onClick={() => onSpec({ ...spec, params: { ...DEFAULT_LINK } })} disabled={running || isPaper} className="self-end" data-testid="link-preset">
          Paper&apos;s values
        </Button>
      </div>
      <div className="flex flex-wrap items-start gap-3">
        <SpecNumbers
          spec={spec}
          onSpec={onSpec}
          disabled={running}
          fields={[
            { key: "dMax", label: "Largest distance (km)", id: "ldmax", min: 0, max: LINK_LIMITS.maxDistanceKm, step: 1 },
            { key: "dStep", label: "Step (km)", id: "lstep", min: LINK_LIMITS.minStepKm, max: LINK_LIMITS.maxDistanceKm, step: 1 },
          ]}
        />
        <ListInput
          label="Block sizes n_X"
          id="lblocks"
          value={spec.blocks}
          min={1e4}
          max={1e12}
          maxLen={LINK_LIMITS.maxBlocks}
          disabled={running}
          onValue={(v) => onSpec({ ...spec, blocks: v })}
        />
      </div>
      <JobControls id="link" state={state} onRun={() => run({ kind: "link", spec })} onCancel={cancel} />
      <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
        <ChartFigure
          id="link-rate"
          title="Secret key rate per pulse vs fibre length"
          caption="One curve per block size n_X (X-basis detections); log scale. A gap means no key at that distance."
          table={tables?.curve ?? null}
        >
          <ResponsiveContainer width="100%" height="100%">
            <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 18, left: 8 }}>
              <CartesianGrid strokeDasharray="2 4" stroke="var(--qs-line)" />
              <XAxis
                dataKey="x"
                type="number"
                domain={[0, spec.dMax || 1]}
                {...AXIS}
                label={{ value: "fibre length (km)", position: "insideBottom", offset: -10, fontSize: 11 }}
              />
              <YAxis type="number" scale="log" domain={domain} allowDataOverflow tickFormatter={exp10} {...AXIS} width={48} />
              <Tooltip formatter={(v) => (typeof v === "number" ? v.toExponential(2) : String(v))} />
              <Legend verticalAlign="top" height={24} wrapperStyle={{ fontSize: 11 }} />
              {blocks.map((b, i) => (
                <Line
                  key={b}
                  dataKey={`r${b}`}
                  name={`n_X = ${sci(b)}`}
                  stroke={COLORS[i % COLORS.length]}
                  dot={false}
                  connectNulls={false}
                  isAnimationActive={false}
                />
              ))}
            </ComposedChart>
          </ResponsiveContainer>
        </ChartFigure>
        <div className="space-y-2">
          <h3 className="text-sm font-semibold">Maximum distance per block size</h3>
          <table className="w-full text-sm" data-testid="link-max-table">
            <caption className="sr-only">Largest fibre length with a key rate of at least 10^-12 per pulse</caption>
            <thead>
              <tr className="text-left text-xs text-muted">
                <th scope="col">n_X</th>
                <th scope="col">max distance</th>
              </tr>
            </thead>
            <tbody>
              {blocks.map((b) => {
                const m = maxes.find((x) => x.nX === b);
                return (
                  <tr key={b} className="border-t border-line">
                    <td>{sci(b)}</td>
                    <td data-testid={`link-max-${b}`}>{m ? `${m.maxDistanceKm.toFixed(1)} km` : "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="text-xs text-muted">
            Rate ≥ 10^-12 per pulse. The paper states that a block of n_X = 10^4 reaches about 135 km (docs/qkd.md compares).
          </p>
          {tables && (
            <Button
              disabled={tables.max.rows.length === 0}
              data-testid="csv-link-max"
              onClick={async () => {
                const { toCsv } = await import("@/lib/lab/csv");
                const { downloadCsv } = await import("@/lib/lab/export");
                downloadCsv("qsec-lab-link-max.csv", toCsv(tables.max.columns, tables.max.rows));
              }}
            >
              CSV
            </Button>
          )}
        </div>
      </div>
    </section>
  );
}
