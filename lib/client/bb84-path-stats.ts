/**
 * Where one BB84 session's time went on this client, summed over the session: how long arriving
 * frames waited for the session's queue, how long the party took per frame (open, engine step,
 * seal: measured where the party runs, the Web Worker in a browser; the rest of partyMs is the hop
 * to it and back, none for a frame that came over the worker's own connection), how long relayed frames took to be acknowledged (off the protocol's path), and
 * how long we waited for the peer's answer after handing our frames to the relay (the network,
 * the server and the peer's own step).
 *
 * In a browser the figures are published at the session's end as one User Timing entry
 * (`performance.measure("qsec:bb84", { detail })`), which `npm run bench:browser` reads; nothing
 * else is recorded or sent anywhere. Numbers only: no key material, no frame contents.
 */
export interface Bb84PathStats {
  /** Frames received and handed to the party. */
  frames: number;
  /** Of those, frames the party took over its own connection (a Web Worker's BB84 worker connection: no page hop at all). */
  linked: number;
  /** Frames that completed a message (engine steps). */
  steps: number;
  /** Arrival → the session's queue takes the frame. */
  queueMs: number;
  /** The party's whole answer to a frame as the session sees it (includes the worker hop). */
  partyMs: number;
  openMs: number;
  engineMs: number;
  sealMs: number;
  /** Frames relayed; of them, those sent with an ack, and the sum of their emit → ack times (a worker connection's small frames go without one). */
  relayed: number;
  acked: number;
  relayAckMs: number;
  /** Our frames handed to the relay → the peer's next frame arrives. */
  peerWaitMs: number;
}

export function emptyPathStats(): Bb84PathStats {
  return { frames: 0, linked: 0, steps: 0, queueMs: 0, partyMs: 0, openMs: 0, engineMs: 0, sealMs: 0, relayed: 0, acked: 0, relayAckMs: 0, peerWaitMs: 0 };
}

/** Publishes the figures as a User Timing entry in a browser page (no-op elsewhere). */
export function publishPathStats(stats: Bb84PathStats, about: Record<string, unknown>): void {
  if (typeof window === "undefined" || typeof performance === "undefined" || typeof performance.measure !== "function") return;
  try {
    const detail: Record<string, unknown> = { ...about };
    for (const [k, v] of Object.entries(stats)) detail[k] = Math.round(v * 100) / 100;
    performance.measure("qsec:bb84", { detail, start: performance.now() - 1, end: performance.now() });
    // Keep the page's timeline small: only the latest few sessions' entries.
    const all = performance.getEntriesByName("qsec:bb84", "measure");
    if (all.length > 20) {
      const keep = all.slice(-20).map((e) => ({ detail: (e as PerformanceMeasure).detail }));
      performance.clearMeasures("qsec:bb84");
      for (const e of keep) performance.measure("qsec:bb84", { detail: e.detail, start: performance.now() - 1, end: performance.now() });
    }
  } catch {
    /* instrumentation only */
  }
}
