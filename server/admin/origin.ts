/**
 * Same-origin check for browser requests: a browser always sends Origin on a WebSocket handshake
 * and on cross-origin POST/PUT; a mismatch is refused. Without Origin (curl, the tests' clients)
 * the SameSite=Strict session cookie is still required.
 */
export function sameOrigin(origin: string | undefined | null, host: string | undefined | null): boolean {
  if (!origin) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
