import {
  displayableFingerprint,
  encodeFingerprintDigits,
  formatSafetyNumber,
  fromHex,
  generateIdentity,
  safetyNumber,
  shortFingerprint,
  utf8,
} from "@/lib/crypto";

// libsignal rust/protocol/src/fingerprint.rs, fingerprint_test_v1 / _v2 (Java testVectorsVersion1/2):
// identity keys are serialized with the 0x05 DJB type byte (33 bytes), iterations = 5200, and the
// hash version prefix is always 0x0000 (the test's `version` 1 or 2 only changes the scannable form;
// the displayable string is "unchanged vs v1").
const ALICE_IDENTITY = fromHex("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
const BOB_IDENTITY = fromHex("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
const ALICE_STABLE_ID = "+14152222222";
const BOB_STABLE_ID = "+14153333333";
const DISPLAYABLE_FINGERPRINT_V1 = "300354477692869396892869876765458257569162576843440918079131";

describe("Signal numeric fingerprint", () => {
  it("reproduces libsignal's published displayable fingerprint, from both sides", async () => {
    const alice = { publicKey: ALICE_IDENTITY, stableId: utf8(ALICE_STABLE_ID) };
    const bob = { publicKey: BOB_IDENTITY, stableId: utf8(BOB_STABLE_ID) };
    expect(await displayableFingerprint(alice, bob, 5200)).toBe(DISPLAYABLE_FINGERPRINT_V1);
    expect(await displayableFingerprint(bob, alice, 5200)).toBe(DISPLAYABLE_FINGERPRINT_V1);
  });

  it("changes when a key or an identifier changes", async () => {
    const alice = { publicKey: ALICE_IDENTITY, stableId: utf8(ALICE_STABLE_ID) };
    const bob = { publicKey: BOB_IDENTITY, stableId: utf8(BOB_STABLE_ID) };
    const mitm = { publicKey: fromHex("05" + "11".repeat(32)), stableId: utf8(BOB_STABLE_ID) };
    expect(await displayableFingerprint(alice, mitm)).not.toBe(DISPLAYABLE_FINGERPRINT_V1);
    expect(await displayableFingerprint({ ...alice, stableId: utf8("+141512222222") }, bob)).not.toBe(DISPLAYABLE_FINGERPRINT_V1);
  });

  it("encodes 5-byte chunks mod 100000 with zero padding", () => {
    const h = new Uint8Array(30); // all zero → 30 zeros
    expect(encodeFingerprintDigits(h)).toBe("0".repeat(30));
    h.fill(0xff); // 2^40 - 1 = 1099511627775 → 27775
    expect(encodeFingerprintDigits(h)).toBe("27775".repeat(6));
    expect(() => encodeFingerprintDigits(new Uint8Array(29))).toThrow();
  });

  it("gives both members the same 60-digit safety number, formatted as 12 groups", async () => {
    const a = await generateIdentity();
    const b = await generateIdentity();
    const ab = await safetyNumber(a, b);
    expect(ab).toMatch(/^\d{60}$/);
    expect(await safetyNumber(b, a)).toBe(ab);
    const f = formatSafetyNumber(ab);
    expect(f.split(" ")).toHaveLength(12);
    expect(f.replace(/ /g, "")).toBe(ab);
    expect(() => formatSafetyNumber("123")).toThrow();
    const c = await generateIdentity();
    expect(await safetyNumber(a, c)).not.toBe(ab);
  });

  it("short fingerprint is 4 groups of 4 hex", async () => {
    const a = await generateIdentity();
    expect(await shortFingerprint(a.signingKey)).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
  });
});
