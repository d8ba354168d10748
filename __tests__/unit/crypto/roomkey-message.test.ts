import type { MessageReceived } from "@/lib/protocol";
import {
  CryptoError,
  decodeChatPayload,
  decryptMessage,
  derivePairKeys,
  encodeChatPayload,
  encryptMessage,
  fromB64url,
  fromUtf8,
  generateIdentity,
  generateRoomKey,
  MAX_TEXT_BYTES,
  ReplayGuard,
  toB64url,
  unwrapRoomKeyShare,
  utf8,
  wrapRoomKeyShare,
  type Identity,
  type PairKeys,
  type ReceivedShare,
} from "@/lib/crypto";

const subtle = globalThis.crypto.subtle;

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CryptoError) return e.reason;
    throw e;
  }
  return "accepted";
}

/** Flips one bit of a base64url field. */
function flip(b64: string, index = 0): string {
  const b = fromB64url(b64);
  b[index] ^= 1;
  return toB64url(b);
}

let alice: Identity; // leader
let bob: Identity;
let carol: Identity;
let ab: PairKeys; // alice's side of alice–bob
let ba: PairKeys; // bob's side
let cb: PairKeys; // carol's side of carol–bob
beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
  [ab, ba, cb] = await Promise.all([derivePairKeys(alice, bob), derivePairKeys(bob, alice), derivePairKeys(carol, bob)]);
});

describe("room key shares", () => {
  const roomId = "lobby";
  const epoch = 7;
  async function makeShare() {
    const rk = await generateRoomKey();
    const item = await wrapRoomKeyShare(alice, ab.wrapKey, rk.raw, { roomId, epoch, senderId: alice.userId, recipientId: bob.userId });
    const share: ReceivedShare = { roomId, epoch, from: alice.userId, iv: item.iv, wrapped: item.wrapped, signature: item.signature };
    return { rk, item, share };
  }
  const ctx = () => ({ roomId, epoch, recipientId: bob.userId });

  it("generates a 32-byte non-extractable room key", async () => {
    const rk = await generateRoomKey();
    expect(rk.raw).toHaveLength(32);
    expect(rk.key.extractable).toBe(false);
    await expect(subtle.exportKey("raw", rk.key)).rejects.toThrow();
  });

  it("round trips: the unwrapped key decrypts what the room key encrypted", async () => {
    const { rk, item, share } = await makeShare();
    expect(item.to).toBe(bob.userId);
    expect(fromB64url(item.iv)).toHaveLength(12);
    expect(fromB64url(item.wrapped)).toHaveLength(48);
    expect(fromB64url(item.signature)).toHaveLength(64);
    const key = await unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, share, ctx());
    expect(key.extractable).toBe(false);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await subtle.encrypt({ name: "AES-GCM", iv }, rk.key, utf8("hello"));
    expect(fromUtf8(new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv }, key, ct)))).toBe("hello");
    // a fresh IV for every share
    const again = await makeShare();
    expect(again.item.iv).not.toBe(item.iv);
  });

  it("rejects each kind of tampering with the right reason", async () => {
    const { share } = await makeShare();
    // Lazy cases: a promise made up front could reject before it is awaited (unhandled rejection).
    const hybridWrapKey = (await derivePairKeys(bob, alice, new Uint8Array(32).fill(9))).wrapKey;
    const cases: [string, () => Promise<unknown>][] = [
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, { ...share, wrapped: flip(share.wrapped) }, ctx())],
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, { ...share, iv: flip(share.iv) }, ctx())],
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, { ...share, signature: flip(share.signature, 5) }, ctx())],
      // sender field rewritten, or verified with a key that does not own `from`
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, { ...share, from: carol.userId }, ctx())],
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, carol.signingKey, share, ctx())],
      // claims altered in transit (the server lies about room or epoch): signature covers them
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, { ...share, roomId: "other" }, { ...ctx(), roomId: "other" })],
      ["bad-signature", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, { ...share, epoch: 8 }, { ...ctx(), epoch: 8 })],
      // a share for bob delivered to carol (no `to` on the wire): carol's recipient id is not what was signed
      ["bad-signature", () => unwrapRoomKeyShare(cb.wrapKey, alice.signingKey, share, { ...ctx(), recipientId: carol.userId })],
      // ... and with `to` present: a genuine share, but for someone else
      ["wrong-recipient", () => unwrapRoomKeyShare(cb.wrapKey, alice.signingKey, { ...share, to: bob.userId }, { ...ctx(), recipientId: carol.userId })],
      // genuine share, but the client expects another room / epoch (old or replayed share)
      ["wrong-room", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, share, { ...ctx(), roomId: "other" })],
      ["wrong-epoch", () => unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, share, { ...ctx(), epoch: 8 })],
      // genuine and well addressed, but the pair key is wrong
      ["decrypt-failed", () => unwrapRoomKeyShare(cb.wrapKey, alice.signingKey, share, ctx())],
      ["decrypt-failed", () => unwrapRoomKeyShare(hybridWrapKey, alice.signingKey, share, ctx())],
    ];
    for (const [expected, run] of cases) expect(await reason(run())).toBe(expected);
  });

  it("a share signed by another key over the same fields is rejected", async () => {
    const rk = await generateRoomKey();
    // carol forges a share claiming to be alice: she can sign only with her own key
    const carolBob = await derivePairKeys(carol, bob);
    const forged = await wrapRoomKeyShare(carol, carolBob.wrapKey, rk.raw, { roomId, epoch, senderId: carol.userId, recipientId: bob.userId });
    const share = { roomId, epoch, from: alice.userId, iv: forged.iv, wrapped: forged.wrapped, signature: forged.signature };
    expect(await reason(unwrapRoomKeyShare(ba.wrapKey, alice.signingKey, share, ctx()))).toBe("bad-signature");
    // nor can anyone sign as another sender id
    expect(await reason(wrapRoomKeyShare(carol, carolBob.wrapKey, rk.raw, { roomId, epoch, senderId: alice.userId, recipientId: bob.userId }))).toBe("bad-key");
  });
});

describe("messages", () => {
  const roomId = "lobby";
  const epoch = 3;
  let roomKey: CryptoKey;
  let seq = 0;
  beforeAll(async () => {
    roomKey = (await generateRoomKey()).key;
  });

  async function send(from: Identity, key: CryptoKey, text: string, opts: { to?: string; counter?: number; epoch?: number } = {}): Promise<MessageReceived> {
    const counter = opts.counter ?? seq++;
    const ep = opts.epoch ?? (opts.to ? 0 : epoch);
    const enc = await encryptMessage(
      from,
      key,
      { roomId, epoch: ep, senderId: from.userId, counter, to: opts.to },
      encodeChatPayload({ text, sentAt: 1700000000000 }),
    );
    return { id: "m" + counter, roomId, from: from.userId, to: opts.to ?? null, epoch: ep, counter, ts: new Date().toISOString(), ...enc };
  }

  it("round trips a room message", async () => {
    const msg = await send(alice, roomKey, "hello room ✓");
    expect(fromB64url(msg.iv)).toHaveLength(12);
    const pt = await decryptMessage(roomKey, alice.signingKey, msg, { roomId, epoch });
    expect(decodeChatPayload(pt)).toEqual({ text: "hello room ✓", sentAt: 1700000000000 });
  });

  it("round trips a direct message with the pair's DM key", async () => {
    const msg = await send(alice, ab.dmKey, "just for bob", { to: bob.userId });
    const pt = await decryptMessage(ba.dmKey, alice.signingKey, msg, { roomId, recipientId: bob.userId });
    expect(decodeChatPayload(pt).text).toBe("just for bob");
  });

  it("rejects tampering, wrong AAD and wrong expectations with the right reason", async () => {
    const m = await send(alice, roomKey, "x");
    const dm = await send(alice, ab.dmKey, "secret", { to: bob.userId });
    const exp = { roomId, epoch };
    // Each case runs only when awaited: promises made up front could reject before anything
    // awaits them (an unhandled rejection, which made this test flaky).
    const otherRoomKey = (await generateRoomKey()).key;
    const cases: [string, () => Promise<unknown>][] = [
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, ciphertext: flip(m.ciphertext) }, exp)],
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, iv: flip(m.iv) }, exp)],
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, signature: flip(m.signature, 10) }, exp)],
      // header fields (the AAD) rewritten in transit: room, epoch, counter, sender, recipient
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, roomId: "other" }, { ...exp, roomId: "other" })],
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, epoch: epoch + 1 }, { ...exp, epoch: epoch + 1 })],
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, counter: m.counter + 1 }, exp)],
      ["bad-signature", () => decryptMessage(roomKey, alice.signingKey, { ...m, from: carol.userId }, exp)],
      ["bad-signature", () => decryptMessage(roomKey, carol.signingKey, m, exp)],
      ["bad-signature", () => decryptMessage(ba.dmKey, alice.signingKey, { ...dm, to: carol.userId }, { roomId, recipientId: carol.userId })],
      ["bad-signature", () => decryptMessage(ba.dmKey, alice.signingKey, { ...dm, to: null }, { roomId, epoch: 0 })],
      // genuine message but not what this client expects
      ["wrong-room", () => decryptMessage(roomKey, alice.signingKey, m, { ...exp, roomId: "other" })],
      ["wrong-epoch", () => decryptMessage(roomKey, alice.signingKey, m, { ...exp, epoch: epoch + 1 })],
      ["wrong-recipient", () => decryptMessage(ba.dmKey, alice.signingKey, dm, { roomId, recipientId: carol.userId })],
      ["wrong-recipient", () => decryptMessage(ba.dmKey, alice.signingKey, dm, { roomId })],
      ["wrong-recipient", () => decryptMessage(roomKey, alice.signingKey, m, { ...exp, recipientId: bob.userId })],
      // genuine, but encrypted under another key (another epoch's room key, another pair)
      ["decrypt-failed", () => decryptMessage(otherRoomKey, alice.signingKey, m, exp)],
      ["decrypt-failed", () => decryptMessage(cb.dmKey, alice.signingKey, dm, { roomId, recipientId: bob.userId })],
    ];
    for (const [expected, run] of cases) expect(await reason(run())).toBe(expected);
  });

  it("cannot sign as someone else", async () => {
    expect(await reason(encryptMessage(carol, roomKey, { roomId, epoch, senderId: alice.userId, counter: 1 }, new Uint8Array(1)))).toBe("bad-key");
  });

  it("rejects a replayed counter through the ReplayGuard", async () => {
    const guard = new ReplayGuard();
    const m = await send(alice, roomKey, "once", { counter: 1000 });
    await expect(decryptMessage(roomKey, alice.signingKey, m, { roomId, epoch, replayGuard: guard })).resolves.toBeInstanceOf(Uint8Array);
    expect(await reason(decryptMessage(roomKey, alice.signingKey, m, { roomId, epoch, replayGuard: guard }))).toBe("replay");
    // a different sender with the same counter, and the same counter in another scope, are fine
    const c = await send(carol, roomKey, "mine", { counter: 1000 });
    await expect(decryptMessage(roomKey, carol.signingKey, c, { roomId, epoch, replayGuard: guard })).resolves.toBeDefined();
    const d = await send(alice, ab.dmKey, "dm", { counter: 1000, to: bob.userId });
    await expect(decryptMessage(ba.dmKey, alice.signingKey, d, { roomId, recipientId: bob.userId, replayGuard: guard })).resolves.toBeDefined();
    expect(await reason(decryptMessage(ba.dmKey, alice.signingKey, d, { roomId, recipientId: bob.userId, replayGuard: guard }))).toBe("replay");
    // a forged message does not burn a counter
    const n = await send(alice, roomKey, "next", { counter: 1001 });
    expect(await reason(decryptMessage(roomKey, alice.signingKey, { ...n, ciphertext: flip(n.ciphertext) }, { roomId, epoch, replayGuard: guard }))).toBe(
      "bad-signature",
    );
    await expect(decryptMessage(roomKey, alice.signingKey, n, { roomId, epoch, replayGuard: guard })).resolves.toBeDefined();
  });
});

describe("ReplayGuard window", () => {
  it("accepts out-of-order counters once, within a 1024 window, in bounded memory", () => {
    const g = new ReplayGuard(3);
    expect(g.accept("a", "e1", 5)).toBe(true);
    expect(g.accept("a", "e1", 5)).toBe(false);
    expect(g.accept("a", "e1", 3)).toBe(true);
    expect(g.accept("a", "e1", 3)).toBe(false);
    expect(g.accept("a", "e1", 2000)).toBe(true);
    expect(g.accept("a", "e1", 2000 - 1023)).toBe(true);
    expect(g.accept("a", "e1", 2000 - 1024)).toBe(false); // too old
    expect(g.accept("a", "e1", 5)).toBe(false);
    expect(g.accept("a", "e1", 1999)).toBe(true);
    expect(g.accept("a", "e1", 1999)).toBe(false);
    expect(g.accept("a", "e1", 1_000_000)).toBe(true);
    expect(g.accept("a", "e1", 1999)).toBe(false);
    expect(g.accept("a", "e1", -1)).toBe(false);
    expect(g.accept("a", "e1", 1.5)).toBe(false);
    expect(g.accept("b", "e1", 5)).toBe(true);
    expect(g.accept("a", "e2", 5)).toBe(true);
    expect(g.accept("c", "e2", 5)).toBe(true);
    expect(g.size).toBe(3);
    g.forgetScope("e2");
    expect(g.size).toBe(1);
    // every counter within the window, in random order, is accepted exactly once
    const h = new ReplayGuard();
    const order = Array.from({ length: 1024 }, (_, i) => i).sort(() => Math.random() - 0.5);
    for (const c of order) expect(h.accept("s", "x", c)).toBe(true);
    for (const c of order) expect(h.accept("s", "x", c)).toBe(false);
  });
});

describe("chat payload codec", () => {
  it("round trips and pads to 64-byte blocks", () => {
    for (const text of ["", "a", "héllo ✓ 🙂", "x".repeat(MAX_TEXT_BYTES)]) {
      const b = encodeChatPayload({ text, sentAt: 1712345678901 });
      expect(b.length % 64).toBe(0);
      expect(decodeChatPayload(b)).toEqual({ text, sentAt: 1712345678901 });
    }
    expect(encodeChatPayload({ text: "a", sentAt: 0 }).length).toBe(encodeChatPayload({ text: "abc", sentAt: 0 }).length);
  });

  it("rejects oversize or malformed payloads with bad-encoding", () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as CryptoError).reason;
      }
      return "accepted";
    };
    expect(bad(() => encodeChatPayload({ text: "x".repeat(MAX_TEXT_BYTES + 1), sentAt: 0 }))).toBe("bad-encoding");
    expect(bad(() => encodeChatPayload({ text: "x", sentAt: -1 }))).toBe("bad-encoding");
    const good = encodeChatPayload({ text: "hi", sentAt: 5 });
    expect(bad(() => decodeChatPayload(good.subarray(0, 63)))).toBe("bad-encoding");
    expect(bad(() => decodeChatPayload(new Uint8Array(0)))).toBe("bad-encoding");
    const v = good.slice();
    v[0] = 2;
    expect(bad(() => decodeChatPayload(v))).toBe("bad-encoding");
    const pad = good.slice();
    pad[63] = 1;
    expect(bad(() => decodeChatPayload(pad))).toBe("bad-encoding");
    const len = good.slice();
    len[12] = 200;
    expect(bad(() => decodeChatPayload(len))).toBe("bad-encoding");
    const utf = good.slice();
    utf[13] = 0xff;
    expect(bad(() => decodeChatPayload(utf))).toBe("bad-encoding");
    const extra = new Uint8Array(128);
    extra.set(good);
    expect(bad(() => decodeChatPayload(extra))).toBe("bad-encoding");
  });
});
