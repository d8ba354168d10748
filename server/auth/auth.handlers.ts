/**
 * Proof of possession: the server hands out a fresh random nonce and the socket signs it (with its
 * public keys in the transcript) using its Ed25519 key. The user id is derived from that key, so no
 * one, the server included, can pick another member's id. Until this succeeds, every other command
 * answers NOT_AUTHENTICATED.
 */
import { randomBytes } from "node:crypto";
import { verifyAgreementBinding, verifyAuth, userIdFromSigningKey } from "@/lib/crypto";
import { LIMITS } from "@/lib/protocol";
import { registerCommand } from "../command";
import type { Deps } from "../context";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";

const NONCE_TTL_MS = 60_000;

export function registerAuth(deps: Deps, socket: QsecSocket): void {
  const timer = setTimeout(() => {
    if (!socket.data.userId) socket.disconnect(true);
  }, LIMITS.authTimeoutMs);
  timer.unref();
  socket.once("disconnect", () => clearTimeout(timer));

  registerCommand(deps, socket, "auth:hello", async () => {
    if (socket.data.userId) refuse("ALREADY_AUTHENTICATED", "this connection is already authenticated");
    const nonce = randomBytes(32).toString("base64url");
    socket.data.nonce = { value: nonce, issuedAt: Date.now() };
    return { nonce };
  });

  registerCommand(deps, socket, "auth:prove", async (_s, p) => {
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

    // Up to maxSocketsPerIdentity connections per identity (the tabs of one browser profile share
    // it); one more closes the oldest. Closing a connection never leaves a room (membership.ts).
    socket.data.userId = userId;
    socket.data.keys = { signingKey: p.signingKey, agreementKey: p.agreementKey, agreementSig: p.agreementSig };
    const list = deps.sockets.get(userId) ?? [];
    list.push(socket);
    deps.sockets.set(userId, list);
    const shared = deps.presence.shared;
    if (shared.kind === "redis") {
      // Several nodes: the identity's connections on every node count (a Lua script in Redis);
      // the oldest beyond the cap is told and closed wherever it is.
      for (const sid of await shared.addIdentitySocket(userId, socket.id, LIMITS.maxSocketsPerIdentity)) {
        deps.io.to(sid).emit("session:replaced", {});
        deps.io.in(sid).disconnectSockets(true);
      }
      return { userId };
    }
    while (list.length > LIMITS.maxSocketsPerIdentity) {
      const oldest = list.shift()!;
      oldest.emit("session:replaced", {});
      oldest.disconnect(true);
    }
    return { userId };
  });
}
