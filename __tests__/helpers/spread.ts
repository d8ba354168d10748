/**
 * The cluster Jest project runs a test server as several nodes (server.ts, QSEC_TEST_NODES): a
 * client opened "on the server" goes to its nodes in turn, so the members of one test are spread
 * over them. `url` is the test server's first node; clients of any other URL are left alone.
 */
const clusters = new Map<string, { urls: string[]; next: number }>();

/** Registers a cluster's node URLs under its first one (server.ts); returns the unregister call. */
export function registerNodes(urls: string[]): () => void {
  clusters.set(urls[0], { urls, next: 0 });
  return () => clusters.delete(urls[0]);
}

/** The node the next client of `url` connects to: `url` itself unless it is a cluster's. */
export function spreadUrl(url: string): string {
  const c = clusters.get(url);
  return c ? c.urls[c.next++ % c.urls.length] : url;
}
