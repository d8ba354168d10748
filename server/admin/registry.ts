/**
 * How Next.js route handlers and server components reach the admin console that server/main.ts
 * attached: one typed slot on globalThis. Next bundles app/ code into its own module graph, so a
 * module-level variable would not be shared; globalThis is, and using it means the pages use the
 * process's one database connection, log writer and Socket.IO server instead of opening their own.
 */
import type { AdminConsole } from "./console";

declare global {
  var __qsecAdmin: AdminConsole | undefined;
}

export function publishAdminConsole(c: AdminConsole | undefined): void {
  globalThis.__qsecAdmin = c;
}

/** The console, or null when the app runs without server/main.ts (e.g. `next dev` alone). */
export function adminConsole(): AdminConsole | null {
  return globalThis.__qsecAdmin ?? null;
}
