/**
 * The fixture most hostile-client suites share: a fresh server (temporary SQLite) for every test of
 * the file, and the raw clients each test opens on it, all closed after the test.
 */
import { connectRaw, type RawClient } from "./raw-client";
import { startTestServer, type TestServer } from "./server";

export interface PerTest {
  /** This test's server (set in beforeEach). */
  srv: TestServer;
  /** Every raw client opened in this test; afterEach closes them. */
  clients: RawClient[];
  /** A raw client of this test's server (authenticated unless told otherwise), closed after the test. */
  raw(opts?: Parameters<typeof connectRaw>[1]): Promise<RawClient>;
}

export function serverPerTest(opts?: Parameters<typeof startTestServer>[0]): PerTest {
  const t: PerTest = {
    srv: undefined as unknown as TestServer,
    clients: [],
    async raw(o) {
      const c = await connectRaw(t.srv.url, o);
      t.clients.push(c);
      return c;
    },
  };
  beforeEach(async () => {
    t.srv = await startTestServer(opts);
  });
  afterEach(async () => {
    for (const c of t.clients.splice(0)) c.close();
    await t.srv.close();
  });
  return t;
}
