/**
 * CPU time of this process's descendants (the server child, Chromium's processes), per thread, from
 * /proc (Linux only; elsewhere snapshots are empty). A bench takes a snapshot before and after a
 * step and reports where the CPU went meanwhile: which process kind (server, Chromium renderer,
 * network service, browser, ...) and which of its threads (CrRendererMain is the page's main
 * thread, DedicatedWorker the page's workers, ThreadPool* Chromium's pools, WebCrypto included).
 * Resolution: one clock tick (10 ms).
 */
import { readdirSync, readFileSync } from "node:fs";

interface ThreadTicks {
  kind: string;
  thread: string;
  ticks: number;
}

export type CpuSnapshot = Map<string, ThreadTicks>;

const TICK_MS = 10; // getconf CLK_TCK = 100 on Linux

/** Fields of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat after the "(comm)" field. */
function statOf(path: string): { comm: string; rest: string[] } | null {
  try {
    const s = readFileSync(path, "utf8");
    const open = s.indexOf("(");
    const close = s.lastIndexOf(")");
    return { comm: s.slice(open + 1, close), rest: s.slice(close + 2).split(" ") };
  } catch {
    return null;
  }
}

function kindOf(pid: number): string {
  let cmd = "";
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "gone";
  }
  if (cmd.includes("server/main.ts")) return "server";
  if (cmd.includes("--type=renderer")) return "chromium renderer";
  if (cmd.includes("--type=gpu-process")) return "chromium gpu";
  if (cmd.includes("NetworkService")) return "chromium network";
  if (cmd.includes("--type=")) return "chromium other";
  if (cmd.includes("chrom")) return "chromium browser";
  return "other";
}

/** Every thread of every descendant of this process, with its CPU ticks (user + system). */
export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  let pids: number[];
  try {
    pids = readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return out;
  }
  const parent = new Map<number, number>();
  for (const pid of pids) {
    const st = statOf(`/proc/${pid}/stat`);
    if (st) parent.set(pid, Number(st.rest[1]));
  }
  const isDescendant = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  for (const pid of pids) {
    if (!isDescendant(pid)) continue;
    const kind = kindOf(pid);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const st = statOf(`/proc/${pid}/task/${tid}/stat`);
      // utime and stime are fields 14 and 15; rest starts at field 3.
      if (st) out.set(`${pid}/${tid}`, { kind, thread: st.comm, ticks: Number(st.rest[11]) + Number(st.rest[12]) });
    }
  }
  return out;
}

export interface CpuUse {
  /** CPU ms per process kind, largest first, each with its busiest threads (by name, summed). */
  kinds: { kind: string; cpuMs: number; threads: { thread: string; cpuMs: number }[] }[];
}

/** CPU spent between two snapshots, by process kind and thread name. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, topThreads = 6): CpuUse {
  const byKind = new Map<string, Map<string, number>>();
  for (const [id, t] of after) {
    const d = t.ticks - (before.get(id)?.ticks ?? 0);
    if (d <= 0) continue;
    const threads = byKind.get(t.kind) ?? new Map<string, number>();
    byKind.set(t.kind, threads);
    threads.set(t.thread, (threads.get(t.thread) ?? 0) + d * TICK_MS);
  }
  const kinds = [...byKind].map(([kind, threads]) => ({
    kind,
    cpuMs: [...threads.values()].reduce((a, b) => a + b, 0),
    threads: [...threads]
      .map(([thread, cpuMs]) => ({ thread, cpuMs }))
      .sort((a, b) => b.cpuMs - a.cpuMs)
      .slice(0, topThreads),
  }));
  return { kinds: kinds.sort((a, b) => b.cpuMs - a.cpuMs) };
}
