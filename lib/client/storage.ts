/**
 * Where the client keeps what must survive a reload but is not secret: which peers the user marked
 * verified (keyed by the peer's signing key) and which signing key was last seen behind a display
 * name in a room (to flag a changed key). Never keys, never messages.
 */
export interface KeyValueStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

export class MemoryStorage implements KeyValueStorage {
  private map = new Map<string, string>();
  get(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  set(key: string, value: string): void {
    this.map.set(key, value);
  }
  remove(key: string): void {
    this.map.delete(key);
  }
}

/** Minimal shape of window.localStorage (so this file needs no DOM types at runtime). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A KeyValueStorage over localStorage (or sessionStorage), every key under `prefix`. Storage errors
 * (quota, private mode) degrade to "not remembered" instead of throwing into the client.
 */
export function webStorage(store: WebStorageLike, prefix = "qsec:"): KeyValueStorage {
  return {
    get(key) {
      try {
        return store.getItem(prefix + key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        store.setItem(prefix + key, value);
      } catch {
        /* not remembered */
      }
    },
    remove(key) {
      try {
        store.removeItem(prefix + key);
      } catch {
        /* ignore */
      }
    },
  };
}
