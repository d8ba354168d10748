/**
 * QSEC_HTTPS=1: the server makes a self-signed certificate on first run (key readable by its owner
 * only), reuses it on the next start, and serves Socket.IO over TLS.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { X509Certificate } from "node:crypto";
import { io } from "socket.io-client";

const ROOT = path.resolve(__dirname, "..", "..");

async function start(dataDir: string) {
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      QSEC_PAGES: "0",
      QSEC_HTTPS: "1",
      QSEC_DATA_DIR: dataDir,
      NODE_ENV: "production",
      DATABASE_URL: `file:${path.join(dataDir, "db.sqlite")}`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(out)), 60_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = /QSEC ready at (https:\/\/localhost:\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.once("exit", () => reject(new Error("exited:\n" + out)));
  });
  const stop = () => new Promise<void>((r) => (child.once("exit", () => r()), child.kill("SIGTERM")));
  return { url, stop };
}

test("self-signed HTTPS: certificate made once, key 0600, Socket.IO over TLS", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-https-"));
  try {
    const first = await start(dir);
    const keyFile = path.join(dir, "tls", "key.pem");
    const certFile = path.join(dir, "tls", "cert.pem");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(certFile));
    expect(cert.subjectAltName).toContain("DNS:localhost");
    const socket = io(first.url, { transports: ["websocket"], rejectUnauthorized: false, reconnection: false });
    const nonce = await new Promise<unknown>((resolve, reject) => {
      socket.once("connect_error", reject);
      socket.once("connect", () => socket.emit("auth:hello", {}, resolve));
    });
    expect(nonce).toMatchObject({ ok: true, data: { nonce: expect.any(String) } });
    socket.close();
    await first.stop();
    // The next start reuses the same certificate (users accept it once).
    const second = await start(dir);
    expect(new X509Certificate(readFileSync(certFile)).fingerprint256).toBe(cert.fingerprint256);
    await second.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
