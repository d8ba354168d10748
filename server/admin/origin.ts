/**
 * Same-origin check for browser requests: a browser always sends Origin on a WebSocket handshake
 * and on cross-origin POST/PUT; a mismatch is refused. Without Origin (curl, the tests' clients)
 * the SameSite=Strict session cookie is still required.
 *
 * The whole origin is compared (scheme, host and port), the scheme being the one this server
 * actually speaks on the connection: `https://host:port` is not this plain-http server's origin,
 * even though the Host header matches.
 */
export function sameOrigin(origin: string | undefined | null, host: string | undefined | null, secure: boolean): boolean {
  if (!origin) return true;
  if (!host) return false;
  try {
    const expected = new URL(`${secure ? "https:" : "http:"}//${host}`);
    return new URL(origin).origin === expected.origin;
  } catch {
    return false;
  }
}
