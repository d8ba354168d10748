/**
 * A redis-server of a test's own, on a free loopback port, that the test may kill (SIGKILL, nothing
 * saved) and start again on the same port, empty: a Redis restart under running nodes, without
 * touching the machine's Redis that other suites share.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { freePort } from "./free-port";

const REDIS_BIN = "/usr/bin/redis-server";

export interface OwnRedis {
  url: string;
  /** Starts it (empty), unless it runs already. */
  start(): Promise<void>;
  /** SIGKILL: a crash, every key lost. */
  stop(): Promise<void>;
  /** stop() and remove its directory. */
  dispose(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  if (!existsSync(REDIS_BIN)) throw new Error(`${REDIS_BIN} is missing: this test runs its own Redis (Debian: apt-get install redis-server)`);
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-own-redis-"));
  let proc: ChildProcess | null = null;

  const ping = async () => {
    const c = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    c.on("error", () => {});
    try {
      await c.connect();
      return (await c.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      if (c.isOpen) await c.quit().catch(() => {});
    }
  };

  const start = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) return; // running already
    proc = spawn(REDIS_BIN, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir], {
      stdio: "ignore",
    });
    for (let i = 0; i < 100; i++) {
      if (await ping()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${port}`);
  };

  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((res) => p.once("exit", res));
    p.kill("SIGKILL");
    await gone;
  };

  return {
    url,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
