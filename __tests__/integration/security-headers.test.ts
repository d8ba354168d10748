/**
 * The security headers of the real server process (server/main.ts, relay only: no Next.js, so it
 * starts in seconds), directly and through nginx with the cluster's configuration
 * (deploy/nginx.conf.template): nginx passes every header through unchanged but the policy's
 * WebSocket sources, which name the address the browser used (nginx forwards its Host). Pages and
 * the policy enforced in a browser: __tests__/e2e/csp.e2e.test.ts.
 */
import { startAppServer, type AppServer } from "../e2e/helpers/app-server";
import { startNginx, type TestNginx } from "../helpers/nginx";
import { SECURITY_HEADERS } from "@/server/security-headers";

let server: AppServer;
let nginx: TestNginx;

beforeAll(async () => {
  // production: the policy without development's 'unsafe-eval' (relay only: no build is needed).
  server = await startAppServer({ production: true, env: { QSEC_PAGES: "0" } });
  const port = new URL(server.url).port;
  nginx = await startNginx([`server 127.0.0.1:${port};`]);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await server?.stop();
});

function connectSrc(policy: string | null): string[] {
  const d = (policy ?? "").split(";").find((x) => x.trim().startsWith("connect-src"));
  return d ? d.trim().split(/\s+/).slice(1) : [];
}

test("every response carries the security headers, directly and through nginx; the policy names the address the browser used", async () => {
  const direct = server.url.replace("//localhost:", "//127.0.0.1:");
  for (const base of [direct, nginx.url]) {
    const res = await fetch(`${base}/`);
    await res.arrayBuffer();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
    const policy = res.headers.get("content-security-policy");
    expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/]{22}==' 'strict-dynamic' 'wasm-unsafe-eval'(;|$)/);
    const { host } = new URL(base);
    expect(connectSrc(policy)).toEqual(["'self'", `ws://${host}`, `wss://${host}`]);

    // The health check, the attachment routes and Socket.IO's polling transport (each answered
    // before or without Next.js) carry the same headers.
    for (const path of ["/healthz", "/attachments/no-such-upload", "/socket.io/?EIO=4&transport=polling"]) {
      const r = await fetch(`${base}${path}`);
      await r.arrayBuffer();
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect([path, name, r.headers.get(name)]).toEqual([path, name, value]);
    }
  }
});
