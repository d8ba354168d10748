import {
  AttachmentIntegrityError,
  HEADER_BYTES,
  SEGMENT_BYTES,
  TAG_BYTES,
  ciphertextSize,
  concatBytes,
  decryptBytes,
  encryptBytes,
  encryptRange,
  bytesSource,
  blobSource,
  sealRangeInto,
  segmentsOf,
  ContentHasher,
  decryptStream,
  importFileKey,
  newFileSecret,
  plaintextSize,
} from "@/lib/crypto";

const SEALED = SEGMENT_BYTES + TAG_BYTES;

function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function sealed(plain: Uint8Array) {
  const secret = newFileSecret();
  const key = await importFileKey(secret.rawKey);
  return { key, fileId: secret.fileId, ct: await encryptBytes(key, secret.fileId, plain) };
}

async function failure(p: Promise<unknown>): Promise<AttachmentIntegrityError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AttachmentIntegrityError) return e;
    throw e;
  }
  throw new Error("expected the attachment to be refused");
}

describe("attachment stream encryption (AES-256-GCM STREAM, 64 KiB segments)", () => {
  it.each([0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 5])("round-trips %i bytes byte for byte", async (n) => {
    const plain = pattern(n);
    const { key, fileId, ct } = await sealed(plain);
    expect(ct.length).toBe(ciphertextSize(n));
    expect(plaintextSize(ct.length)).toBe(n);
    expect(Buffer.from(await decryptBytes(key, fileId, ct)).equals(Buffer.from(plain))).toBe(true);
  });

  it("computes any ciphertext range on demand, equal to the whole ciphertext's bytes (resumable uploads)", async () => {
    const plain = pattern(2 * SEGMENT_BYTES + 100);
    const { key, fileId, ct } = await sealed(plain);
    for (const [s, e] of [
      [0, 10],
      [20, 30],
      [HEADER_BYTES + SEALED - 3, HEADER_BYTES + SEALED + 3],
      [1000, ct.length],
    ] as const) {
      expect(Buffer.from(await encryptRange(key, fileId, bytesSource(plain), s, e)).equals(Buffer.from(ct.subarray(s, e)))).toBe(true);
    }
  });

  it("seals any range into a reused buffer, and reads a Blob's ranges into the caller's buffer in order or not", async () => {
    const plain = pattern(5 * SEGMENT_BYTES + 7);
    const { key, fileId, ct } = await sealed(plain);
    const source = blobSource(new Blob([plain as BlobPart]));
    let into = new Uint8Array(3 * SEGMENT_BYTES);
    const out = new Uint8Array(3 * SEALED);
    for (const [s, e] of [
      [0, 2 * SEALED],
      [2 * SEALED, 4 * SEALED - 100],
      [4 * SEALED - 100, ct.length],
      [10, 30],
      [HEADER_BYTES + SEALED - 3, HEADER_BYTES + SEALED + 3],
    ] as const) {
      const range = segmentsOf(plain.length, s, e)!;
      const got = await source.readInto!(range.plainStart, range.plainEnd, into);
      expect(Buffer.from(got).equals(Buffer.from(plain.subarray(range.plainStart, range.plainEnd)))).toBe(true);
      into = new Uint8Array(got.buffer);
      const sealedRange = await sealRangeInto(key, fileId, plain.length, got, s, e, out);
      expect(Buffer.from(sealedRange).equals(Buffer.from(ct.subarray(s, e)))).toBe(true);
    }
    expect(segmentsOf(plain.length, 0, HEADER_BYTES)).toBeNull();
    await expect(sealRangeInto(key, fileId, plain.length, new Uint8Array(0), 0, HEADER_BYTES, out)).resolves.toEqual(ct.subarray(0, HEADER_BYTES));
    source.close?.();
  });

  it("opens a file of many batches (several in flight at once) in order, hashing each segment as it is emitted, and names the first bad segment", async () => {
    const n = 70 * SEGMENT_BYTES + 3; // 71 segments: 4 batches of 16 and a rest, opened with several in flight
    const plain = pattern(n);
    const { key, fileId, ct } = await sealed(plain);
    expect(Buffer.from(await decryptBytes(key, fileId, ct)).equals(Buffer.from(plain))).toBe(true);
    const hasher = new ContentHasher();
    const whole = new ContentHasher();
    whole.add(0, plain);
    const out: Uint8Array[] = [];
    const reader = new Blob([ct])
      .stream()
      .pipeThrough(decryptStream(key, fileId, hasher))
      .getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
    expect(Buffer.from(await hasher.digest()).equals(Buffer.from(await whole.digest()))).toBe(true);
    expect(Buffer.from(concatBytes(...out)).equals(Buffer.from(plain))).toBe(true);
    // Segments 37 and 60 both bad: 60's batch may finish first, the error still names 37.
    const bad = ct.slice();
    bad[HEADER_BYTES + 37 * SEALED + 9]! ^= 1;
    bad[HEADER_BYTES + 60 * SEALED + 9]! ^= 1;
    const e = await failure(decryptBytes(key, fileId, bad));
    expect(e.message).toMatch(/segment 37 failed authentication/);
  });

  it("refuses a tampered byte, naming the segment", async () => {
    const { key, fileId, ct } = await sealed(pattern(2 * SEGMENT_BYTES + 10));
    const bad = ct.slice();
    bad[HEADER_BYTES + SEALED + 5]! ^= 1;
    const e = await failure(decryptBytes(key, fileId, bad));
    expect(e.reason).toBe("segment-failed");
    expect(e.message).toMatch(/segment 1 failed authentication/);
  });

  it("refuses truncation at a segment boundary and inside a segment", async () => {
    const { key, fileId, ct } = await sealed(pattern(3 * SEGMENT_BYTES));
    expect((await failure(decryptBytes(key, fileId, ct.subarray(0, HEADER_BYTES + 2 * SEALED)))).message).toMatch(/segment 1 .*truncated/);
    expect((await failure(decryptBytes(key, fileId, ct.subarray(0, HEADER_BYTES + 2 * SEALED + 5)))).reason).toBe("truncated");
    expect((await failure(decryptBytes(key, fileId, ct.subarray(0, 10)))).reason).toBe("truncated");
  });

  it("refuses reordered and duplicated segments", async () => {
    const { key, fileId, ct } = await sealed(pattern(3 * SEGMENT_BYTES));
    const head = ct.subarray(0, HEADER_BYTES);
    const seg = (i: number) => ct.subarray(HEADER_BYTES + i * SEALED, HEADER_BYTES + (i + 1) * SEALED);
    expect((await failure(decryptBytes(key, fileId, concatBytes(head, seg(1), seg(0), seg(2))))).message).toMatch(/segment 0 failed/);
    expect((await failure(decryptBytes(key, fileId, concatBytes(head, seg(0), seg(0), seg(2))))).message).toMatch(/segment 1 failed/);
    // Appending a duplicate of the last segment: the old last segment is now opened as a middle one.
    expect((await failure(decryptBytes(key, fileId, concatBytes(ct, seg(2))))).reason).toBe("segment-failed");
  });

  it("refuses segments spliced from another file, even under the same key, and another file's header", async () => {
    const plainA = pattern(2 * SEGMENT_BYTES, 1);
    const a = await sealed(plainA);
    const other = newFileSecret();
    const b = await encryptBytes(a.key, other.fileId, pattern(2 * SEGMENT_BYTES, 2));
    const spliced = concatBytes(a.ct.subarray(0, HEADER_BYTES + SEALED), b.subarray(HEADER_BYTES + SEALED));
    expect((await failure(decryptBytes(a.key, a.fileId, spliced))).message).toMatch(/segment 1 failed/);
    expect((await failure(decryptBytes(a.key, a.fileId, b))).reason).toBe("wrong-file");
    const wrongKey = await importFileKey(newFileSecret().rawKey);
    expect((await failure(decryptBytes(wrongKey, a.fileId, a.ct))).message).toMatch(/segment 0 failed/);
  });

  it("takes digests computed elsewhere (the upload's staging worker) in order only: repeats are skipped, and nothing is taken past a gap", async () => {
    const plain = pattern(5 * SEGMENT_BYTES + 7); // 6 segments
    const whole = new ContentHasher();
    whole.add(0, plain);
    const seg = async (i: number) => crypto.subtle.digest("SHA-256", plain.slice(i * SEGMENT_BYTES, (i + 1) * SEGMENT_BYTES));
    const h = new ContentHasher();
    h.addDigests(0, [await seg(0), await seg(1)]);
    h.addDigests(1, [await seg(1), await seg(2)]); // segment 1 again (a unit staged twice): skipped
    h.addDigests(4, [await seg(4)]); // a gap (3 missing): not taken
    expect(h.next).toBe(3);
    h.addDigests(3, [await seg(3), await seg(4), await seg(5)]);
    expect(h.next).toBe(6);
    expect(Buffer.from(await h.digest()).equals(Buffer.from(await whole.digest()))).toBe(true);
    // A wrong digest changes the content hash.
    const wrong = new ContentHasher();
    wrong.addDigests(0, [await seg(0), await seg(0), await seg(2), await seg(3), await seg(4), await seg(5)]);
    expect(Buffer.from(await wrong.digest()).equals(Buffer.from(await whole.digest()))).toBe(false);
  });
});
