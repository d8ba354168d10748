/**
 * Admin sessions: a JWT (HS256, via jose) in an httpOnly, SameSite=Strict cookie with an expiry.
 * The signing key is derived from ADMIN_TOKEN with HKDF, so changing the token ends every session
 * and a restart keeps them. Logout revokes the token's id until it would have expired anyway.
 * The admin token itself is compared in constant time (over SHA-256 digests, so the comparison
 * does not leak the token's length either).
 */
import { createHash, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";
import type { SharedState } from "../cluster/shared-state";

export const ADMIN_COOKIE = "qsec_admin";
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
const ISSUER = "qsec";
const AUDIENCE = "qsec-admin-console";

export interface AdminSession {
  jti: string;
  expiresAt: Date;
}

export function sessionKey(token: string): Uint8Array {
  return new Uint8Array(
    hkdfSync("sha256", Buffer.from(token, "utf8"), Buffer.from("qsec-admin-session-salt-v1"), Buffer.from("qsec admin session cookie v1"), 32),
  );
}

/** Signs a session token; exported so tests can make expired (or otherwise valid-looking) cookies. */
export async function signSession(key: Uint8Array, claims: { issuedAt: number; expiresAt: number; jti?: string }): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject("admin")
    .setJti(claims.jti ?? randomBytes(16).toString("hex"))
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .sign(key);
}

/** Reads one cookie from a Cookie header (the first one of that name). */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export class AdminAuth {
  private readonly key: Uint8Array | null;
  private readonly digest: Buffer | null;
  private readonly revoked = new Map<string, number>(); // jti → exp (seconds)

  constructor(
    token: string | null,
    readonly opts: { ttlSeconds?: number; secureCookies?: boolean; shared?: SharedState } = {},
  ) {
    this.key = token ? sessionKey(token) : null;
    this.digest = token ? createHash("sha256").update(token, "utf8").digest() : null;
  }

  /** False when no admin token is configured (production without ADMIN_TOKEN): every request is refused. */
  get enabled(): boolean {
    return this.key !== null;
  }

  checkToken(candidate: unknown): boolean {
    if (!this.digest || typeof candidate !== "string" || candidate.length === 0 || candidate.length > 1024) return false;
    return timingSafeEqual(createHash("sha256").update(candidate, "utf8").digest(), this.digest);
  }

  async issue(now = Date.now()): Promise<{ value: string; expiresAt: Date }> {
    if (!this.key) throw new Error("admin console disabled");
    const iat = Math.floor(now / 1000);
    const exp = iat + (this.opts.ttlSeconds ?? SESSION_TTL_SECONDS);
    return { value: await signSession(this.key, { issuedAt: iat, expiresAt: exp }), expiresAt: new Date(exp * 1000) };
  }

  async verify(value: string | null | undefined): Promise<AdminSession | null> {
    if (!this.key || !value || value.length > 4096) return null;
    try {
      const { payload } = await jwtVerify(value, this.key, {
        algorithms: ["HS256"],
        issuer: ISSUER,
        audience: AUDIENCE,
        subject: "admin",
        requiredClaims: ["exp", "iat", "jti"],
      });
      const jti = payload.jti!;
      if (this.revoked.has(jti)) return null;
      // Several nodes: a logout on another node holds here too.
      if (this.opts.shared && (await this.opts.shared.isAdminSessionRevoked(jti))) return null;
      return { jti, expiresAt: new Date(payload.exp! * 1000) };
    } catch {
      return null; // bad signature, expired, wrong claims, malformed: all simply "no session"
    }
  }

  async verifyCookieHeader(header: string | null | undefined): Promise<AdminSession | null> {
    return this.verify(readCookie(header, ADMIN_COOKIE));
  }

  async revoke(session: AdminSession): Promise<void> {
    const now = Date.now() / 1000;
    for (const [j, exp] of this.revoked) if (exp < now) this.revoked.delete(j);
    this.revoked.set(session.jti, session.expiresAt.getTime() / 1000);
    await this.opts.shared?.revokeAdminSession(session.jti, session.expiresAt.getTime());
  }

  /** Set-Cookie value for a new session. Path=/ so the admin Socket.IO handshake (/socket.io/) carries it. */
  cookie(value: string, expiresAt: Date, secure: boolean): string {
    return [
      `${ADMIN_COOKIE}=${value}`,
      "Path=/",
      "HttpOnly",
      "SameSite=Strict",
      `Expires=${expiresAt.toUTCString()}`,
      `Max-Age=${Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000))}`,
      ...(secure || this.opts.secureCookies ? ["Secure"] : []),
    ].join("; ");
  }

  clearCookie(secure: boolean): string {
    return [
      `${ADMIN_COOKIE}=`,
      "Path=/",
      "HttpOnly",
      "SameSite=Strict",
      "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      "Max-Age=0",
      ...(secure || this.opts.secureCookies ? ["Secure"] : []),
    ].join("; ");
  }
}
