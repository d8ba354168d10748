import os from "node:os";

// In development Next only serves its scripts to the origins it knows. QSEC is meant to be opened
// from phones and other machines on the LAN (with QSEC_HTTPS=1), so allow this machine's own
// addresses and name; QSEC_DEV_ORIGINS adds more (comma-separated host names).
const lanOrigins = [
  os.hostname(),
  ...Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal)
    .map((i) => i.address),
  ...(process.env.QSEC_DEV_ORIGINS ?? "").split(",").map((s) => s.trim()),
].filter(Boolean);

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The dev-mode badge sits over the member list's footer.
  devIndicators: false,
  // Next 16 allows one dev server per build folder; tests use their own (QSEC_NEXT_DIST_DIR) so they
  // can run beside a developer's `npm run dev`.
  distDir: process.env.QSEC_NEXT_DIST_DIR || ".next",
  allowedDevOrigins: lanOrigins,
  // Server code (socket.io, prisma) lives outside app/ and is never bundled into pages.
  serverExternalPackages: ["@prisma/client", "better-sqlite3"],
};
export default nextConfig;
