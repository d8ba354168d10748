/**
 * nginx (Debian's /usr/sbin/nginx, unprivileged) from the repository's deploy/nginx.conf.template
 * on a free loopback port, in a folder of its own, in front of a test's nodes. The caller gives the
 * upstream's server lines and must stop() it, also when a test fails.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./free-port";

export interface TestNginx {
  /** http://127.0.0.1:<port> (a secure context for WebCrypto, like localhost). */
  url: string;
  /** Graceful stop (SIGQUIT), then its folder is removed. */
  stop(): Promise<void>;
}

/** `upstreams`: the lines of the template's upstream block, e.g. "server 127.0.0.1:3001 max_fails=1 fail_timeout=5s;". */
export async function startNginx(upstreams: string[]): Promise<TestNginx> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-nginx-"));
  const conf = readFileSync(path.join(__dirname, "..", "..", "deploy", "nginx.conf.template"), "utf8")
    .replaceAll("@PREFIX@", dir)
    .replaceAll("@LISTEN@", `127.0.0.1:${port}`)
    .replace("@UPSTREAMS@", upstreams.map((l) => `    ${l}`).join("\n"));
  writeFileSync(path.join(dir, "nginx.conf"), conf);
  const proc = spawn("/usr/sbin/nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: "ignore" });
  const stop = async () => {
    if (proc.pid && proc.exitCode === null) {
      const gone = new Promise((r) => proc.once("exit", r));
      process.kill(proc.pid, "SIGQUIT");
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error("nginx did not answer");
}
