/** Waiting in tests: on a condition that the test can observe, never on a guessed duration alone. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds (polling), failing after `ms`. */
export async function until(pred: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A BB84 session's row once the server has recorded how it ended: a client learns the outcome from
 * the relay before the row is written (on PostgreSQL that write can lag behind by a few milliseconds).
 */
export async function finishedSessionRow<R extends { outcome: string }>(find: () => Promise<R>, ms = 3000): Promise<R> {
  let row = await find();
  for (const end = Date.now() + ms; row.outcome === "running" && Date.now() < end;) {
    await sleep(20);
    row = await find();
  }
  return row;
}
