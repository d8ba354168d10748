/**
 * BB84 relay frames: sealed with AES-256-GCM under the session's frame key; header, room, session
 * and direction authenticated.
 */
import { BB84_FRAME_HEADER, deriveBb84FrameKey, generateIdentity, openFrame, sealFrame, type FrameContext } from "@/lib/crypto";

const ctx: FrameContext = { roomId: "lab", sessionId: "ab".repeat(16), from: "a".repeat(32), to: "b".repeat(32) };

async function keys() {
  const [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
  const ka = await deriveBb84FrameKey(alice, { userId: bob.userId, agreementKey: bob.agreementKey }, "lab", ctx.sessionId);
  const kb = await deriveBb84FrameKey(bob, { userId: alice.userId, agreementKey: alice.agreementKey }, "lab", ctx.sessionId);
  return { alice, bob, ka, kb };
}

test("both parties derive the same frame key; small and large frames round-trip", async () => {
  const { ka, kb } = await keys();
  for (const size of [0, 1, 100, 16_384, 200_000]) {
    const chunk = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
    const f = await sealFrame(ka, ctx, 5, size % 2 === 0, chunk);
    const o = await openFrame(kb, ctx, f);
    expect(o.seq).toBe(5);
    expect(o.last).toBe(size % 2 === 0);
    expect(Buffer.from(o.chunk).equals(Buffer.from(chunk))).toBe(true);
  }
});

test("the frame is standard AES-256-GCM over the documented AAD", async () => {
  const { kb, ka } = await keys();
  const chunk = new TextEncoder().encode("Cascade parities");
  const f = await sealFrame(ka, ctx, 0, true, chunk);
  const iv = f.subarray(BB84_FRAME_HEADER, BB84_FRAME_HEADER + 12);
  const { transcript, concatBytes } = await import("@/lib/crypto");
  const ad = concatBytes(transcript("QSEC-BB84-FRAME-v1", ctx.roomId, ctx.sessionId, ctx.from, ctx.to), f.subarray(0, BB84_FRAME_HEADER));
  const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: iv.slice(), additionalData: ad }, kb, f.slice(BB84_FRAME_HEADER + 12)));
  expect(new TextDecoder().decode(plain)).toBe("Cascade parities");
});

test("a flipped bit, another session, the reverse direction or another key: refused", async () => {
  const { ka, kb, alice } = await keys();
  for (const size of [64, 40_000]) {
    const f = await sealFrame(ka, ctx, 1, true, new Uint8Array(size).fill(9));
    for (const i of [0, 1, 3, BB84_FRAME_HEADER + 2, f.length - 1]) {
      const t = f.slice();
      t[i] ^= 0x10;
      await expect(openFrame(kb, ctx, t)).rejects.toThrow(/decrypt-failed/);
    }
    await expect(openFrame(kb, { ...ctx, sessionId: "cd".repeat(16) }, f)).rejects.toThrow(/failed authentication/);
    await expect(openFrame(kb, { ...ctx, from: ctx.to, to: ctx.from }, f)).rejects.toThrow(/failed authentication/);
    const other = await deriveBb84FrameKey(alice, { userId: alice.userId, agreementKey: (await generateIdentity()).agreementKey }, "lab", ctx.sessionId);
    await expect(openFrame(other, ctx, f)).rejects.toThrow(/failed authentication/);
    await expect(openFrame(kb, ctx, f.subarray(0, 20))).rejects.toThrow(/too short/);
  }
});

test("a session's frame key differs per session and per room", async () => {
  const { alice, bob, ka } = await keys();
  const peer = { userId: bob.userId, agreementKey: bob.agreementKey };
  const f = await sealFrame(ka, ctx, 0, true, new Uint8Array(32));
  for (const [room, session] of [
    ["lab", "cd".repeat(16)],
    ["other", ctx.sessionId],
  ]) {
    const k = await deriveBb84FrameKey(alice, peer, room, session);
    await expect(openFrame(k, ctx, f)).rejects.toThrow(/failed authentication/);
  }
});
