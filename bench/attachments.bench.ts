/**
 * npm run bench:attachments: a 100 MiB file through QSEC's encrypted attachments, against a plain
 * HTTP upload and download of the same bytes on the same server, in the same run (issue 16).
 *
 * Setup: the real application (createApplication: Socket.IO, capabilities, @tus/server with its
 * file store, ranged downloads) on 127.0.0.1 with a temporary SQLite database and store; the same
 * HTTP server also answers PUT/GET /plain/bench (the request body streamed to a file and back: the
 * baseline). Measured:
 *   - Node (a ChatClient): encrypt+upload (SHA-256 pass, AES-256-GCM STREAM, tus in 4 MiB chunks)
 *     and download+decrypt (ranged GET, streamed opening, SHA-256 check) vs plain PUT / GET;
 *   - Chromium (Debian's, headless, with an ordinary on-disk profile: playwright's own contexts are
 *     off-the-record, where Blobs and the origin-private file system live in memory): the same client
 *     code bundled by esbuild into a page (uploads stage sealed chunks in OPFS, as the app does); the
 *     file is a 100 MiB Blob (as a picked File). Per phase:
 *     throughput; the JS heap (CDP JSHeapUsedSize) and V8's ArrayBuffer backing stores (CDP
 *     Runtime.getHeapUsage) above the baseline taken after a forced GC; resident memory (VmRSS,
 *     /proc) of the renderers, of the browser process (where Blob bytes live) and of every Chromium
 *     process, at peak (sampled every 50 ms; the processes are found once a second, so a sample is
 *     a few reads, light next to the server sharing this event loop) and after a forced GC at the
 *     end (what of the peak was garbage); CPU time of the renderers, the browser process, the other
 *     Chromium processes and this Node process (server and bench) during the phase. Downloads are measured staged in OPFS (the default) and as an in-memory Blob.
 *     The floor under encrypt+upload, in the same run (copyUpload): the file's bytes read through
 *     the page into new Blobs and sent, one PUT per 16 MiB, no crypto and no tus; plain/copyUpload
 *     (chromium.uploadFloor.copyUploadRatio) bounds the upload ratio any client that sends bytes it
 *     made can reach in this browser on this machine.
 *     Targets: ≥ 0.5× the plain throughput; ≤ 64 MB above baseline.
 * Prints one JSON document (progress on stderr) and saves it to bench/attachments.bench.result.json.
 * Flags: --mb N (file size, default 100).
 */
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { pipeline } from "node:stream/promises";
import { build } from "esbuild";
import type { CDPSession } from "playwright-core";
import { ChatClient, MemoryStorage } from "@/lib/client";
import { bytesSource, generateIdentity, randomBytes } from "@/lib/crypto";
import { openAttachment, uploadAttachment } from "@/lib/client/attachments";
import { createPrisma } from "@/server/db";
import { createApplication } from "@/server/app";
import { launchChromiumProfile } from "@/__tests__/e2e/helpers/browser";
import { round } from "./lib/stats";

const argv = process.argv.slice(2);
const MB_ARG = argv.indexOf("--mb");
const MIB = 1024 * 1024;
const SIZE_MB = MB_ARG >= 0 ? Number(argv[MB_ARG + 1]) : 100;
const ROOT = path.resolve(__dirname, "..");
const log = (m: string) => process.stderr.write(`[bench:attachments] ${m}\n`);
const mbps = (bytes: number, ms: number) => round(bytes / MIB / (ms / 1000), 1);

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "qsec-bench-att-"));
  const dbFile = path.join(tmp, "bench.db");
  const mig = spawnSync(process.execPath, [path.join(ROOT, "scripts", "prisma-setup.mjs"), "deploy"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: `file:${dbFile}` },
    stdio: ["ignore", 2, 2],
  });
  if (mig.status !== 0) throw new Error("prisma-setup.mjs deploy failed");

  log("bundling the browser client (esbuild)");
  // The page and the attachment worker it starts (setAttachmentWorkerFactory in page.ts), each one script.
  const bundled = async (entry: string, define?: Record<string, string>) =>
    (
      await build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        platform: "browser",
        format: "iife",
        target: "es2022",
        minify: true,
        tsconfig: path.join(ROOT, "tsconfig.json"),
        ...(define && { define }),
        logLevel: "error",
      })
    ).outputFiles[0]!.text;
  const js = await bundled(path.join(__dirname, "attachments", "page.ts"), { "process.env.NODE_ENV": '"production"' });
  const workerJs = await bundled(path.join(ROOT, "lib", "client", "attachment.worker.ts"));
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>bench</title></head><body><script>${js.replace(/<\/script/g, "<\\/script")}</script></body></html>`;

  const plainFile = path.join(tmp, "plain.bin");
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/bench.html") return void res.writeHead(200, { "content-type": "text/html" }).end(html);
    if (req.url === "/attachment-worker.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(workerJs);
    if (req.url === "/plain/bench" && req.method === "PUT") {
      pipeline(req, createWriteStream(plainFile)).then(
        () => res.writeHead(204).end(),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const part = /^\/plain\/part\?at=(\d+)$/.exec(req.url ?? "");
    if (part && req.method === "PUT") {
      const at = Number(part[1]);
      pipeline(req, createWriteStream(plainFile, { flags: at === 0 ? "w" : "r+", start: at })).then(
        () => res.writeHead(204).end(),
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (req.url === "/plain/bench" && req.method === "GET") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(statSync(plainFile).size) });
      return void createReadStream(plainFile).pipe(res);
    }
    if (!req.url?.startsWith("/socket.io/")) res.writeHead(404).end();
  };
  const httpServer = createServer(onRequest);
  const prisma = await createPrisma(`file:${dbFile}`);
  const app = await createApplication(httpServer, {
    prisma,
    attachments: { dir: path.join(tmp, "store"), maxBytes: 2 * SIZE_MB * MIB, roomQuotaBytes: 100 * SIZE_MB * MIB, memberQuotaBytes: 100 * SIZE_MB * MIB },
    rateLimits: { commandsPerSecond: 1000, commandBurst: 1000 },
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const bytes = SIZE_MB * MIB;
  const result: Record<string, unknown> = {
    bench: "attachments",
    fileMiB: SIZE_MB,
    machine: { cpus: os.cpus().length, node: process.version, loadavg1: round(os.loadavg()[0]!, 2) },
  };
  let context: Awaited<ReturnType<typeof launchChromiumProfile>> | null = null;
  let client: ChatClient | null = null;
  try {
    // ---- Node ----
    log(`Node: ${SIZE_MB} MiB`);
    client = new ChatClient({ url: base, identity: await generateIdentity(), storage: new MemoryStorage(), requestTimeoutMs: 30_000 });
    await client.connect();
    await client.join("bench-node", "node");
    const plain = randomBytes(bytes);
    const request: ChatClient["request"] = (e, p, t) => client!.request(e, p, t);
    let t0 = performance.now();
    let res = await fetch(`${base}/plain/bench`, { method: "PUT", body: plain });
    if (!res.ok) throw new Error("plain PUT failed");
    const plainUpMs = performance.now() - t0;
    t0 = performance.now();
    const ref = await uploadAttachment({
      request,
      baseUrl: base,
      roomId: "bench-node",
      source: bytesSource(plain),
      name: "bench.bin",
      mime: "application/octet-stream",
    }).done;
    const encUpMs = performance.now() - t0;
    t0 = performance.now();
    res = await fetch(`${base}/plain/bench`);
    let n = 0;
    const plainReader = res.body!.getReader();
    for (;;) {
      const { value, done } = await plainReader.read();
      if (done) break;
      n += value.length;
    }
    if (n !== bytes) throw new Error("plain GET size");
    const plainDownMs = performance.now() - t0;
    t0 = performance.now();
    n = 0;
    const reader = (await openAttachment({ request, baseUrl: base, roomId: "bench-node", ref })).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      n += value.length;
    }
    if (n !== bytes) throw new Error("decrypted size");
    const decDownMs = performance.now() - t0;
    result.node = {
      plainUploadMBps: mbps(bytes, plainUpMs),
      encryptUploadMBps: mbps(bytes, encUpMs),
      uploadRatio: round(plainUpMs / encUpMs, 2),
      plainDownloadMBps: mbps(bytes, plainDownMs),
      downloadDecryptMBps: mbps(bytes, decDownMs),
      downloadRatio: round(plainDownMs / decDownMs, 2),
    };
    log(JSON.stringify(result.node));
    client.close();
    client = null;

    // ---- Chromium ----
    // An ordinary on-disk profile (playwright's own contexts are off-the-record, where Chromium keeps
    // Blobs and the origin-private file system in memory, as no user's browser does).
    log("Chromium");
    context = await launchChromiumProfile(path.join(tmp, "profile"));
    const page = await context.newPage();
    page.on("pageerror", (e) => log(`[page error] ${e.message}`));
    await page.goto(`${base}/bench.html`);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.evaluate(() => (globalThis as any).qsecBench.setup("bench-browser"));
    await page.evaluate((mb) => (globalThis as any).qsecBench.makeFile(mb), SIZE_MB);
    const phases: Record<string, Record<string, number>> = {};
    for (const phase of ["plainUpload", "copyUpload", "encryptUpload", "plainDownload", "downloadDecrypt", "downloadDecryptMemory"] as const) {
      await page.evaluate(() => (globalThis as any).qsecBench.drop());
      await cdp.send("HeapProfiler.collectGarbage");
      const baseline = await heapUsed(cdp);
      scanChromium();
      const cpuBefore = { chromium: chromiumCpuMs(), node: process.cpuUsage() };
      const rssBaseline = chromiumRss();
      const buffersBaseline = await backingStores(cdp);
      let peak = baseline;
      let buffersPeak = buffersBaseline;
      const rssPeak = { ...rssBaseline };
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await heapUsed(cdp));
          buffersPeak = Math.max(buffersPeak, await backingStores(cdp));
          const r = chromiumRss();
          for (const k of ["renderer", "browser", "total"] as const) rssPeak[k] = Math.max(rssPeak[k], r[k]);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      let ms: number;
      try {
        ms = await page.evaluate((p) => (globalThis as any).qsecBench[p](), phase);
      } finally {
        sampling = false;
        await sampler.catch(() => undefined); // a failed phase's error is the one to report
      }
      const cpuAfter = chromiumCpuMs();
      const nodeCpu = process.cpuUsage(cpuBefore.node);
      // What of the peak was garbage: the renderer's resident memory once a full GC ran, the file still held.
      await cdp.send("HeapProfiler.collectGarbage");
      await new Promise((r) => setTimeout(r, 300));
      const after = chromiumRss();
      const mb = (n: number) => round(n / MIB, 1);
      phases[phase] = {
        ms: round(ms, 0),
        MBps: mbps(bytes, ms),
        heapBaselineMB: mb(baseline),
        heapPeakAboveBaselineMB: mb(peak - baseline),
        arrayBufferPeakAboveBaselineMB: mb(buffersPeak - buffersBaseline),
        rendererRssBaselineMB: mb(rssBaseline.renderer),
        rendererRssPeakAboveBaselineMB: mb(rssPeak.renderer - rssBaseline.renderer),
        rendererRssAfterGcAboveBaselineMB: mb(after.renderer - rssBaseline.renderer),
        browserProcessRssPeakAboveBaselineMB: mb(rssPeak.browser - rssBaseline.browser),
        browserProcessRssAfterGcAboveBaselineMB: mb(after.browser - rssBaseline.browser),
        allChromiumRssPeakAboveBaselineMB: mb(rssPeak.total - rssBaseline.total),
        // CPU time spent during the phase (where the time goes on a machine whose cores are shared).
        cpuMsRenderer: cpuAfter.renderer - cpuBefore.chromium.renderer,
        cpuMsBrowserProcess: cpuAfter.browser - cpuBefore.chromium.browser,
        cpuMsOtherChromium: cpuAfter.other - cpuBefore.chromium.other,
        cpuMsNodeServerAndBench: round((nodeCpu.user + nodeCpu.system) / 1000, 0),
      };
      log(`${phase}: ${JSON.stringify(phases[phase])}`);
    }
    const p = phases as Record<
      "plainUpload" | "copyUpload" | "encryptUpload" | "plainDownload" | "downloadDecrypt" | "downloadDecryptMemory",
      Record<string, number>
    >;
    result.chromium = {
      profile: "on-disk (launchPersistentContext)",
      phases,
      uploadRatio: round(p.plainUpload.ms! / p.encryptUpload.ms!, 2),
      // The same bytes copied into new Blobs and sent, no crypto, no tus (copyUpload): the ceiling
      // on uploadRatio for any client that uploads bytes it made, in this browser on this machine.
      uploadFloor: {
        copyUploadRatio: round(p.plainUpload.ms! / p.copyUpload.ms!, 2),
        encryptUploadVsCopy: round(p.copyUpload.ms! / p.encryptUpload.ms!, 2),
      },
      downloadRatio: round(p.plainDownload.ms! / p.downloadDecrypt.ms!, 2),
      downloadRatioMemoryBlob: round(p.plainDownload.ms! / p.downloadDecryptMemory.ms!, 2),
      peakHeapAboveBaselineMB: Math.max(p.encryptUpload.heapPeakAboveBaselineMB!, p.downloadDecrypt.heapPeakAboveBaselineMB!),
      // JSHeapUsedSize leaves out ArrayBuffer backing stores; the renderer's resident memory counts them.
      peakRendererRssAboveBaselineMB: Math.max(p.encryptUpload.rendererRssPeakAboveBaselineMB!, p.downloadDecrypt.rendererRssPeakAboveBaselineMB!),
      // Blob bytes live in the browser process: every Chromium process together is the honest total.
      peakAllChromiumRssAboveBaselineMB: Math.max(p.encryptUpload.allChromiumRssPeakAboveBaselineMB!, p.downloadDecrypt.allChromiumRssPeakAboveBaselineMB!),
    };
    const node = result.node as { uploadRatio: number; downloadRatio: number };
    const chromium = result.chromium as {
      uploadRatio: number;
      downloadRatio: number;
      peakHeapAboveBaselineMB: number;
      peakRendererRssAboveBaselineMB: number;
      peakAllChromiumRssAboveBaselineMB: number;
    };
    result.targets = {
      throughputAtLeastHalfOfPlain: Math.min(node.uploadRatio, node.downloadRatio, chromium.uploadRatio, chromium.downloadRatio) >= 0.5,
      browserHeapWithin64MB: chromium.peakHeapAboveBaselineMB <= 64,
      browserRendererRssWithin64MB: chromium.peakRendererRssAboveBaselineMB <= 64,
      browserAllProcessesRssWithin64MB: chromium.peakAllChromiumRssAboveBaselineMB <= 64,
    };
  } finally {
    client?.close();
    await context?.close().catch(() => undefined);
    await app.close();
    await new Promise<void>((r) => httpServer.close(() => r()));
    httpServer.closeAllConnections();
    await prisma.$disconnect();
    rmSync(tmp, { recursive: true, force: true });
  }
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  writeFileSync(path.join(__dirname, "attachments.bench.result.json"), `${json}\n`);
}

/** This process's Chromium processes by kind: renderers (--type=renderer), the browser process (no --type: where Blob bytes and file-system writes are held), and the rest. */
type ChromiumKind = "renderer" | "browser" | "other";
let chromiumPids: Map<number, ChromiumKind> = new Map();
let chromiumScannedAt = 0;

/** Finds this process's Chromium processes (a walk of /proc: done once a second at most, not per sample, so the sampler stays light next to the server it shares this event loop with). */
function scanChromium(): void {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  const found = new Map<number, ChromiumKind>();
  for (const pid of parent.keys()) {
    let p: number | undefined = pid;
    while (p && p !== process.pid && p > 1) p = parent.get(p);
    if (p !== process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("chromium")) continue;
      found.set(pid, cmd.includes("--type=renderer") ? "renderer" : cmd.includes("--type=") ? "other" : "browser");
    } catch {
      /* gone */
    }
  }
  chromiumPids = found;
  chromiumScannedAt = Date.now();
}

/** CPU time (user + system, ms, /proc/<pid>/stat) of this process's Chromium processes, by kind. */
function chromiumCpuMs(): Record<ChromiumKind, number> {
  const out = { renderer: 0, browser: 0, other: 0 };
  const tick = 1000 / 100; // USER_HZ
  for (const [pid, kind] of chromiumPids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[kind] += (Number(f[11]) + Number(f[12])) * tick;
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Resident memory (VmRSS, /proc) of this process's Chromium: its renderers, the browser process, and every process. */
function chromiumRss(): { renderer: number; browser: number; total: number } {
  if (Date.now() - chromiumScannedAt > 1000) scanChromium();
  const out = { renderer: 0, browser: 0, total: 0 };
  for (const [pid, kind] of chromiumPids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (!m) continue;
      const rss = Number(m[1]) * 1024;
      out.total += rss;
      if (kind !== "other") out[kind] += rss;
    } catch {
      /* gone */
    }
  }
  return out;
}

/** V8's ArrayBuffer backing stores (CDP Runtime.getHeapUsage; 0 where this Chromium does not report them). */
async function backingStores(cdp: CDPSession): Promise<number> {
  const u = (await cdp.send("Runtime.getHeapUsage")) as { backingStorageSize?: number };
  return u.backingStorageSize ?? 0;
}

async function heapUsed(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
