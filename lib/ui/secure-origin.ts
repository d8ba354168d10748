/**
 * Whether a page can use WebCrypto. Browsers expose crypto.subtle only in a secure context:
 * https, or http from a loopback host (W3C Secure Contexts, "potentially trustworthy origin").
 * The server uses this to answer before any script runs (so the explanation shows even where
 * the page's scripts cannot load); in the browser, window.isSecureContext has the last word.
 */
export interface PageLocation {
  protocol: string; // "http:" | "https:"
  host: string; // hostname[:port]
  hostname: string;
  port: string;
  path: string;
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

export function isPotentiallyTrustworthy(loc: Pick<PageLocation, "protocol" | "hostname">): boolean {
  return loc.protocol === "https:" || isLoopbackHost(loc.hostname);
}

/** From the request's Host and X-Forwarded-Proto (Next sets the latter from the socket). */
export function locationFromHeaders(host: string | null, forwardedProto: string | null, path: string): PageLocation | null {
  if (!host) return null;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!m) return null;
  const proto = (forwardedProto ?? "http").split(",")[0].trim().toLowerCase();
  return { protocol: proto === "https" ? "https:" : "http:", host, hostname: m[1], port: m[2] ?? "", path };
}

export function locationFromWindow(): PageLocation {
  const l = window.location;
  return { protocol: l.protocol, host: l.host, hostname: l.hostname, port: l.port, path: l.pathname };
}
