/**
 * Leaves the console for the login page with a full page load, not a client-side navigation: the
 * admin session just ended (logged out, expired, revoked), so nothing the console held in memory
 * (its live-tail socket, loaded log rows, the router's cached pages) may outlive it.
 */
export function leaveConsole(): void {
  window.location.assign(new URL("/admin/login", window.location.href).href);
}
