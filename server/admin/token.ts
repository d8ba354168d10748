/**
 * Where the admin token comes from: ADMIN_TOKEN, or (development only, when unset) a random token
 * made on first start and kept in <data dir>/admin-token with owner-only permissions. A new token
 * is printed once, inside a one-click login link (server/main.ts; the token in the URL fragment);
 * later starts reuse the file silently. In production without ADMIN_TOKEN the console stays locked.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface AdminTokenResult {
  token: string | null;
  source: "env" | "file" | "generated" | "none";
  file?: string;
}

export const ADMIN_TOKEN_FILE = "admin-token";

export function loadAdminToken(opts: { envToken: string | undefined; dataDir: string; dev: boolean }): AdminTokenResult {
  if (opts.envToken) return { token: opts.envToken, source: "env" };
  if (!opts.dev) return { token: null, source: "none" };
  const file = path.join(opts.dataDir, ADMIN_TOKEN_FILE);
  try {
    const token = readFileSync(file, "utf8").trim();
    if (token.length >= 16) {
      // Tighten a file someone loosened (the token opens the console).
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return { token, source: "file", file };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const token = randomBytes(32).toString("base64url");
  writeFileSync(file, token + "\n", { mode: 0o600 });
  chmodSync(file, 0o600); // in case the file existed (empty/short) with other permissions
  return { token, source: "generated", file };
}
