import { COMMAND_SCHEMAS, displayNameSchema, leaderOf, roomIdSchema, messageSendSchema, LIMITS } from "@/lib/protocol";
import { b64 } from "../helpers/bytes";

test("room ids: 1-32 of [A-Za-z0-9_-]", () => {
  for (const ok of ["a", "Room_1-x", "x".repeat(32)]) expect(roomIdSchema.safeParse(ok).success).toBe(true);
  for (const bad of ["", "x".repeat(33), "a b", "../x", "é", 5, null]) expect(roomIdSchema.safeParse(bad).success).toBe(false);
});

test("display names are trimmed, ≤ 28 characters, without control or bidi characters", () => {
  expect(displayNameSchema.parse("  Ada   Lovelace ")).toBe("Ada Lovelace");
  for (const bad of ["", "   ", "x".repeat(29), "a\u0000b", "evil\u202Egnp.exe", "zero\u200Bwidth"])
    expect(displayNameSchema.safeParse(bad).success).toBe(false);
  expect(displayNameSchema.safeParse("<img src=x onerror=alert(1)>").success).toBe(true); // rendered as text, never HTML
});

test("message:send is strict and size-capped", () => {
  const good = { roomId: "r", epoch: 3, counter: 1, iv: b64(12), ciphertext: b64(100), signature: b64(64) };
  expect(messageSendSchema.safeParse(good).success).toBe(true);
  expect(messageSendSchema.safeParse({ ...good, from: "someone" }).success).toBe(false);
  expect(messageSendSchema.safeParse({ ...good, iv: b64(16) }).success).toBe(false);
  expect(messageSendSchema.safeParse({ ...good, signature: b64(63) }).success).toBe(false);
  expect(messageSendSchema.safeParse({ ...good, ciphertext: "+/=" }).success).toBe(false);
  const big = messageSendSchema.safeParse({ ...good, ciphertext: b64(LIMITS.maxMessageCiphertextBytes + 3) });
  expect(big.success).toBe(false);
  expect(big.error?.issues[0].message).toBe("too large");
});

test("every command schema refuses non-objects and unknown fields", () => {
  for (const [name, schema] of Object.entries(COMMAND_SCHEMAS)) {
    for (const bad of [null, undefined, 1, "x", [], { unexpected: 1 }]) {
      const r = schema.safeParse(bad);
      if (name === "auth:hello" && bad === undefined) continue;
      expect(r.success).toBe(false);
    }
  }
});

test("leader is the smallest user id, independent of order", () => {
  expect(leaderOf(["b", "a", "c"])).toBe("a");
  expect(leaderOf(["c", "b"])).toBe(leaderOf(["b", "c"]));
  expect(leaderOf([])).toBeNull();
});
