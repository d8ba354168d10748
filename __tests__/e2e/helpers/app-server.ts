/**
 * Starts the real QSEC server (Next.js pages + Socket.IO, server/main.ts) as a child process on a
 * random port with its own temporary SQLite database, for browser tests. The caller must stop()
 * it, also when a test fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface AppServer {
  url: string;
  /** The server's data directory (QSEC_DATA_DIR: the database, attachments/), removed by stop(). */
  dataDir: string;
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL of the server's process group (a crash: no shutdown, no flush), then the same clean-up as stop(). */
  kill(): Promise<void>;
}

const ROOT = path.resolve(__dirname, "..", "..", "..");

export interface AppServerOptions {
  readyTimeoutMs?: number;
  /** Next's build folder for this server (default .next-e2e); suites that may run beside another use their own. */
  distDir?: string;
  /** Extra environment for the server (e.g. ADMIN_TOKEN). */
  env?: Record<string, string>;
  /** Serve a production build (made first with buildApp into the same distDir) instead of next dev. */
  production?: boolean;
}

/** `next build` into a build folder of its own, for a production server started with `production: true`. */
export function buildApp(distDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules", "next", "dist", "bin", "next"), "build"], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "production", QSEC_NEXT_DIST_DIR: distDir, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout!.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
    child.stderr!.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`next build exited with ${code}:\n${log}`))));
  });
}

/** What a production build is made from: every file's path, size and modification time under these (node_modules aside). */
const BUILD_INPUTS = ["app", "lib", "server", "prisma", "next.config.mjs", "postcss.config.mjs", "tsconfig.json", "package-lock.json"];

function sourceStamp(): string {
  const h = createHash("sha256");
  const walk = (rel: string) => {
    const abs = path.join(ROOT, rel);
    if (!existsSync(abs)) return;
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (name !== "node_modules") walk(path.join(rel, name));
    } else h.update(`${rel}\0${st.size}\0${st.mtimeMs}\n`);
  };
  for (const r of BUILD_INPUTS) walk(r);
  return h.digest("hex");
}

/**
 * buildApp, unless `distDir` already holds a build of the sources as they are now (a stamp of their
 * paths, sizes and modification times, written after a successful build): suites that serve the
 * same production build (production.e2e, pg-cluster.e2e) share one `next build` per run. A lock
 * folder keeps two Jest workers from building into one folder at once.
 */
export async function buildAppOnce(distDir: string): Promise<void> {
  const stampFile = path.join(ROOT, distDir, "qsec-source-stamp");
  const lock = path.join(ROOT, `${distDir}.lock`);
  const current = () => existsSync(path.join(ROOT, distDir, "BUILD_ID")) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === sourceStamp();
  for (;;) {
    if (current()) return;
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch {
      // Another worker builds; wait for it, or take over a lock its dead process left.
      let holder = NaN;
      try {
        holder = Number(readFileSync(path.join(lock, "pid"), "utf8"));
      } catch {
        /* being written or removed */
      }
      let alive = true;
      if (Number.isInteger(holder) && holder > 0) {
        try {
          process.kill(holder, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (current()) return;
    const stamp = sourceStamp();
    await buildApp(distDir);
    writeFileSync(stampFile, stamp);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function startAppServer(opts: AppServerOptions = {}): Promise<AppServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-e2e-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: opts.production ? "production" : "development",
    DATABASE_URL: `file:${path.join(dir, "e2e.db")}`,
    QSEC_DATA_DIR: dir,
    NEXT_TELEMETRY_DISABLED: "1",
    // Its own build folder: Next 16 allows one dev server per folder, and a developer's
    // `npm run dev` may be using .next.
    QSEC_NEXT_DIST_DIR: opts.distDir ?? ".next-e2e",
    ...opts.env,
  };
  delete env.QSEC_HTTPS;

  // server/main.ts applies the migrations to DATABASE_URL itself before it listens.
  // detached: the child leads its own process group, so stop() also ends the node process tsx spawns.
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "node_modules", ".bin", "tsx"), "server/main.ts"], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  async function stop() {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)))]);
      clearTimeout(timer);
      if (!killed) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server not ready within ${opts.readyTimeoutMs ?? 120_000} ms:\n${log}`)),
        opts.readyTimeoutMs ?? 120_000,
      );
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.length > 200_000) log = log.slice(-100_000);
        const m = /QSEC ready at (https?:\/\/localhost:\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited early (code ${code}, signal ${signal}):\n${log}`));
      });
    });
    const kill = async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        await exited;
      }
      await stop();
    };
    return { url, dataDir: dir, output: () => log, stop, kill };
  } catch (e) {
    await stop();
    throw e;
  }
}
