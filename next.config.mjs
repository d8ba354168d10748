/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Server code (socket.io, prisma) lives outside app/ and is never bundled into pages.
  serverExternalPackages: ["@prisma/client", "better-sqlite3"],
};
export default nextConfig;
