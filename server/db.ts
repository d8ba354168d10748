import { PrismaClient } from "@prisma/client";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { dialectOfUrl, setDialect } from "./db-dialect";

export { dialectOf, dialectOfUrl, placeholders, type Dialect } from "./db-dialect";

/**
 * The database behind QSEC, chosen by DATABASE_URL's scheme (see ./db-dialect): SQLite through
 * better-sqlite3 or PostgreSQL through pg, both as Prisma driver adapters (no native Prisma engine).
 */
export async function createPrisma(databaseUrl: string): Promise<PrismaClient> {
  if (dialectOfUrl(databaseUrl) === "postgresql") {
    // The PostgreSQL client is generated from prisma/postgresql/schema.prisma (itself generated from
    // prisma/schema.prisma, so the models are the same) into node_modules/.prisma/client-pg. Its
    // type is the SQLite client's: the schema check keeps both model sets identical, and the one
    // API difference (`mode: "insensitive"` filters) goes through dialectOf.
    // Loaded on demand (a SQLite deployment never loads it) with require: ".prisma/…" is no valid
    // ES module specifier, and the generated client is CommonJS anyway.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrismaClient: PgClient } = require(".prisma/client-pg") as { PrismaClient: new (opts: { adapter: PrismaPg }) => unknown };
    const prisma = new PgClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) }) as PrismaClient;
    setDialect(prisma, "postgresql");
    await prisma.$queryRawUnsafe("SELECT 1"); // fail at start-up, with the driver's message, if the server is unreachable
    return prisma;
  }
  const prisma = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: databaseUrl }) });
  setDialect(prisma, "sqlite");
  // WAL lets log flushes proceed beside readers; NORMAL sync is durable across process crashes.
  await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await prisma.$queryRawUnsafe("PRAGMA synchronous = NORMAL");
  await prisma.$queryRawUnsafe("PRAGMA busy_timeout = 5000");
  return prisma;
}

export type { PrismaClient };
