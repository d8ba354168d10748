// Drops the template database global-setup-pg.js made (each test drops its own clone).
const { Client } = require("pg");

module.exports = async () => {
  const name = process.env.QSEC_TEST_PG_TEMPLATE;
  if (!name) return;
  const c = new Client({ connectionString: process.env.QSEC_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
};
