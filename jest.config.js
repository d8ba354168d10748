/**
 * Jest: TypeScript through SWC; unit, integration (real server on port 0) and e2e (real Chromium).
 * Two projects: "sqlite" runs every suite on SQLite (the default engine); "postgresql" runs again
 * the suites that touch the database against PostgreSQL (a fresh qsec_test_<random> database per
 * test, dropped afterwards); "cluster" runs the chat, BB84 and admin suites again on two nodes
 * sharing PostgreSQL and Redis. `npm run test:sqlite` / `test:pg` / `test:cluster-suites` pick one.
 */
const common = {
  testEnvironment: "node",
  rootDir: __dirname,
  roots: ["<rootDir>/__tests__"],
  transform: {
    "^.+\\.(t|j)sx?$|^.+\\.mjs$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript", tsx: true }, target: "es2022", transform: { react: { runtime: "automatic" } } }, module: { type: "commonjs" } },
    ],
  },
  // jose, @tus/server, @tus/file-store, @tus/utils and srvx ship only ES modules; compile them to
  // CommonJS like our own code (Node itself loads them through require(esm)).
  transformIgnorePatterns: ["/node_modules/(?!(jose|@tus|srvx)/)"],
  moduleNameMapper: { "^@/(.*)$": "<rootDir>/$1" },
};

// The database-touching integration suites (chat, BB84 rows, admin console with export and
// retention, the logs CLI, the log writer, paged logs, text limits) plus the PostgreSQL-only ones.
const POSTGRES_SUITES = [
  "client-chat",
  "client-history",
  "persistent-rooms",
  "attachments",
  "key-backup",
  "bb84-relay",
  "admin-console",
  "admin-logs-cli",
  "log-writer",
  "hardening-paged-logs",
  "hardening-text",
  "pg-migrations",
  "pg-server-start",
  // Several server processes on Redis + PostgreSQL behind nginx (issue 11; `npm run test:cluster`
  // runs it alone), Redis restarted under two nodes, PostgreSQL restarted under the log writer
  // (these two start their own redis-server / PostgreSQL, never the shared ones).
  "pg-cluster",
  "pg-redis-restart",
  "pg-restart",
  // Caps and budgets across two in-process nodes: BB84 BUSY, row budgets and backup look-ups per
  // address, connections and presence counted again after a Redis restart (its own redis-server).
  "pg-cluster-caps",
  // Connection-state recovery on another node: broadcasts dispatched while a recovered connection
  // is admitted reach it (server/cluster/streams-adapter.ts; Redis only).
  "pg-stream-recovery",
];

// Browser suites that need PostgreSQL and Redis: the cluster behind nginx in Chromium (issue 11).
const POSTGRES_E2E = ["pg-cluster"];

// The same suites, unchanged, on a two-node cluster (issue 11): each test server is two application
// instances sharing one fresh PostgreSQL database and one fresh Redis key prefix, and the test's
// clients go to the two nodes in turn (__tests__/helpers/server.ts, spread.ts). Needs Redis on
// 127.0.0.1:6379 (QSEC_TEST_REDIS_URL).
const CLUSTER_SUITES = ["client-chat", "bb84-relay", "bb84-busy", "bb84-tabs", "admin-console"];

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...common,
      displayName: "sqlite",
      testMatch: ["**/*.test.ts", "**/*.test.tsx"],
      testPathIgnorePatterns: ["/node_modules/", "/__tests__/integration/pg-", "/__tests__/e2e/pg-"],
      globalSetup: "<rootDir>/__tests__/helpers/global-setup.js",
    },
    {
      ...common,
      displayName: "postgresql",
      testMatch: [
        ...POSTGRES_SUITES.map((s) => `<rootDir>/__tests__/integration/${s}.test.ts`),
        ...POSTGRES_E2E.map((s) => `<rootDir>/__tests__/e2e/${s}.e2e.test.ts`),
      ],
      setupFiles: ["<rootDir>/__tests__/helpers/pg-env.js"],
      globalSetup: "<rootDir>/__tests__/helpers/global-setup-pg.js",
      globalTeardown: "<rootDir>/__tests__/helpers/global-teardown-pg.js",
    },
    {
      ...common,
      displayName: "cluster",
      testMatch: CLUSTER_SUITES.map((s) => `<rootDir>/__tests__/integration/${s}.test.ts`),
      setupFiles: ["<rootDir>/__tests__/helpers/cluster-env.js"],
      globalSetup: "<rootDir>/__tests__/helpers/global-setup-pg.js",
      globalTeardown: "<rootDir>/__tests__/helpers/global-teardown-pg.js",
    },
  ],
};
