/** The lab's framework-free parts: the URL setup, the CSV export, and the jobs the worker runs. */
import { parseCsv, toCsv } from "@/lib/lab/csv";
import { runJob, type LabWorkerMessage } from "@/lib/lab/jobs";
import { linkTables, planLink, type LinkPoint } from "@/lib/lab/link-job";
import { defaultLabState, labParamsString, parseLabParams } from "@/lib/lab/url-state";
import { DEFAULT_LINK, keyRateCurve } from "@/lib/qkd/decoy";
import { runSweep, sweepTable, type CascadePoint } from "@/lib/qkd/sweeps";

describe("URL setup", () => {
  test("the default setup is the empty query, and every edited field survives a round trip", () => {
    expect(labParamsString(defaultLabState())).toBe("");
    const s = defaultLabState();
    s.walk = { qubits: 40, seed: 123456, noise: 0.07, eve: 0.3, step: 5 };
    s.eve.fMax = 0.5;
    s.eve.seed = s.keyFraction.seed = s.cascade.seed = s.blockSize.seed = 99;
    s.keyFraction.blocks = [1000, 50000];
    s.cascade.variants = ["original", "option8"];
    s.link.params.darkCount = 1e-6;
    s.link.blocks = [1e5];
    s.link.dMax = 150;
    const q = labParamsString(s);
    const back = parseLabParams(new URLSearchParams(q));
    expect(back.ignored).toEqual([]);
    expect(back.state).toEqual(s);
  });

  test("a bad value is named and leaves the default", () => {
    const { state, ignored } = parseLabParams(
      new URLSearchParams("wq=7&epts=2.5&eq=1e99&cvars=original,bogus&kblocks=100,x&wnoise=0.1&ldc=NaN&lstep=1&ldmax=400"),
    );
    expect(ignored.sort()).toEqual(["cvars", "epts", "eq", "kblocks", "ldc", "lstep", "wq"].sort());
    const d = defaultLabState();
    expect(state.walk.qubits).toBe(d.walk.qubits);
    expect(state.walk.noise).toBe(0.1);
    expect(state.eve.points).toBe(d.eve.points);
    expect(state.cascade.variants).toEqual(d.cascade.variants);
    expect(state.link.params.darkCount).toBe(DEFAULT_LINK.darkCount);
    // 400 km in 1 km steps is more than the 101 distances allowed: the step is widened, and said so.
    expect(state.link.dStep).toBe(4);
  });
});

describe("CSV", () => {
  test("quotes what needs quoting and reads back to the same cells", () => {
    const csv = toCsv(
      ["a", "b,c", "d"],
      [
        [1.5, 'say "hi"', null],
        [true, "x\ny", 1e-15],
        [NaN, "=SUM(A1)", ""],
      ],
    );
    expect(csv.split("\r\n")[0]).toBe('a,"b,c",d');
    expect(parseCsv(csv)).toEqual([
      ["a", "b,c", "d"],
      ["1.5", 'say "hi"', ""],
      ["true", "x\ny", "1e-15"],
      ["", "'=SUM(A1)", ""],
    ]);
  });

  test("an exported sweep has one row per point with the point's values", () => {
    const spec = { kind: "cascade" as const, keyBits: 2000, qMin: 0.02, qMax: 0.06, points: 3, variants: ["yanetal" as const, "option7" as const], seed: 4 };
    const pts = runSweep(spec) as CascadePoint[];
    const t = sweepTable(spec, pts);
    const rows = parseCsv(toCsv(t.columns, t.rows));
    expect(rows[0]).toEqual(t.columns);
    expect(rows).toHaveLength(1 + pts.length);
    rows.slice(1).forEach((r, i) => {
      expect(r[0]).toBe(pts[i].variant);
      expect(Number(r[1])).toBe(pts[i].q);
      expect(Number(r[3])).toBe(pts[i].fEC);
      expect(Number(r[4])).toBe(pts[i].roundTrips);
    });
  });
});

describe("worker jobs", () => {
  test("a sweep job reports every point in order, then done; a bad spec is one error message", () => {
    const msgs: LabWorkerMessage[] = [];
    runJob({ kind: "sweep", spec: { kind: "eve", qubits: 3000, noise: 0.02, fMax: 1, points: 3, seed: 1 } }, (m) => msgs.push(m));
    expect(msgs.map((m) => m.type)).toEqual(["progress", "progress", "progress", "done"]);
    expect(msgs.slice(0, 3).map((m) => (m.type === "progress" ? m.done : -1))).toEqual([1, 2, 3]);
    const bad: LabWorkerMessage[] = [];
    runJob({ kind: "sweep", spec: { kind: "eve", qubits: 3000, noise: 2, fMax: 1, points: 3, seed: 1 } }, (m) => bad.push(m));
    expect(bad).toEqual([{ type: "error", message: expect.stringContaining("noise") }]);
  });

  test("the link job gives decoy.ts's own curve and maximum distance, point by point", () => {
    const spec = { params: { ...DEFAULT_LINK }, dMax: 60, dStep: 30, blocks: [1e5] };
    const plan = planLink(spec);
    const pts: LinkPoint[] = Array.from({ length: plan.total }, (_, i) => plan.runPoint(i));
    const [curve] = keyRateCurve(DEFAULT_LINK, [0, 30, 60], [1e5]);
    expect(pts.filter((p) => p.kind === "rate").map((p) => (p.kind === "rate" ? p.rate : 0))).toEqual(curve.points.map((p) => p.rate));
    expect(pts[0]).toEqual({ kind: "max", nX: 1e5, maxDistanceKm: curve.maxDistanceKm });
    const t = linkTables(pts);
    expect(t.curve.rows.map((r) => r[1])).toEqual([0, 30, 60]);
    expect(t.max.rows).toEqual([[1e5, curve.maxDistanceKm]]);
  });
});
