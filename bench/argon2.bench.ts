/**
 * npm run bench:argon2: the cost of the key backup's Argon2id (lib/client/argon2.ts, hash-wasm) at
 * the parameters docs/security.md states (m = 64 MiB, t = 3, p = 1), in Debian's Chromium inside a
 * Web Worker (the very worker the app runs: lib/client/argon2.worker.ts, bundled with esbuild and
 * served from http://localhost) and in Node, in the same run.
 *
 * Baseline, measured the same way in both places: SHA-256 (WebCrypto, native code) over 64 MiB.
 * The ratio Argon2id ÷ baseline says how much of a difference between the two places is the
 * machine's noise and how much the WASM engine; browser ÷ node compares the two engines directly.
 *
 * Prints ONE JSON document on stdout (progress on stderr) and saves it to bench/argon2.bench.result.json.
 * Flags: --reps N (default 5)
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { writeFileSync } from "node:fs";
import { argon2idKey } from "@/lib/client/argon2";
import { ARGON2_DEFAULT, type Argon2Params } from "@/lib/crypto/argon2-params";
import { launchChromium } from "@/__tests__/e2e/helpers/browser";
import { median, round } from "./lib/stats";

const argv = process.argv.slice(2);
const repsArg = argv.indexOf("--reps");
const REPS = repsArg >= 0 ? Number(argv[repsArg + 1]) : 5;
const ROOT = path.resolve(__dirname, "..");
const PARAMS: Argon2Params = ARGON2_DEFAULT;
const log = (m: string) => process.stderr.write(`[bench:argon2] ${m}\n`);

const summary = (xs: number[]) => ({
  medianMs: round(median(xs)),
  minMs: round(Math.min(...xs)),
  maxMs: round(Math.max(...xs)),
  samples: xs.map((x) => round(x)),
});

async function sha256Baseline(): Promise<number> {
  const data = new Uint8Array(64 * 1024 * 1024).fill(0x5a);
  const t0 = performance.now();
  await crypto.subtle.digest("SHA-256", data);
  return performance.now() - t0;
}

async function nodeRuns(): Promise<{ argon2: number[]; baseline: number[] }> {
  const argon2: number[] = [];
  const baseline: number[] = [];
  const salt = new Uint8Array(16).fill(1);
  for (let i = 0; i < REPS; i++) {
    baseline.push(await sha256Baseline());
    const t0 = performance.now();
    await argon2idKey(`bench passphrase ${i}`, salt, PARAMS);
    argon2.push(performance.now() - t0);
  }
  return { argon2, baseline };
}

/** The worker entry as the app ships it, plus a baseline request, in one classic-worker bundle. */
async function bundles(): Promise<{ worker: string; page: string }> {
  const esbuild = await import("esbuild");
  const common = {
    bundle: true,
    write: false,
    format: "iife" as const,
    platform: "browser" as const,
    target: "es2022",
    alias: { "@": ROOT },
    tsconfig: path.join(ROOT, "tsconfig.json"),
    logLevel: "silent" as const,
  };
  const worker = await esbuild.build({
    ...common,
    stdin: {
      contents: `
        import "@/lib/client/argon2.worker";
        self.addEventListener("message", async (ev: MessageEvent) => {
          if (ev.data?.baseline !== true) return;
          const data = new Uint8Array(64 * 1024 * 1024).fill(0x5a);
          const t0 = performance.now();
          await crypto.subtle.digest("SHA-256", data);
          (self as any).postMessage({ baselineMs: performance.now() - t0 });
        });`,
      loader: "ts",
      resolveDir: ROOT,
    },
  });
  return { worker: worker.outputFiles![0].text, page: "" };
}

async function browserRuns(): Promise<{ argon2: number[]; argon2InWorkerOnly: number[]; baseline: number[]; userAgent: string }> {
  const { worker } = await bundles();
  const server = http.createServer((req, res) => {
    if (req.url === "/argon2.worker.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(worker);
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>argon2 bench</title>");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(origin);
    return await page.evaluate(
      async ({ reps, params }) => {
        const argon2: number[] = [];
        const argon2InWorkerOnly: number[] = [];
        const baseline: number[] = [];
        for (let i = 0; i < reps; i++) {
          // A fresh worker per derivation, as the app does (lib/client/argon2-worker.ts): its start-up counts.
          const w = new Worker("/argon2.worker.js", { name: "qsec-argon2" });
          const b = await new Promise<number>((resolve) => {
            // The app's worker also answers (an error: no passphrase); wait for the baseline's own answer.
            w.onmessage = (ev) => {
              if (typeof ev.data?.baselineMs === "number") resolve(ev.data.baselineMs);
            };
            w.postMessage({ baseline: true });
          });
          w.terminate();
          baseline.push(b);
          const t0 = performance.now();
          const w2 = new Worker("/argon2.worker.js", { name: "qsec-argon2" });
          const inWorker = await new Promise<number>((resolve, reject) => {
            w2.onmessage = (ev) => (ev.data.ok ? resolve(ev.data.ms) : reject(new Error(ev.data.error)));
            w2.postMessage({ id: 1, passphrase: `bench passphrase ${i}`, salt: new Uint8Array(16).fill(1), params });
          });
          argon2.push(performance.now() - t0);
          argon2InWorkerOnly.push(inWorker);
          w2.terminate();
        }
        return { argon2, argon2InWorkerOnly, baseline, userAgent: navigator.userAgent };
      },
      { reps: REPS, params: PARAMS },
    );
  } finally {
    await browser.close();
    server.close();
  }
}

async function main() {
  log(`Argon2id m=${PARAMS.memoryKiB} KiB t=${PARAMS.iterations} p=${PARAMS.parallelism}, ${REPS} reps each`);
  log("node…");
  const node = await nodeRuns();
  log("chromium worker…");
  const chromium = await browserRuns();
  const nodeMed = median(node.argon2);
  const chrMed = median(chromium.argon2);
  const result = {
    bench: "argon2",
    date: new Date().toISOString(),
    params: PARAMS,
    reps: REPS,
    library: "hash-wasm argon2id (WASM)",
    node: { version: process.version, argon2id: summary(node.argon2), baselineSha256_64MiB: summary(node.baseline) },
    chromiumWorker: {
      userAgent: chromium.userAgent,
      argon2idIncludingWorkerStart: summary(chromium.argon2),
      argon2idInsideWorker: summary(chromium.argon2InWorkerOnly),
      baselineSha256_64MiB: summary(chromium.baseline),
    },
    ratios: {
      chromiumWorkerOverNode: round(chrMed / nodeMed, 3),
      nodeArgon2OverBaseline: round(nodeMed / median(node.baseline), 2),
      chromiumArgon2OverBaseline: round(chrMed / median(chromium.baseline), 2),
    },
    guessesPerSecondPerCore: { node: round(1000 / nodeMed, 2), chromiumWorker: round(1000 / chrMed, 2) },
  };
  const json = JSON.stringify(result, null, 2);
  writeFileSync(path.join(__dirname, "argon2.bench.result.json"), json + "\n");
  process.stdout.write(json + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
