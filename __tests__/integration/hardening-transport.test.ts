/**
 * Issue 10, findings 1 and 9: per-address connection counting where transport connections really
 * open and close, caps and a short connect timeout for transports that never finish the Socket.IO
 * handshake. Driven with raw HTTP (engine.io polling) and raw WebSockets.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createApplication, type AppOptions, type QsecApp } from "@/server/app";
import { connectRaw } from "../helpers/raw-client";
import { sleep, until } from "../helpers/waits";
import { serverPerTest } from "../helpers/per-test";

jest.setTimeout(60_000);

const t = serverPerTest();

async function ownApp(opts: Partial<AppOptions>): Promise<{ app: QsecApp; url: string; http: HttpServer; close(): Promise<void> }> {
  const http = createServer();
  const app = await createApplication(http, { prisma: t.srv.prisma, ...opts });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    app,
    url,
    http,
    async close() {
      await app.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** engine.io v4 polling handshake: resolves the session id, or the HTTP status when refused. */
async function pollingHandshake(url: string): Promise<{ sid?: string; status: number }> {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  const body = await res.text();
  if (!res.ok) return { status: res.status };
  const open = JSON.parse(body.slice(body.indexOf("{"))) as { sid: string };
  return { sid: open.sid, status: res.status };
}

async function post(url: string, sid: string, payload: string): Promise<number> {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
  await res.text();
  return res.status;
}

test("a connect and a close in one polling payload, 200 times, does not lock the address out", async () => {
  for (let i = 0; i < 200; i++) {
    const h = await pollingHandshake(t.srv.url);
    expect(h.status).toBe(200);
    await post(t.srv.url, h.sid!, "40\x1e1"); // Socket.IO CONNECT to "/", then engine.io close
  }
  await sleep(50);
  const c = await connectRaw(t.srv.url); // used to fail with TOO_MANY_CONNECTIONS after ~130
  expect(await c.call("room:join", { roomId: "after-flood", displayName: "honest" })).toMatchObject({ ok: true });
  c.close();
  await until(() => t.srv.app.guard.count("127.0.0.1").open === 0, 5000, "every transport counted closed");
});

test("several CONNECT packets on one transport connection get one socket", async () => {
  const h = await pollingHandshake(t.srv.url);
  await post(t.srv.url, h.sid!, "40\x1e40\x1e40\x1e40");
  await sleep(100);
  expect(t.srv.app.io.of("/").sockets.size).toBe(1);
  await post(t.srv.url, h.sid!, "1");
});

test("handshakes that never connect are capped per address and closed by the connect timeout", async () => {
  // The connect timeout must outlast the 40 handshakes, or an early one is closed (freeing its slot)
  // before the last arrives: 4 s leaves room on a loaded machine; they are sent all at once.
  const s = await ownApp({ maxPendingPerAddress: 8, connectTimeoutMs: 4000 });
  try {
    const results = await Promise.all(Array.from({ length: 40 }, () => pollingHandshake(s.url)));
    const accepted = results.filter((r) => r.status === 200).length;
    expect(accepted).toBe(8);
    expect(results.filter((r) => r.status === 403).length).toBe(32);
    await until(() => s.app.guard.count("127.0.0.1").open === 0, 15_000, "pending transports closed by the connect timeout");
    const c = await connectRaw(s.url);
    c.close();
  } finally {
    await s.close();
  }
});

test("raw WebSockets that skip the Socket.IO handshake are capped and closed", async () => {
  const s = await ownApp({ maxPendingPerAddress: 8, connectTimeoutMs: 4000 });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const WebSocket = require("ws") as new (url: string) => { on(ev: string, fn: (...a: unknown[]) => void): void; close(): void };
  const sockets: { close(): void }[] = [];
  try {
    const outcomes = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(`${s.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
            sockets.push(ws);
            ws.on("open", () => resolve("open"));
            ws.on("error", () => resolve("refused"));
            ws.on("unexpected-response", () => resolve("refused"));
          }),
      ),
    );
    expect(outcomes.filter((o) => o === "open").length).toBeLessThanOrEqual(8);
    expect(outcomes.filter((o) => o === "refused").length).toBeGreaterThanOrEqual(22);
    await until(() => s.app.guard.count("127.0.0.1").open === 0, 15_000, "raw WebSockets closed by the connect timeout");
  } finally {
    for (const w of sockets) w.close();
    await s.close();
  }
});

test("the per-address cap still holds for real Socket.IO connections and frees on close", async () => {
  const s = await ownApp({ maxConnectionsPerAddress: 3 });
  try {
    const cs = await Promise.all([
      connectRaw(s.url, { authenticate: false }),
      connectRaw(s.url, { authenticate: false }),
      connectRaw(s.url, { authenticate: false }),
    ]);
    await expect(connectRaw(s.url, { authenticate: false })).rejects.toThrow("TOO_MANY_CONNECTIONS");
    cs[0].close();
    await until(() => s.app.guard.count("127.0.0.1").admitted === 2, 3000, "a closed connection frees its slot");
    const again = await connectRaw(s.url, { authenticate: false });
    for (const c of [...cs, again]) c.close();
  } finally {
    await s.close();
  }
});
