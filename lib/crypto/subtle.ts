/** The one place that reaches for WebCrypto, with a clear error when it is missing (insecure context). */
export function subtle(): SubtleCrypto {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c || !c.subtle) {
    throw new Error("WebCrypto (crypto.subtle) is unavailable: open the app over https:// or on localhost (a secure context)");
  }
  return c.subtle;
}

export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c || typeof c.getRandomValues !== "function") throw new Error("crypto.getRandomValues is unavailable");
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65536 bytes per call.
  for (let o = 0; o < n; o += 65536) c.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
}

/** True when this environment has WebCrypto with Ed25519 and X25519 (Node 20, current browsers). */
export async function cryptoSupport(): Promise<{ ok: boolean; missing: string[] }> {
  const missing: string[] = [];
  let s: SubtleCrypto;
  try {
    s = subtle();
  } catch {
    return { ok: false, missing: ["crypto.subtle (secure context required)"] };
  }
  try {
    await s.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch {
    missing.push("Ed25519");
  }
  try {
    await s.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  } catch {
    missing.push("X25519");
  }
  return { ok: missing.length === 0, missing };
}
