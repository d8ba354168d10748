/**
 * Development without ADMIN_TOKEN: the real server makes a token on first start, keeps it
 * owner-only under the data directory, prints it once with the login link, and reuses it silently
 * on the next start (the relay alone, QSEC_PAGES=0, is enough to see this).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { io as ioc } from "socket.io-client";
import { ADMIN_COOKIE, sessionKey, signSession } from "@/server/admin/session";
import { startAppServer } from "../e2e/helpers/app-server";

jest.setTimeout(60_000);

test("the generated admin token is printed once, stored 0600, and opens the admin namespace", async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "qsec-admin-data-"));
  const env = { QSEC_PAGES: "0", QSEC_DATA_DIR: dataDir, ADMIN_TOKEN: "" };
  try {
    const first = await startAppServer({ env });
    let token: string;
    try {
      const file = path.join(dataDir, "admin-token");
      token = readFileSync(file, "utf8").trim();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const out = first.output();
      expect(out).toContain(`Admin console: ${first.url}/admin/login`);
      expect(out.split(token).length - 1).toBe(1); // printed exactly once

      const now = Math.floor(Date.now() / 1000);
      const cookie = `${ADMIN_COOKIE}=${await signSession(sessionKey(token), { issuedAt: now, expiresAt: now + 600 })}`;
      const result = await new Promise<string>((resolve) => {
        const s = ioc(`${first.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: { cookie } });
        s.once("connect", () => (s.close(), resolve("connected")));
        s.once("connect_error", (e) => (s.close(), resolve(e.message)));
      });
      expect(result).toBe("connected");
    } finally {
      await first.stop();
    }

    const second = await startAppServer({ env });
    try {
      expect(readFileSync(path.join(dataDir, "admin-token"), "utf8").trim()).toBe(token);
      expect(second.output()).not.toContain(token);
      expect(second.output()).not.toContain("Admin console:");
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
