import { concatBytes, constantTimeEqual, CryptoError, fromB64url, fromHex, fromUtf8, hkdf, toB64url, toHex, transcript, utf8 } from "@/lib/crypto";

describe("encoding", () => {
  it("base64url round trips every length without padding", () => {
    for (let n = 0; n < 70; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      const s = toB64url(b);
      expect(s).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(s).toBe(Buffer.from(b).toString("base64url"));
      expect(fromB64url(s)).toEqual(b);
    }
  });

  it("rejects bad base64url with CryptoError bad-encoding", () => {
    for (const bad of ["A", "AA==", "A+B/", "ab c", "AB", "AAB", "é"]) {
      // "AB" and "AAB" are non-canonical (stray low bits)
      let err: unknown;
      try {
        fromB64url(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CryptoError);
      expect((err as CryptoError).reason).toBe("bad-encoding");
    }
    expect(fromB64url("AA")).toEqual(new Uint8Array([0]));
  });

  it("utf8, concat, constant-time equality", () => {
    expect(fromUtf8(utf8("héllo ✓"))).toBe("héllo ✓");
    expect(() => fromUtf8(new Uint8Array([0xff]))).toThrow(CryptoError);
    expect(concatBytes(new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });

  it("transcripts cannot shift bytes between fields or types", () => {
    const eq = (a: Uint8Array, b: Uint8Array) => toHex(a) === toHex(b);
    expect(eq(transcript("L", "ab", "c"), transcript("L", "a", "bc"))).toBe(false);
    expect(eq(transcript("L", "ab"), transcript("La", "b"))).toBe(false);
    expect(eq(transcript("L", "1"), transcript("L", 1))).toBe(false);
    expect(eq(transcript("L", "a"), transcript("L", utf8("a")))).toBe(false);
    expect(eq(transcript("L", "a", ""), transcript("L", "a"))).toBe(false);
    expect(eq(transcript("L", 5, "x"), transcript("L", 5, "x"))).toBe(true);
    expect(() => transcript("L", -1)).toThrow(CryptoError);
    expect(() => transcript("L", 1.5)).toThrow(CryptoError);
  });
});

describe("HKDF-SHA-256, RFC 5869 appendix A", () => {
  const range = (from: number, to: number) => new Uint8Array(to - from + 1).map((_, i) => from + i);
  it("test case 1", async () => {
    const okm = await hkdf(fromHex("0b".repeat(22)), fromHex("000102030405060708090a0b0c"), fromHex("f0f1f2f3f4f5f6f7f8f9"), 42);
    expect(toHex(okm)).toBe("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });
  it("test case 2 (long inputs)", async () => {
    const okm = await hkdf(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
    expect(toHex(okm)).toBe(
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
    );
  });
  it("test case 3 (empty salt and info)", async () => {
    const okm = await hkdf(fromHex("0b".repeat(22)), new Uint8Array(0), new Uint8Array(0), 42);
    expect(toHex(okm)).toBe("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  });
});
