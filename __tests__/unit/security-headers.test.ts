/**
 * server/security-headers.ts without a browser: what the policy allows in development and in
 * production, that a hostile Host header cannot add a source, that a client cannot choose the nonce
 * Next.js renders with, and which responses carry the policy. The browser's view (the policy
 * enforced on real pages, dev and production) is __tests__/e2e/csp.e2e.test.ts.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { applySecurityHeaders, contentSecurityPolicy, NONCE_HEADER, SECURITY_HEADERS } from "@/server/security-headers";

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(";").map((d) => {
      const [name, ...sources] = d.trim().split(/\s+/);
      return [name!, sources];
    }),
  );
}

function exchange(url: string, headers: Record<string, string>): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.headers = { ...headers };
  return { req, res: new ServerResponse(req) };
}

describe("contentSecurityPolicy", () => {
  test("production: scripts by nonce and 'strict-dynamic' only, no eval, the page's own WebSocket origin", () => {
    const p = directives(contentSecurityPolicy({ nonce: "AAAAAAAAAAAAAAAAAAAAAA==", dev: false, host: "127.0.0.1:3000" }));
    expect(p.get("script-src")).toEqual(["'self'", "'nonce-AAAAAAAAAAAAAAAAAAAAAA=='", "'strict-dynamic'", "'wasm-unsafe-eval'"]);
    expect(p.get("connect-src")).toEqual(["'self'", "ws://127.0.0.1:3000", "wss://127.0.0.1:3000"]);
    expect(p.get("object-src")).toEqual(["'none'"]);
    expect(p.get("frame-ancestors")).toEqual(["'none'"]);
    expect(p.get("base-uri")).toEqual(["'none'"]);
  });

  test("development adds 'unsafe-eval' and nothing else", () => {
    const prod = contentSecurityPolicy({ nonce: "bm9uY2U=", dev: false, host: "localhost:3000" });
    const dev = contentSecurityPolicy({ nonce: "bm9uY2U=", dev: true, host: "localhost:3000" });
    expect(dev).toBe(prod.replace("'wasm-unsafe-eval'", "'wasm-unsafe-eval' 'unsafe-eval'"));
  });

  test.each(["evil.example; script-src *", "a b", "x'y", "host:port", "", "[::1]x"])("a Host header %j adds no source", (host) => {
    const p = directives(contentSecurityPolicy({ nonce: "bm9uY2U=", dev: false, host }));
    expect(p.get("connect-src")).toEqual(["'self'"]);
    expect(p.get("script-src")).not.toContain("*");
  });

  test("IPv6 and LAN names with ports are kept, lower-cased", () => {
    expect(directives(contentSecurityPolicy({ nonce: "bm9uY2U=", dev: false, host: "[::1]:3000" })).get("connect-src")).toEqual([
      "'self'",
      "ws://[::1]:3000",
      "wss://[::1]:3000",
    ]);
    expect(directives(contentSecurityPolicy({ nonce: "bm9uY2U=", dev: false, host: "My-Laptop.local" })).get("connect-src")).toEqual([
      "'self'",
      "ws://my-laptop.local",
      "wss://my-laptop.local",
    ]);
  });

  test("a nonce that is not base64 is refused", () => {
    expect(() => contentSecurityPolicy({ nonce: "x' 'unsafe-inline", dev: false })).toThrow(/base64/);
  });
});

describe("applySecurityHeaders", () => {
  test("a page gets a fresh nonce per response, on the response and the request; a client's own CSP and nonce headers are replaced", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { req, res } = exchange("/room/abc", {
        host: "localhost:3000",
        "content-security-policy": "script-src 'nonce-Y2xpZW50'",
        "content-security-policy-report-only": "script-src 'nonce-Y2xpZW50'",
        [NONCE_HEADER]: "Y2xpZW50",
      });
      applySecurityHeaders(req, res, false);
      const nonce = req.headers[NONCE_HEADER] as string;
      expect(nonce).not.toBe("Y2xpZW50");
      expect(Buffer.from(nonce, "base64")).toHaveLength(16);
      expect(req.headers["content-security-policy"]).toBe(res.getHeader("content-security-policy"));
      expect(req.headers["content-security-policy"]).toContain(`'nonce-${nonce}'`);
      expect(req.headers["content-security-policy-report-only"]).toBeUndefined();
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.getHeader(k)).toBe(v);
      seen.add(nonce);
    }
    expect(seen.size).toBe(3);
  });

  test("Next's build output gets the security headers but no policy (a worker script would take it as its own)", () => {
    const { req, res } = exchange("/_next/static/chunks/app.js", { host: "localhost:3000", "content-security-policy": "script-src 'nonce-Y2xpZW50'" });
    applySecurityHeaders(req, res, true);
    expect(res.getHeader("content-security-policy")).toBeUndefined();
    expect(req.headers["content-security-policy"]).toBeUndefined();
    expect(req.headers[NONCE_HEADER]).toBeUndefined();
    expect(res.getHeader("x-content-type-options")).toBe("nosniff");
  });
});
