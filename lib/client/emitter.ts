/**
 * A tiny typed event emitter with no dependency on Node's 'events' module, so the client core runs
 * unchanged in browsers and in Node. Listeners that throw are isolated: one faulty UI subscriber
 * must not stop the others (or the client's own processing) from running.
 */
export type Listener<T> = (payload: T) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  /** Subscribes; returns the unsubscribe function (handy for React effects). */
  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    (this.listeners[event] ??= new Set()).add(fn);
    return () => this.off(event, fn);
  }

  once<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    const off = this.on(event, (p) => {
      off();
      fn(p);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    this.listeners[event]?.delete(fn);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners[event];
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (e) {
        // Surface the bug without breaking the client's state machine.
        if (typeof console !== "undefined") console.error(`[qsec] "${String(event)}" listener threw`, e);
      }
    }
  }

  removeAllListeners(): void {
    this.listeners = {};
  }
}
