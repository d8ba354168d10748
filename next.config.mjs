import { readFileSync } from "node:fs";
import os from "node:os";

// In development Next only serves its scripts to the origins it knows (by default localhost and
// *.localhost). QSEC is opened on this machine by any loopback name (the tests use 127.0.0.1) and
// from phones and other machines on the LAN (with QSEC_HTTPS=1), so allow the loopback names, this
// machine's own addresses and name; QSEC_DEV_ORIGINS adds more (comma-separated host names).
// IPv6 origins are matched with their brackets ("[::1]").
const lanOrigins = [
  "localhost",
  "127.0.0.1",
  "[::1]",
  "::1",
  os.hostname(),
  ...Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal)
    .map((i) => i.address),
  ...(process.env.QSEC_DEV_ORIGINS ?? "").split(",").map((s) => s.trim()),
].filter(Boolean);

// Next 16 allows one dev server per build folder; tests use their own (QSEC_NEXT_DIST_DIR) so they
// can run beside a developer's `npm run dev`.
const distDir = process.env.QSEC_NEXT_DIST_DIR || ".next";

// `next dev` and `next build` add "<distDir>/types/**/*.ts" and "<distDir>/dev/types/**/*.ts" to
// tsconfig.json's include (and rewrite the whole file) when they are missing. tsconfig.json lists
// them for every build folder the project uses (.next, .next-e2e, .next-e2e-admin), so builds leave
// it unchanged; say so when another folder is about to change it.
const tsInclude = JSON.parse(readFileSync(new URL("./tsconfig.json", import.meta.url), "utf8")).include ?? [];
if (!tsInclude.includes(`${distDir}/types/**/*.ts`)) {
  console.warn(
    `next.config.mjs: tsconfig.json's "include" does not list ${distDir}/types; Next will add it. Add the folder there (both types and dev/types) to keep the file stable.`,
  );
}

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The dev-mode badge sits over the member list's footer.
  devIndicators: false,
  distDir,
  allowedDevOrigins: lanOrigins,
  // Server code (socket.io, prisma) lives outside app/ and is never bundled into pages.
  serverExternalPackages: ["@prisma/client", "better-sqlite3"],
};
export default nextConfig;
