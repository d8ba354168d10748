// setupFiles of the cluster Jest project: each test server is two application instances (nodes)
// sharing one fresh PostgreSQL database and one fresh Redis key prefix (server.ts).
process.env.QSEC_TEST_DB = "postgresql";
process.env.QSEC_TEST_NODES = "2";
