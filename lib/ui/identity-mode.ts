/**
 * Which identity this tab uses (issue 12, item 1). The default is the browser profile's identity,
 * shared by every tab (lib/crypto/identity-store.ts). "Join as someone else in this tab" switches
 * this tab, and only this tab, to its own identity (lib/crypto/tab-identity-store.ts); the choice
 * is kept in sessionStorage so a reload of that tab stays the other member.
 */
const KEY = "qsec:identityMode";

export type IdentityMode = "profile" | "tab";

export function identityMode(): IdentityMode {
  try {
    return sessionStorage.getItem(KEY) === "tab" ? "tab" : "profile";
  } catch {
    return "profile";
  }
}

export function setIdentityMode(mode: IdentityMode): void {
  try {
    if (mode === "tab") sessionStorage.setItem(KEY, "tab");
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the mode lasts as long as the page */
  }
}
