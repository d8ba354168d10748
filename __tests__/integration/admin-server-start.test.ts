/**
 * The admin console's start-up on the real server (server/main.ts; the relay alone, QSEC_PAGES=0,
 * is enough): the development token file, log retention from the environment, and bad settings.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { io as ioc } from "socket.io-client";
import { ADMIN_COOKIE, sessionKey, signSession } from "@/server/admin/session";
import { createPrisma } from "@/server/db";
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
      expect(out).toContain("Admin console login link");
      expect(out).toContain(`${first.url}/admin/login#token=${token}`); // one link that logs in; the token in the fragment
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
      expect(second.output()).not.toContain("login link");
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("QSEC_LOG_RETENTION_DAYS deletes old rows when the server starts and says so in its log", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qsec-retention-"));
  const file = path.join(dir, "r.db");
  copyFileSync(process.env.QSEC_TEMPLATE_DB!, file);
  const seed = await createPrisma(`file:${file}`);
  await seed.room.create({ data: { id: "aged" } });
  const day = 86_400_000;
  await seed.roomLog.createMany({
    data: [100, 8, 6, 0].map((d) => ({
      roomId: "aged",
      type: "MESSAGE_RELAYED",
      meta: JSON.stringify({ age: d }),
      createdAt: new Date(Date.now() - d * day - 60_000),
    })),
  });
  await seed.$disconnect(); // the server migrates the file at start and wants it to itself
  let prisma: Awaited<ReturnType<typeof createPrisma>> | undefined;
  try {
    const token = "retention-test-admin-token-0123456789";
    const server = await startAppServer({ env: { QSEC_PAGES: "0", DATABASE_URL: `file:${file}`, QSEC_LOG_RETENTION_DAYS: "7", ADMIN_TOKEN: token } });
    try {
      prisma = await createPrisma(`file:${file}`);
      let left: number[] = [];
      const end = Date.now() + 20_000;
      while (true) {
        left = (await prisma.roomLog.findMany({ where: { roomId: "aged" } })).map((r) => JSON.parse(r.meta).age).sort((a, b) => a - b);
        if (left.length === 2 || Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(left).toEqual([0, 6]);
      expect(server.output()).toMatch(/log retention run \{"trigger":"start","days":7,"cutoff":"[^"]+","deleted":2\}/);
      expect(server.output()).not.toContain(token);
    } finally {
      await server.stop();
    }
  } finally {
    await prisma?.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a bad admin setting stops the server with a message naming it", async () => {
  await expect(startAppServer({ env: { QSEC_PAGES: "0", ADMIN_TOKEN: "short" } })).rejects.toThrow(/ADMIN_TOKEN must be at least 16 characters/);
  await expect(startAppServer({ env: { QSEC_PAGES: "0", QSEC_LOG_RETENTION_DAYS: "a week" } })).rejects.toThrow(/QSEC_LOG_RETENTION_DAYS/);
});
