import { PrismaClient } from "@prisma/client";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

/** Prisma over SQLite through the better-sqlite3 driver adapter (no native Prisma engine). */
export async function createPrisma(databaseUrl: string): Promise<PrismaClient> {
  const prisma = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: databaseUrl }) });
  // WAL lets log flushes proceed beside readers; NORMAL sync is durable across process crashes.
  await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await prisma.$queryRawUnsafe("PRAGMA synchronous = NORMAL");
  await prisma.$queryRawUnsafe("PRAGMA busy_timeout = 5000");
  return prisma;
}
export type { PrismaClient };
