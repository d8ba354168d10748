/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof) of a server child: where the server's CPU went,
 * as self time per function, inclusive time per function, and self time per package/area.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** Self time per area (package or project folder), ms and share of busy time. */
  byArea: { area: string; ms: number; pct: number }[];
  topSelf: { fn: string; ms: number; pct: number }[];
  topInclusive: { fn: string; ms: number; pct: number }[];
  /** Inclusive time of the project's own functions (server/, lib/): what each step of the path costs. */
  projectInclusive: { fn: string; ms: number; pct: number }[];
}

function area(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0];
  const m = url.match(/\/(server|lib|bench)\/([^/]+)/);
  return m ? `${m[1]}/${m[2]}` : url.replace(/^file:\/\//, "");
}

/** Function name and file; line numbers only for node_modules (tsx recompiles the project's files, so theirs are meaningless). */
function label(f: CallFrame): string {
  if (!f.url) return f.functionName || "(anonymous)";
  const url = f.url.replace(/^file:\/\//, "");
  const nm = url.lastIndexOf("node_modules/");
  const own = nm < 0 && /\/(server|lib|bench)\//.test(url);
  const file = nm >= 0 ? url.slice(nm + 13) : own ? url.replace(/^.*?\/(server|lib|bench)\//, "$1/") : url;
  return `${f.functionName || "(anonymous)"} ${file}${own ? "" : `:${f.lineNumber + 1}`}`;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  const totalMs = (p.endTime - p.startTime) / 1000;
  let idleMs = 0;
  const selfByFn = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  for (const n of p.nodes) {
    const ms = self.get(n.id) ?? 0;
    if (!ms) continue;
    if (n.callFrame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    const k = label(n.callFrame);
    selfByFn.set(k, (selfByFn.get(k) ?? 0) + ms);
    const a = area(n.callFrame.url, n.callFrame.functionName);
    selfByArea.set(a, (selfByArea.get(a) ?? 0) + ms);
  }
  // Inclusive time per function, counting a recursive function once per stack.
  const incl = new Map<string, number>();
  const root = p.nodes[0];
  const walk = (n: ProfileNode, active: Set<string>): number => {
    let t = self.get(n.id) ?? 0;
    const k = label(n.callFrame);
    const fresh = !active.has(k);
    if (fresh) active.add(k);
    for (const c of n.children ?? []) t += walk(byId.get(c)!, active);
    if (fresh) {
      active.delete(k);
      if (n.callFrame.functionName !== "(idle)" && n !== root) incl.set(k, (incl.get(k) ?? 0) + t);
    }
    return t;
  };
  walk(root, new Set());
  const busyMs = totalMs - idleMs;
  const rows = (m: Map<string, number>, key: "fn" | "area") =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => ({ [key]: k, ms: Math.round(ms), pct: Math.round((ms / busyMs) * 1000) / 10 }));
  return {
    totalMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    busyMs: Math.round(busyMs),
    byArea: rows(selfByArea, "area") as ProfileSummary["byArea"],
    topSelf: rows(selfByFn, "fn") as ProfileSummary["topSelf"],
    topInclusive: rows(incl, "fn").filter((r) => !String(r.fn).startsWith("(")) as ProfileSummary["topInclusive"],
    projectInclusive: rows(new Map([...incl].filter(([k]) => / (server|lib)\//.test(k))), "fn") as ProfileSummary["projectInclusive"],
  };
}
