/**
 * Proof of possession: the server hands out a fresh random nonce and the socket signs it (with its
 * public keys in the transcript) using its Ed25519 key. The user id is derived from that key, so no
 * one, the server included, can pick another member's id. Until this succeeds, every other command
 * answers NOT_AUTHENTICATED.
 */
import { randomBytes } from "node:crypto";
import { verifyAgreementBinding, verifyAuth, userIdFromSigningKey } from "@/lib/crypto";
import { LIMITS } from "@/lib/protocol";
import { registerCommand, type CommandTable } from "../command";
import type { Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";
import { closeWithNotice } from "../close-with-notice";
import { RedisState } from "../cluster/redis-state";
import type { SocketRef } from "../cluster/shared-state";

const NONCE_TTL_MS = 60_000;

/** A connection that has not authenticated within LIMITS.authTimeoutMs is closed. */
export function watchAuthentication(socket: QsecSocket): void {
  const timer = setTimeout(() => {
    authTimers.delete(socket);
    if (!socket.data.userId) socket.disconnect(true);
  }, LIMITS.authTimeoutMs);
  timer.unref();
  authTimers.set(socket, timer);
}

/** The timer of each connection still to authenticate; cleared on success or disconnect. */
const authTimers = new WeakMap<QsecSocket, NodeJS.Timeout>();

export function authenticationEnded(socket: QsecSocket): void {
  clearTimeout(authTimers.get(socket));
  authTimers.delete(socket);
}

export function registerAuth(deps: Deps, commands: CommandTable): void {
  registerCommand(deps, commands, "auth:hello", async (socket) => {
    if (socket.data.userId) refuse("ALREADY_AUTHENTICATED", "this connection is already authenticated");
    const nonce = randomBytes(32).toString("base64url");
    socket.data.nonce = { value: nonce, issuedAt: Date.now() };
    return { nonce };
  });

  registerCommand(deps, commands, "auth:prove", async (socket, p) => {
    if (socket.data.userId) refuse("ALREADY_AUTHENTICATED", "this connection is already authenticated");
    const nonce = socket.data.nonce;
    socket.data.nonce = null; // one attempt per nonce
    if (!nonce || Date.now() - nonce.issuedAt > NONCE_TTL_MS) refuse("AUTH_FAILED", "no fresh nonce: call auth:hello first");
    const valid =
      (await verifyAuth(p.signingKey, p.agreementKey, nonce.value, p.signature)) &&
      (await verifyAgreementBinding({ signingKey: p.signingKey, agreementKey: p.agreementKey, agreementSig: p.agreementSig }));
    if (!valid) refuse("AUTH_FAILED", "signature does not verify");
    if (!socket.connected) refuse("AUTH_FAILED", "connection closed");
    const userId = await userIdFromSigningKey(p.signingKey);
    // Attached as a BB84 worker connection (bb84:attach) while the signature was being checked.
    if (socket.data.userId) refuse("ALREADY_AUTHENTICATED", "this connection is already authenticated");

    // Up to maxSocketsPerIdentity connections per identity (the tabs of one browser profile share
    // it); one more closes the oldest. Closing a connection never leaves a room (membership.ts).
    socket.data.userId = userId;
    authenticationEnded(socket);
    socket.data.authAt = Date.now();
    socket.data.keys = { signingKey: p.signingKey, agreementKey: p.agreementKey, agreementSig: p.agreementSig };
    const list = deps.sockets.get(userId) ?? [];
    list.push(socket);
    deps.sockets.set(userId, list);
    // The identity's connections on every node count (one process: this one's; several: a Lua
    // script in Redis); the oldest beyond the cap is told and closed by the node it is on.
    const shared = deps.presence.shared;
    const over = await shared.addIdentitySocket(userId, socket.id, LIMITS.maxSocketsPerIdentity);
    // Closed while the script ran: its disconnect handler may have run before the entry existed.
    if (!socket.connected) void shared.removeIdentitySocket(userId, socket.id).catch(() => {});
    for (const old of over) replaceConnection(deps, old);
    return { userId };
  });
}

/**
 * A connection beyond its identity's cap: the node it is on tells it (session:replaced) and closes
 * it. Here when it is on this node; else that node is asked (server/app.ts answers
 * "session:replace" with replaceHere), whose answer is not waited for (a node that died meanwhile
 * has closed it anyway).
 */
export function replaceConnection(deps: Deps, old: SocketRef): void {
  const shared = deps.presence.shared;
  if (old.node === shared.nodeId) return void replaceHere(deps, old.socketId);
  if (!(shared instanceof RedisState)) return;
  shared
    .call(old.node, "session:replace", old.socketId)
    .catch((e: unknown) =>
      deps.logger.warn("could not replace a connection on another node", { node: old.node, error: e instanceof Error ? e.message : String(e) }),
    );
}

/**
 * Several nodes, Redis back after an outage (a restart forgets every key): this node's
 * authenticated connections are registered again under their identities, with the time each
 * authenticated, so the per-identity cap counts them at once; connections beyond the cap (when
 * several nodes' lists add up past it) are replaced as after a connect. Sent synchronously
 * (RedisState.onReconnect), before any new connection of this node is registered.
 */
export function restoreIdentities(deps: Deps, shared: RedisState): Promise<void> {
  const identities = new Map<string, { socketId: string; at: number }[]>();
  for (const [userId, list] of deps.sockets)
    identities.set(
      userId,
      list.filter((s) => s.connected).map((s) => ({ socketId: s.id, at: s.data.authAt ?? Date.now() })),
    );
  return shared.restoreIdentitySockets(identities, LIMITS.maxSocketsPerIdentity).then((over) => {
    for (const old of over) replaceConnection(deps, old);
  });
}

/** Tells this node's connection `socketId` that its identity connected elsewhere, then closes it. */
export function replaceHere(deps: Deps, socketId: string): void {
  const s = deps.io.sockets.sockets.get(socketId);
  if (s) closeWithNotice(s, "session:replaced", {});
}
