/**
 * A self-signed certificate made on first run (QSEC_HTTPS=1) and kept under the data folder, so
 * phones and other machines on a LAN get the secure context WebCrypto requires.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { generate } from "selfsigned";

export async function loadOrCreateCertificate(dataDir: string): Promise<{ key: string; cert: string; created: boolean }> {
  const dir = path.join(dataDir, "tls");
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  if (existsSync(keyFile) && existsSync(certFile)) return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ips = Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => !!i)
    .map((i) => i.address);
  const pems = await generate([{ name: "commonName", value: "qsec.local" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [{ type: 2, value: "localhost" }, { type: 2, value: os.hostname() }, ...ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, pems.cert);
  return { key: pems.private, cert: pems.cert, created: true };
}
