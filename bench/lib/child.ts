/**
 * The two halves of a benchmark server child: the child reports its port over IPC and closes on
 * request (exiting normally, so `--cpu-prof` writes its profile); the parent spawns it with tsx.
 */
import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";
import { writeHeapSnapshot } from "node:v8";

/** Figures a child gathers itself (e.g. qsec-server.ts's stream hop times), read and reset over IPC. */
export interface ChildStats {
  read(): object;
  reset(): void;
}

export function serveChild(port: number, close: () => Promise<void>, stats?: ChildStats): void {
  process.send!({ type: "ready", port });
  let session: Session | null = null;
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  process.on("message", (m: { type?: string; file?: string }) => {
    if (m?.type === "profile-start") {
      session = new Session();
      session.connect();
      void post("Profiler.enable")
        .then(() => post("Profiler.setSamplingInterval", { interval: 200 }))
        .then(() => post("Profiler.start"))
        .then(() => process.send!({ type: "profile-started" }));
      return;
    }
    if (m?.type === "profile-stop") {
      void post("Profiler.stop").then((res: { profile: unknown }) => {
        writeFileSync(m.file!, JSON.stringify(res.profile));
        session!.disconnect();
        session = null;
        process.send!({ type: "profile-stopped" });
      });
      return;
    }
    if (m?.type === "mem") {
      (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: live objects only
      const u = process.memoryUsage();
      process.send!({ type: "mem", rss: u.rss, heapUsed: u.heapUsed, external: u.external });
      return;
    }
    if (m?.type === "heap-snapshot") {
      (globalThis as { gc?: () => void }).gc?.();
      process.send!({ type: "heap-snapshot", file: writeHeapSnapshot(m.file) });
      return;
    }
    if (m?.type === "cpu") {
      const u = process.cpuUsage();
      process.send!({ type: "cpu", ms: (u.user + u.system) / 1000 });
      return;
    }
    if (m?.type === "stats") {
      process.send!({ type: "stats", stats: stats?.read() ?? null });
      return;
    }
    if (m?.type === "stats-reset") {
      stats?.reset();
      process.send!({ type: "stats-reset-done" });
      return;
    }
    if (m?.type !== "close") return;
    close()
      .catch((e) => console.error("close failed", e))
      .finally(() => process.exit(0));
  });
  process.on("disconnect", () => process.exit(0)); // the parent died: don't linger
}

export interface ServerChild {
  url: string;
  pid: number;
  /** The child's memory (bytes), after a full GC when it runs with --expose-gc (SpawnOptions.exposeGc). */
  memory(): Promise<{ rss: number; heapUsed: number; external: number }>;
  /** CPU time (user + system) the child has used so far, ms. */
  cpuMs(): Promise<number>;
  /** What the child gathered itself since the last statsReset() (null when it gathers nothing). */
  stats(): Promise<unknown>;
  statsReset(): Promise<void>;
  /** Starts the V8 sampling profiler in the child (inspector), to profile just one phase. */
  profileStart(): Promise<void>;
  /** Stops it and writes the .cpuprofile to `file`. */
  profileStop(file: string): Promise<void>;
  /** Writes a V8 heap snapshot (after a full GC with --expose-gc) to `file`. */
  heapSnapshot(file: string): Promise<void>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  exposeGc?: boolean;
}

/** Starts bench/lib/<entry> under tsx in its own process and waits for its port. */
export async function spawnServer(entry: "qsec-server.ts" | "bare-server.ts", opts: SpawnOptions = {}): Promise<ServerChild> {
  const execArgv = ["--import", "tsx", ...(opts.exposeGc ? ["--expose-gc"] : [])];
  const child: ChildProcess = fork(path.join(__dirname, entry), [], {
    execArgv,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", 2, 2, "ipc"], // the child's stdout goes to our stderr: stdout carries only the JSON report
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${entry} exited (${code}) before it was ready`));
    child.once("exit", onExit);
    child.once("message", (m: { type?: string; port?: number }) => {
      child.off("exit", onExit);
      if (m?.type === "ready" && typeof m.port === "number") resolve(m.port);
      else reject(new Error(`${entry}: unexpected message ${JSON.stringify(m)}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    memory: () => request<{ rss: number; heapUsed: number; external: number }>(child, { type: "mem" }, "mem"),
    cpuMs: () => request<{ ms: number }>(child, { type: "cpu" }, "cpu").then((m) => m.ms),
    stats: () => request<{ stats: unknown }>(child, { type: "stats" }, "stats").then((m) => m.stats),
    statsReset: () => request(child, { type: "stats-reset" }, "stats-reset-done").then(() => {}),
    profileStart: () => request(child, { type: "profile-start" }, "profile-started").then(() => {}),
    profileStop: (file) => request(child, { type: "profile-stop", file }, "profile-stopped").then(() => {}),
    heapSnapshot: (file) => request(child, { type: "heap-snapshot", file }, "heap-snapshot").then(() => {}),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.send({ type: "close" });
      }),
  };
}

function request<T>(child: ChildProcess, msg: object, replyType: string): Promise<T> {
  return new Promise<T>((resolve) => {
    const on = (m: { type?: string }) => {
      if (m?.type !== replyType) return;
      child.off("message", on);
      resolve(m as T);
    };
    child.on("message", on);
    child.send(msg);
  });
}
