/**
 * Which SQL dialect a Prisma client speaks, for the few raw queries that differ (placeholders, JSON
 * functions, ILIKE). Kept apart from ./db so that code bundled into Next.js routes (admin queries)
 * never pulls in the driver adapters.
 */
export type Dialect = "sqlite" | "postgresql";

export function dialectOfUrl(url: string): Dialect {
  if (url.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(url)) return "postgresql";
  throw new Error("DATABASE_URL must be a SQLite file: URL or a postgresql:// URL");
}

const dialects = new WeakMap<object, Dialect>();

/** Called by createPrisma (./db) for every client it makes. */
export function setDialect(prisma: object, dialect: Dialect): void {
  dialects.set(prisma, dialect);
}

/** The SQL dialect of a client made by createPrisma (raw queries differ: placeholders, JSON functions). */
export function dialectOf(prisma: object): Dialect {
  return dialects.get(prisma) ?? "sqlite";
}

/**
 * Rewrites a raw query written with SQLite's `?` placeholders into PostgreSQL's `$1, $2, …` when the
 * client is PostgreSQL (our raw queries never contain a literal `?`).
 */
export function placeholders(prisma: object, sql: string): string {
  if (dialectOf(prisma) === "sqlite") return sql;
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}
