/**
 * After a full session (room key shares, room and direct messages, BB84 frames) the database file
 * and its WAL hold no plaintext, no raw key and no BB84 frame, searched byte for byte in raw,
 * base64url and hex forms. What may be there is opaque only: the wrapped key share (a KeyBlob,
 * encrypted to its member, until acknowledged) and, in a room with history, the ciphertext
 * envelopes exactly as relayed; an ephemeral room stores no ciphertext at all.
 */
import { readFileSync, existsSync } from "node:fs";
import { connectRaw, type RawClient } from "../helpers/raw-client";
import { until } from "../helpers/waits";
import { startTestServer } from "../helpers/server";
import { derivePairKeys, encodeChatPayload, encryptMessage, fromB64url, generateRoomKey, wrapRoomKeyShare } from "@/lib/crypto";

test.each([
  ["ephemeral", "ephemeral" as const],
  ["with history", { days: 30 }],
])("the database never holds plaintext or raw key material (%s room)", async (_label, history) => {
  const keepsHistory = history !== "ephemeral";
  const srv = await startTestServer();
  const clients: RawClient[] = [];
  try {
    const a = await connectRaw(srv.url);
    const b = await connectRaw(srv.url);
    clients.push(a, b);
    await a.call("room:join", { roomId: "vault", displayName: "alice", history });
    const joined = (await b.call("room:join", { roomId: "vault", displayName: "bob" })) as any;
    const epoch = joined.data.epoch as number;
    const [leader, other] = joined.data.leaderId === a.userId ? [a, b] : [b, a];

    const needles: Buffer[] = [];
    /** Ciphertext: stored (as relayed) in a room with history only. */
    const ciphertexts: Buffer[] = [];
    const roomKey = await generateRoomKey();
    needles.push(Buffer.from(roomKey.raw));
    const pair = await derivePairKeys(leader.identity, { userId: other.userId, agreementKey: other.identity.agreementKey });
    const share = await wrapRoomKeyShare(leader.identity, pair.wrapKey, roomKey.raw, {
      roomId: "vault",
      epoch,
      senderId: leader.userId,
      recipientId: other.userId,
    });
    const wrapped = Buffer.from(fromB64url(share.wrapped));
    expect(await leader.call("roomkey:share", { roomId: "vault", epoch, shares: [share] })).toMatchObject({ ok: true });

    const secretText = "the eagle lands at midnight 7f3a9c";
    const dmText = "direct: launch codes 0xDEADBEEF";
    needles.push(Buffer.from(secretText), Buffer.from(dmText));
    const room = await encryptMessage(
      leader.identity,
      roomKey.key,
      { roomId: "vault", epoch, senderId: leader.userId, counter: 1 },
      encodeChatPayload({ text: secretText, sentAt: Date.now() }),
    );
    ciphertexts.push(Buffer.from(fromB64url(room.ciphertext)));
    expect(await leader.call("message:send", { roomId: "vault", epoch, counter: 1, ...room })).toMatchObject({ ok: true });
    const dm = await encryptMessage(
      leader.identity,
      pair.dmKey,
      { roomId: "vault", epoch: 0, senderId: leader.userId, counter: 2, to: other.userId },
      encodeChatPayload({ text: dmText, sentAt: Date.now() }),
    );
    ciphertexts.push(Buffer.from(fromB64url(dm.ciphertext)));
    expect(await leader.call("message:send", { roomId: "vault", epoch: 0, counter: 2, to: other.userId, ...dm })).toMatchObject({ ok: true });
    const frame = Buffer.from("BB84-FRAME-" + "q".repeat(64));
    needles.push(frame);
    const session = (await leader.call("bb84:start", { roomId: "vault", peerId: other.userId, qubits: 4096, cascadeVariant: "yanetal-tuned" })) as any;
    expect(session).toMatchObject({ ok: true });
    expect(await leader.call("bb84:relay", { roomId: "vault", to: other.userId, sessionId: session.data.id, frame })).toMatchObject({ ok: true });
    await until(() => (other.received.get("message:received") ?? []).length === 2, 2000, "both messages");

    for (const c of clients) c.close();
    await srv.app.deps.logs.flush();
    await srv.app.deps.envelopes.flush();
    // Everything the server stored about this session (logs exist, so the search is not vacuous).
    expect(await srv.prisma.roomLog.count({ where: { roomId: "vault" } })).toBeGreaterThanOrEqual(6);
    const files = [srv.dbFile, `${srv.dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f));
    expect(files.length).toBeGreaterThan(0);
    const found = (n: Buffer) =>
      [n, Buffer.from(n.toString("base64url")), Buffer.from(n.toString("base64")), Buffer.from(n.toString("hex"))].some((form) =>
        files.some((f) => f.indexOf(form.subarray(0, Math.min(form.length, 24))) !== -1),
      );
    for (const n of needles) expect(found(n)).toBe(false);
    for (const n of ciphertexts) expect(found(n)).toBe(keepsHistory);
    expect(await srv.prisma.envelope.count({ where: { roomId: "vault" } })).toBe(keepsHistory ? 2 : 0);
    // The wrapped share is kept only as the recipient's opaque key blob.
    const blobs = await srv.prisma.keyBlob.findMany({ where: { roomId: "vault" } });
    expect(blobs.map((b) => [b.recipientId, b.senderId, b.epoch])).toEqual([[other.userId, leader.userId, epoch]]);
    expect(Buffer.from(blobs[0].blob).includes(Buffer.from(wrapped.toString("base64url")))).toBe(true);
    // Sanity check that the search can find things: the public display name is stored.
    expect(files.some((f) => f.includes(Buffer.from("alice")))).toBe(true);
  } finally {
    for (const c of clients) c.close();
    await srv.close();
  }
});
