/**
 * The display name is kept for this tab (sessionStorage) and as a prefill for new tabs
 * (localStorage). It is not a secret; it only saves typing.
 */
const KEY = "qsec:displayName";

export function rememberName(name: string): void {
  try {
    sessionStorage.setItem(KEY, name);
    localStorage.setItem(KEY, name);
  } catch {
    /* not remembered */
  }
}

/** This tab's name first, then the last name used in any tab. */
export function recallName(): string | null {
  try {
    return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/**
 * Only this tab's name. A join link opened in a new tab uses the name this browser's identity used
 * in that room (lib/ui/your-rooms.ts) and otherwise asks.
 */
export function recallTabName(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}
