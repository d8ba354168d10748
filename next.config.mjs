/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Next 16 allows one dev server per build folder; tests use their own (QSEC_NEXT_DIST_DIR) so they
  // can run beside a developer's `npm run dev`.
  distDir: process.env.QSEC_NEXT_DIST_DIR || ".next",
  // Server code (socket.io, prisma) lives outside app/ and is never bundled into pages.
  serverExternalPackages: ["@prisma/client", "better-sqlite3"],
};
export default nextConfig;
