// setupFiles of the postgresql Jest project: the helpers (test-db.ts) create PostgreSQL databases.
process.env.QSEC_TEST_DB = "postgresql";
