/**
 * The floor under a BB84 round trip, measured in the same run as the sessions (bench:browser): a
 * bare Socket.IO server that forwards each frame to the other connected socket, with nothing of
 * QSEC on the path (no authentication, no sealing, no engine, no session checks). Two parties
 * ping-pong a 512-byte binary frame (the size of a mid-session Cascade frame) `rounds` times; a
 * round trip is party A → server → party B → server → party A, as a Cascade round trip is.
 *   - chromiumWorkers: each party is a dedicated Web Worker in its own Chromium browser context,
 *     with its own websocket (the path a BB84 worker connection takes);
 *   - node: two socket.io-client sockets in this process.
 * Whatever a QSEC round trip costs above this floor is QSEC's; the floor itself is the browser's
 * network stack and this machine's scheduling.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { median, round } from "./stats";

const FRAME_BYTES = 512;

/** The worker: connects, answers every frame of the peer ("echo") or sends `rounds` frames one after another and times each round trip ("lead"). */
const WORKER_SOURCE = `
import { io } from "socket.io-client";
onmessage = (e) => {
  const { url, role, rounds, frameBytes } = e.data;
  const s = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  const frame = new Uint8Array(frameBytes);
  crypto.getRandomValues(frame);
  if (role === "echo") {
    s.on("f", (d) => s.emit("f", d));
    s.on("connect", () => postMessage({ ready: true }));
    return;
  }
  const times = [];
  let t0 = 0;
  s.on("f", () => {
    times.push(performance.now() - t0);
    if (times.length === rounds) { s.close(); postMessage({ times }); return; }
    t0 = performance.now();
    s.emit("f", frame);
  });
  s.on("go", () => { t0 = performance.now(); s.emit("f", frame); });
  s.on("connect", () => postMessage({ ready: true }));
};`;

export interface RelayFloor {
  frameBytes: number;
  rounds: number;
  chromiumWorkers: { msPerRoundTrip: { median: number; mean: number; p90: number } };
  node: { msPerRoundTrip: { median: number; mean: number; p90: number } };
}

const stats = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: round(median(times), 3),
    mean: round(times.reduce((a, b) => a + b, 0) / times.length, 3),
    p90: round(sorted[Math.floor(sorted.length * 0.9)]!, 3),
  };
};

export async function measureRelayFloor(browser: Browser, rounds = 400): Promise<RelayFloor> {
  const workerJs = (
    await build({
      stdin: { contents: WORKER_SOURCE, resolveDir: __dirname, loader: "js" },
      bundle: true,
      write: false,
      platform: "browser",
      format: "iife",
      target: "es2022",
      minify: true,
      logLevel: "error",
    })
  ).outputFiles[0]!.text;
  const http = createServer((req, res) => {
    if (req.url === "/") return void res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>floor</title>");
    if (req.url === "/floor-worker.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(workerJs);
    if (!req.url?.startsWith("/socket.io/")) res.writeHead(404).end();
  });
  const server = new Server(http, { transports: ["websocket"] });
  // Forward each frame to the other socket; "go" to the first socket once two are connected.
  server.on("connection", (s) => {
    s.on("f", (d: Uint8Array) => s.broadcast.emit("f", d));
    if (server.sockets.sockets.size === 2) [...server.sockets.sockets.values()][0]!.emit("go");
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const contexts = [await browser.newContext(), await browser.newContext()];
  try {
    // Chromium: the leader connects first (it is told "go"), then the echo.
    const [lead, echo] = await Promise.all(contexts.map((c) => c.newPage()));
    for (const p of [lead!, echo!]) await p.goto(url);
    const start = (role: "lead" | "echo") =>
      `new Promise((resolve) => {
        const w = new Worker("/floor-worker.js");
        globalThis.__floor = new Promise((done) => { w.onmessage = (e) => (e.data.ready ? resolve() : done(e.data.times)); });
        w.postMessage({ url: location.origin, role: ${JSON.stringify(role)}, rounds: ${rounds}, frameBytes: ${FRAME_BYTES} });
      })`;
    await lead!.evaluate(start("lead"));
    await echo!.evaluate(start("echo"));
    const browserTimes = (await lead!.evaluate("globalThis.__floor")) as number[];
    for (const s of server.sockets.sockets.values()) s.disconnect(true);

    // Node: the same exchange between two socket.io-client sockets in this process.
    const nodeTimes = await new Promise<number[]>((resolve, reject) => {
      const frame = new Uint8Array(FRAME_BYTES);
      const a = connect(url, { transports: ["websocket"], reconnection: false, forceNew: true });
      a.on("connect", () => {
        const b = connect(url, { transports: ["websocket"], reconnection: false, forceNew: true });
        b.on("f", (d: Uint8Array) => b.emit("f", d));
        const times: number[] = [];
        let t0 = 0;
        a.on("f", () => {
          times.push(performance.now() - t0);
          if (times.length === rounds) {
            a.close();
            b.close();
            return resolve(times);
          }
          t0 = performance.now();
          a.emit("f", frame);
        });
        a.on("go", () => {
          t0 = performance.now();
          a.emit("f", frame);
        });
        b.on("connect_error", reject);
      });
      a.on("connect_error", reject);
    });
    // The first rounds warm up the connections and the JIT: left out.
    const warm = Math.min(50, Math.floor(rounds / 4));
    return {
      frameBytes: FRAME_BYTES,
      rounds: rounds - warm,
      chromiumWorkers: { msPerRoundTrip: stats(browserTimes.slice(warm)) },
      node: { msPerRoundTrip: stats(nodeTimes.slice(warm)) },
    };
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
    http.closeAllConnections();
    await server.close();
  }
}
