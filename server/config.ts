/**
 * Environment, parsed once at start-up by zod; a bad value stops the server with a message that
 * names the variable.
 */
import { z } from "zod";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .optional()
  .transform((v) => v === "1" || v === "true" || v === "yes");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** `file:…` selects SQLite (the default), `postgresql://…` PostgreSQL (docs/deploy.md). */
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, "DATABASE_URL must be a SQLite file: URL or a postgresql:// URL")
    .default("file:./data/qsec.db"),
  QSEC_HTTPS: bool,
  /** Serve the Next.js pages (default); "0" runs the Socket.IO relay alone. */
  QSEC_PAGES: z
    .enum(["1", "0", "true", "false", ""])
    .optional()
    .transform((v) => v !== "0" && v !== "false"),
  QSEC_DATA_DIR: z.string().min(1).default("data"),
  QSEC_LOG_FLUSH_MS: z.coerce.number().int().min(5).max(100).default(50),
  /** Room-log rows held while the database can't take them (retried every flush); past it new rows are dropped and counted. */
  QSEC_LOG_QUEUE_MAX: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  /** The admin console's secret; unset in development: generated once into <data dir>/admin-token. */
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === "" ? undefined : v))
    .pipe(z.string().min(16, "ADMIN_TOKEN must be at least 16 characters").max(1024).optional()),
  /** Delete room logs older than this many days, at start and daily (unset: keep everything). */
  QSEC_LOG_RETENTION_DAYS: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : Number(v)))
    .pipe(z.number().min(0, "QSEC_LOG_RETENTION_DAYS must be ≥ 0").max(36500).optional()),
  /** Most days a room may keep its encrypted history (rooms ask 30 by default); 0: every room is ephemeral. */
  QSEC_HISTORY_DAYS: z.coerce.number().int().min(0, "QSEC_HISTORY_DAYS must be ≥ 0").max(3650).default(365),
  /** A member with no connection for this many days is removed from the room (a new epoch). */
  QSEC_MEMBER_TTL_DAYS: z.coerce.number().min(0.001, "QSEC_MEMBER_TTL_DAYS must be > 0").max(3650).default(7),
  /** Largest attachment, in MB of the file (its ciphertext, the tus Upload-Length, is slightly larger). */
  QSEC_MAX_ATTACHMENT_MB: z.coerce.number().min(1, "QSEC_MAX_ATTACHMENT_MB must be ≥ 1").max(2000).default(100),
  /** All attachments of one room together, MB. */
  QSEC_ROOM_ATTACHMENT_QUOTA_MB: z.coerce.number().min(1).max(1_000_000).default(2048),
  /** One member's attachments in one room together, MB. */
  QSEC_MEMBER_ATTACHMENT_QUOTA_MB: z.coerce.number().min(1).max(1_000_000).default(512),
  /** The attachment store (ciphertext files); default <QSEC_DATA_DIR>/attachments. Several nodes: one shared path. */
  QSEC_ATTACHMENT_DIR: z.string().min(1).optional(),
  /** 64 hex characters signing attachment capabilities; set the same on every node (unset: random per process). */
  QSEC_ATTACHMENT_SECRET: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "QSEC_ATTACHMENT_SECRET must be 64 hex characters (32 bytes)")
    .optional(),
  /** Set: this process is one node of several sharing state through this Redis (docs/deploy.md); unset: one process, state in memory. */
  QSEC_REDIS_URL: z
    .string()
    .optional()
    .transform((v) => (v === "" ? undefined : v))
    .pipe(
      z
        .string()
        .regex(/^rediss?:\/\//, "QSEC_REDIS_URL must be a redis:// or rediss:// URL")
        .optional(),
    ),
  /** Prefix of every Redis key and stream this deployment uses (several deployments or tests may share one Redis). */
  QSEC_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, "QSEC_REDIS_PREFIX: 1-64 of A-Z a-z 0-9 : _ . -")
    .default("qsec:"),
  /** This node's name in the cluster (default: random per start). */
  QSEC_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "QSEC_NODE_ID: 1-64 of A-Z a-z 0-9 _ . -")
    .optional(),
  /** With Redis: how long a dropped connection may come back (on any node) and receive what it missed. */
  QSEC_RECOVERY_MS: z.coerce.number().int().min(1000).max(600_000).default(120_000),
  /**
   * With Redis: events the shared stream keeps (approximately; older ones are trimmed). A dropped
   * connection recovers only while what it missed is still in the stream.
   */
  QSEC_STREAM_MAXLEN: z.coerce.number().int().min(1000).max(10_000_000).default(100_000),
  /** Concurrent connections one client address may hold, across all nodes with Redis (default 128). */
  QSEC_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(128),
  /** Behind a load balancer (nginx): take the client address from the X-Forwarded-For header it sets (its last entry). */
  QSEC_TRUST_PROXY: bool,
  /** BB84 parties in browsers carry their frames over a Web Worker's own connection (bb84:ticket); "0" turns that off (default on). */
  QSEC_BB84_WORKER_LINKS: z
    .enum(["1", "0", "true", "false", "yes", "no", ""])
    .optional()
    .transform((v) => !(v === "0" || v === "false" || v === "no")),
});
export type ServerEnv = z.infer<typeof envSchema>;

export function loadEnv(source: NodeJS.ProcessEnv = process.env): ServerEnv {
  const r = envSchema.safeParse(source);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join("\n")}`);
  }
  return r.data;
}
