/**
 * Attachment capabilities: short-lived bearer tokens the server signs (HMAC-SHA-256) and hands out
 * over the authenticated socket, so plain HTTP requests (tus uploads, ranged downloads) carry proof
 * of who asked, for which room, which attachment and which operation. A token alone is not enough:
 * every HTTP request also re-checks, in the database, that the holder may still do it (a member who
 * left is refused at once, whatever the token's expiry says).
 *
 *   token = base64url(JSON { v, op, sub, room, att, exp }) "." base64url(HMAC-SHA-256(secret, first part))
 *
 * The secret is QSEC_ATTACHMENT_SECRET when set (the same on every node behind a load balancer),
 * else 32 random bytes per process (tokens then die with a restart; clients ask for fresh ones).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type CapabilityOp = "upload" | "download";

export interface Capability {
  op: CapabilityOp;
  /** The holder's user id. */
  sub: string;
  room: string;
  att: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export class CapabilitySigner {
  constructor(private readonly secret: Uint8Array) {
    if (secret.length < 32) throw new Error("the attachment capability secret must be at least 32 bytes");
  }

  sign(c: Capability): string {
    const body = Buffer.from(JSON.stringify({ v: 1, ...c })).toString("base64url");
    return `${body}.${this.mac(body)}`;
  }

  /** The capability a token carries, or a reason it is refused (bad form, bad signature, expired). */
  verify(token: string, now = Date.now()): { ok: true; cap: Capability } | { ok: false; reason: string } {
    const dot = token.indexOf(".");
    if (dot <= 0 || token.length > 1024) return { ok: false, reason: "malformed capability" };
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), "base64url");
    const want = Buffer.from(this.mac(body), "base64url");
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: "capability signature invalid" };
    let c: Capability & { v?: number };
    try {
      c = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "malformed capability" };
    }
    if (
      c.v !== 1 ||
      (c.op !== "upload" && c.op !== "download") ||
      typeof c.sub !== "string" ||
      typeof c.room !== "string" ||
      typeof c.att !== "string" ||
      typeof c.exp !== "number"
    )
      return { ok: false, reason: "malformed capability" };
    if (c.exp <= now) return { ok: false, reason: "capability expired: ask for a fresh one (attachment:grant)" };
    return { ok: true, cap: { op: c.op, sub: c.sub, room: c.room, att: c.att, exp: c.exp } };
  }

  private mac(body: string): string {
    return createHmac("sha256", this.secret).update(`qsec-attachment-capability|${body}`).digest("base64url");
  }
}
