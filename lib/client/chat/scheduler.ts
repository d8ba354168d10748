/**
 * The client's order and time: one serial queue for inbound events, timers that die with the
 * client, and bounded waits for a condition on its state. `close()` stops all three at once.
 *
 * Inbound events run one at a time in arrival order, so a room key share is never handled before
 * the room:updated that announced its epoch. A wait is re-checked (checkWaiters) after every change
 * that could satisfy it, instead of polling.
 */
import { ClientError } from "../errors";

type Waiter = { check: () => boolean; resolve: () => void; reject: (e: ClientError) => void; timer: ReturnType<typeof setTimeout> };

export class Scheduler {
  private queue: Promise<unknown> = Promise.resolve();
  private waiters = new Set<Waiter>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private _closed = false;

  /** onError: where a failure of a queued task goes (the client's "error" event). */
  constructor(private readonly onError: (e: unknown) => void) {}

  get closed(): boolean {
    return this._closed;
  }

  /** Runs fn after everything queued before it (inbound events are processed in order). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch((e) => {
      if (!this._closed) this.onError(e);
    });
    return run;
  }

  /** Resolves once check() holds (now or at a later checkWaiters), or rejects with onTimeout() after ms. */
  waitUntil(check: () => boolean, ms: number, onTimeout: () => ClientError): Promise<void> {
    if (check()) return Promise.resolve();
    if (this._closed) return Promise.reject(new ClientError("OFFLINE", "client closed"));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        check,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(onTimeout());
        }, ms),
      };
      this.waiters.add(w);
    });
  }

  /** Re-checks every pending wait; call after any change a wait may be waiting for. */
  checkWaiters(): void {
    for (const w of [...this.waiters]) {
      if (!w.check()) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve();
    }
  }

  /** Runs fn after ms unless the client closes first; never keeps a Node process alive. */
  later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    (t as { unref?: () => void }).unref?.();
    this.timers.add(t);
  }

  /** For good: pending timers are dropped and pending waits fail with OFFLINE. */
  close(): void {
    this._closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this.waiters]) {
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.reject(new ClientError("OFFLINE", "client closed"));
    }
  }
}
