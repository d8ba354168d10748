/**
 * The security headers of every HTTP response server/main.ts serves, and the Content-Security-Policy
 * of its pages (docs/security.md, "Browser hardening"). An XSS in a QSEC page could use the tab's
 * non-extractable identity keys and read every message, so the policy lets only the server's own
 * scripts run: Next.js's scripts carry a fresh nonce per response, and the scripts they load are
 * trusted through 'strict-dynamic'. An injected <script> or inline handler has no nonce and is
 * refused by the browser.
 *
 * The nonce reaches Next.js as the documented request header: Next reads the request's
 * Content-Security-Policy and puts its nonce on every script it renders; the root layout reads
 * x-nonce for its own inline script. Both request headers are overwritten here, so a client cannot
 * choose the nonce. Nonces need pages rendered per request (app/layout.tsx reads the header, which
 * makes every page dynamic).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** The request header that carries the response's nonce to the root layout (app/layout.tsx). */
export const NONCE_HEADER = "x-nonce";

/** Sent with every response, pages or not. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // A response is only ever what its Content-Type says (no sniffing an upload into HTML or script).
  "x-content-type-options": "nosniff",
  // Room ids are in page URLs; no request carries them to anyone in a Referer.
  "referrer-policy": "no-referrer",
  // No page may be framed (clickjacking); frame-ancestors 'none' says the same to CSP browsers.
  "x-frame-options": "DENY",
  // Features QSEC never uses stay off for the page and anything it could embed. Clipboard and
  // fullscreen (video attachments) keep their defaults.
  "permissions-policy":
    "accelerometer=(), browsing-topics=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()",
  // A page opened from (or opening) another origin shares no browsing context group with it: no
  // window reference across origins.
  "cross-origin-opener-policy": "same-origin",
  // No other origin may embed QSEC's responses (scripts, attachments) as subresources.
  "cross-origin-resource-policy": "same-origin",
};

/** A Host header value that is a host name, IPv4 or bracketed IPv6 address with an optional port. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

export interface CspOptions {
  /** Base64 of fresh random bytes, one per response. */
  nonce: string;
  /** Development (next dev): React's dev tooling needs eval. */
  dev: boolean;
  /** The request's Host header: the page's own WebSocket origin (Socket.IO; next dev's hot reload). */
  host?: string | undefined;
}

/** The Content-Security-Policy of a page response. */
export function contentSecurityPolicy({ nonce, dev, host }: CspOptions): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(nonce)) throw new Error("CSP nonce must be base64");
  // The page's own origin as ws:// and wss:// (behind a TLS proxy the server sees http but the
  // browser speaks wss). An odd Host adds nothing: 'self' still covers same-origin WebSockets in
  // CSP Level 3 browsers.
  const ws = host && HOST.test(host) ? ` ws://${host.toLowerCase()} wss://${host.toLowerCase()}` : "";
  return [
    "default-src 'self'",
    // 'strict-dynamic': scripts the nonced ones load (chunks, workers' modules) are trusted; 'self'
    // is ignored by browsers that know 'strict-dynamic' and kept for those that don't.
    // 'wasm-unsafe-eval': WebAssembly compilation (hash-wasm's Argon2id), not JavaScript eval.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic' 'wasm-unsafe-eval'${dev ? " 'unsafe-eval'" : ""}`,
    // React and recharts set style attributes; styles cannot run script.
    "style-src 'self' 'unsafe-inline'",
    // Thumbnails travel as data: URLs inside messages; decrypted attachments are blob: URLs.
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    // The BB84, attachment, Argon2 and lab workers are same-origin scripts.
    "worker-src 'self'",
    "manifest-src 'self'",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** 128 random bits, base64. */
export function newNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
}

/** The headers every response carries (SECURITY_HEADERS); idempotent. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/**
 * Sets the security headers on `res` and, for anything Next.js may render (every path but its
 * build output under /_next/static/, which is script and style files, and /_next/image), a fresh
 * nonce and the policy: on the response, and on the request for Next.js and the root layout.
 */
export function applySecurityHeaders(req: IncomingMessage, res: ServerResponse, dev: boolean): void {
  setSecurityHeaders(res);
  // Whatever a client sent under these names is never what the page renders with.
  delete req.headers["content-security-policy"];
  delete req.headers["content-security-policy-report-only"];
  delete req.headers[NONCE_HEADER];
  const path = req.url ?? "/";
  if (path.startsWith("/_next/static/") || path.startsWith("/_next/image")) return;
  const nonce = newNonce();
  const policy = contentSecurityPolicy({ nonce, dev, host: req.headers.host });
  req.headers["content-security-policy"] = policy;
  req.headers[NONCE_HEADER] = nonce;
  res.setHeader("content-security-policy", policy);
}
