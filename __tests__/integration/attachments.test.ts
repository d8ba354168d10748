/**
 * End-to-end encrypted attachments against the real server (tus over HTTP, Socket.IO capabilities,
 * SQLite or PostgreSQL): a 100 MiB file up and back byte for byte; a 16 MB file uploaded, interrupted at half way and resumed by a fresh
 * upload object (as after a reload), announced inside an encrypted message, downloaded and opened
 * byte for byte by another member; refusals for outsiders, later members, missing and expired
 * capabilities; neither the file's bytes nor its name in the database or the store; a stored file
 * that was tampered with, truncated or extended is refused with its reason; quotas, retention and
 * orphan purging.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ChatClient } from "@/lib/client";
import { downloadAttachment, uploadAttachment, type AttachmentTransport } from "@/lib/client/attachments";
import { AttachmentIntegrityError, HEADER_BYTES, SEGMENT_BYTES, TAG_BYTES, blobSource, bytesSource, ciphertextSize, type AttachmentRef } from "@/lib/crypto";
import { ClientError } from "@/lib/client";
import { until } from "../helpers/waits";
import { databaseBytes, startTestServer, type TestServer } from "../helpers/server";
import { honestClients } from "../helpers/clients";

let srv: TestServer;
let dir: string;
const { clients, makeClient } = honestClients(() => srv.url);
const MB = 1024 * 1024;

async function start(limits: { maxBytes?: number; roomQuotaBytes?: number; memberQuotaBytes?: number } = {}) {
  dir = mkdtempSync(path.join(tmpdir(), "qsec-att-"));
  srv = await startTestServer({ attachments: { dir, ...limits } });
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

const transport = (c: ChatClient): AttachmentTransport => ({ request: (e, p) => c.request(e, p), baseUrl: srv.url });

/** Deterministic bytes with a marker that a scan can look for. */
function fileBytes(n: number, marker: string): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  const m = Buffer.from(marker);
  for (let o = 0; o + m.length <= n; o += 1024 * 1024) out.set(m, o);
  return out;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClientError) return e.code;
    throw e;
  }
  return "ok";
}

async function http(id: string, token?: string, extra: Record<string, string> = {}) {
  const res = await fetch(`${srv.url}/attachments/${id}`, { headers: { ...(token && { authorization: `Bearer ${token}` }), ...extra } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function upload(c: ChatClient, roomId: string, bytes: Uint8Array, name: string, to?: string): Promise<AttachmentRef> {
  return uploadAttachment({ ...transport(c), roomId, source: bytesSource(bytes), name, mime: "application/octet-stream", ...(to && { to }) }).done;
}

test("a 16 MB file: upload interrupted at half way resumes, is announced encrypted, opens byte for byte for a member, and is never at rest in the clear", async () => {
  await start();
  const alice = await makeClient();
  const bob = await makeClient();
  await alice.join("files", "alice");
  await bob.join("files", "bob");
  const name = "quarterly-secret-plans.bin";
  const plain = fileBytes(16 * MB, "QSEC-ATTACHMENT-PLAINTEXT-MARKER-0xC0FFEE");

  // First attempt: dropped at about half way (as a closed tab or a lost connection would).
  let paused = false;
  const first = uploadAttachment({
    ...transport(alice),
    roomId: "files",
    source: bytesSource(plain),
    name,
    mime: "application/octet-stream",
    onProgress: ({ sent, total }) => {
      if (!paused && sent >= total / 2) {
        paused = true;
        void first.pause();
      }
    },
  });
  await until(() => paused && first.url !== null, 20_000, "the upload to pass half way");
  await new Promise((r) => setTimeout(r, 200));
  const cap = await alice.request("attachment:grant", { roomId: "files", id: first.ref.id, op: "upload" });
  const head = await fetch(`${srv.url}/attachments/${first.ref.id}`, {
    method: "HEAD",
    headers: { authorization: `Bearer ${cap.token}`, "tus-resumable": "1.0.0" },
  });
  const offset = Number(head.headers.get("upload-offset"));
  const total = ciphertextSize(plain.length);
  expect(offset).toBeGreaterThan(0);
  expect(offset).toBeLessThan(total);
  // Not yet downloadable.
  const early = await alice.request("attachment:grant", { roomId: "files", id: first.ref.id, op: "download" }).catch((e: ClientError) => e.code);
  expect(early).toBe("NO_ATTACHMENT");

  // A fresh upload object resumes from the server's offset: the bytes before it are not sent again.
  const progress: number[] = [];
  const second = uploadAttachment({
    ...transport(alice),
    roomId: "files",
    source: bytesSource(plain),
    name,
    mime: "application/octet-stream",
    resume: { ref: first.ref, url: first.url! },
    onProgress: ({ sent }) => progress.push(sent),
  });
  const ref = await second.done;
  expect(ref.id).toBe(first.ref.id);
  // tus progress is absolute: this attempt's first report is already past the server's offset.
  expect(progress.length).toBeGreaterThan(0);
  expect(Math.min(...progress)).toBeGreaterThanOrEqual(offset);
  expect(Math.max(...progress)).toBe(total);

  // Announced inside an end-to-end encrypted message; bob downloads and opens it.
  await alice.send("files", "here are the plans", undefined, ref);
  await until(() => bob.state.rooms.files?.messages.some((m) => m.attachment?.id === ref.id) ?? false, 5000, "bob to get the announcement");
  const got = bob.state.rooms.files!.messages.find((m) => m.attachment?.id === ref.id)!.attachment!;
  expect(got.name).toBe(name);
  let lastProgress = 0;
  const blob = await downloadAttachment({ ...transport(bob), roomId: "files", ref: got, onProgress: ({ sent }) => (lastProgress = sent) });
  expect(lastProgress).toBe(total);
  expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(plain))).toBe(true);

  // A ranged request (a resumed download) returns the stored bytes from that offset.
  const dl = await bob.request("attachment:grant", { roomId: "files", id: ref.id });
  const ranged = await http(ref.id, dl.token, { range: "bytes=100-199" });
  expect(ranged.status).toBe(206);
  expect(ranged.body.length).toBe(100);

  // At rest: neither the file's bytes nor its name, in the database or in the store.
  const marker = Buffer.from("QSEC-ATTACHMENT-PLAINTEXT-MARKER-0xC0FFEE");
  const stored = readdirSync(dir).map((f) => readFileSync(path.join(dir, f)));
  expect(stored.length).toBeGreaterThan(0);
  for (const bytes of [...databaseBytes(srv), ...stored]) {
    expect(bytes.indexOf(marker)).toBe(-1);
    expect(bytes.indexOf(Buffer.from(name))).toBe(-1);
    expect(bytes.indexOf(Buffer.from(plain.subarray(5000, 5064)))).toBe(-1);
  }
  let logs = await srv.prisma.roomLog.findMany({ where: { roomId: "files", type: "ATTACHMENT_UPLOADED" } });
  for (let i = 0; i < 100 && logs.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 30));
    logs = await srv.prisma.roomLog.findMany({ where: { roomId: "files", type: "ATTACHMENT_UPLOADED" } });
  }
  expect(logs).toHaveLength(1);
  expect(JSON.parse(logs[0]!.meta)).toEqual({ attachmentId: ref.id, bytes: total });
});

test("a 100 MiB file goes up and comes back byte for byte through a headless client (sealed and opened streaming, the content hash checked)", async () => {
  await start({ maxBytes: 128 * MB, roomQuotaBytes: 256 * MB, memberQuotaBytes: 256 * MB });
  const alice = await makeClient();
  const bob = await makeClient();
  await alice.join("big", "alice");
  await bob.join("big", "bob");
  const plain = fileBytes(100 * MB, "QSEC-100MB-MARKER");
  const ref = await upload(alice, "big", plain, "hundred.bin");
  expect(ref.size).toBe(100 * MB);
  const stored = readdirSync(dir).filter((f) => !f.endsWith(".json"));
  expect(stored).toEqual([ref.id]);
  expect(readFileSync(path.join(dir, ref.id)).length).toBe(ciphertextSize(100 * MB));
  await alice.send("big", "the big one", undefined, ref);
  await until(() => bob.state.rooms.big?.messages.some((m) => m.attachment?.id === ref.id) ?? false, 5000, "bob to get the announcement");
  const got = bob.state.rooms.big!.messages.find((m) => m.attachment?.id === ref.id)!.attachment!;
  const blob = await downloadAttachment({ ...transport(bob), roomId: "big", ref: got });
  expect(blob.size).toBe(plain.length);
  expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(plain))).toBe(true);
}, 120_000);

test("refusals: a non-member, a member of a later epoch, a DM outsider, a departed member, and requests without, with a forged or with an expired capability", async () => {
  await start();
  const alice = await makeClient();
  const bob = await makeClient();
  const carol = await makeClient();
  const mallory = await makeClient();
  await alice.join("club", "alice");
  await bob.join("club", "bob");
  await mallory.join("elsewhere", "mallory");
  const ref = await upload(alice, "club", fileBytes(70_000, "x"), "a.bin");
  const dmRef = await upload(alice, "club", fileBytes(1000, "y"), "dm.bin", bob.identity.userId);
  // The smallest files round-trip too (one empty or one-byte last segment).
  for (const n of [0, 1]) {
    const small = await upload(alice, "club", fileBytes(n, ""), `${n}.bin`);
    const got = await downloadAttachment({ ...transport(bob), roomId: "club", ref: small });
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(fileBytes(n, "")))).toBe(true);
  }

  // Carol joins after the upload: another epoch, so the attachment is not hers to read.
  await carol.join("club", "carol");
  expect(await code(carol.request("attachment:grant", { roomId: "club", id: ref.id }))).toBe("NO_ATTACHMENT");
  expect(await code(carol.request("attachment:grant", { roomId: "club", id: dmRef.id }))).toBe("NO_ATTACHMENT");
  expect(await code(mallory.request("attachment:grant", { roomId: "club", id: ref.id }))).toBe("NOT_A_MEMBER");
  expect(await code(mallory.request("attachment:grant", { roomId: "elsewhere", id: ref.id }))).toBe("NO_ATTACHMENT");
  expect(await code(bob.request("attachment:grant", { roomId: "club", id: dmRef.id }))).toBe("ok");

  // HTTP: no capability, a forged one, an expired one, another attachment's, an upload capability.
  expect((await http(ref.id)).status).toBe(401);
  const good = await bob.request("attachment:grant", { roomId: "club", id: ref.id });
  expect((await http(ref.id, good.token.slice(0, -4) + "AAAA")).status).toBe(401);
  const signer = srv.app.deps.attachments!.signer;
  const expired = signer.sign({ op: "download", sub: bob.identity.userId, room: "club", att: ref.id, exp: Date.now() - 1000 });
  const res = await http(ref.id, expired);
  expect(res.status).toBe(401);
  expect(res.body.toString()).toMatch(/expired/);
  expect((await http(dmRef.id, good.token)).status).toBe(403);
  // A capability minted for carol (as if leaked) is still checked against her epochs.
  const carols = signer.sign({ op: "download", sub: carol.identity.userId, room: "club", att: ref.id, exp: Date.now() + 60_000 });
  expect((await http(ref.id, carols)).status).toBe(403);
  expect((await http(ref.id, good.token)).status).toBe(200);

  // Bob leaves: his unexpired capability stops working at once.
  await bob.leave("club");
  expect((await http(ref.id, good.token)).status).toBe(403);
});

test("limits and lifecycle: size cap, room and member quotas, retention with the history, unfinished uploads and stray files purged", async () => {
  await start({ maxBytes: 2 * MB, roomQuotaBytes: 3 * MB, memberQuotaBytes: 2 * MB + 200_000 });
  const alice = await makeClient();
  const bob = await makeClient();
  await alice.join("lim", "alice");
  await bob.join("lim", "bob");
  expect(await code(alice.request("attachment:create", { roomId: "lim", size: ciphertextSize(2 * MB) + 1 }))).toBe("TOO_LARGE");
  const big = await upload(alice, "lim", fileBytes(1_900_000, "z"), "big.bin");
  expect(await code(alice.request("attachment:create", { roomId: "lim", size: 400_000 }))).toBe("QUOTA_EXCEEDED"); // alice's own quota
  await upload(bob, "lim", fileBytes(900_000, "w"), "b.bin");
  expect(await code(bob.request("attachment:create", { roomId: "lim", size: 400_000 }))).toBe("QUOTA_EXCEEDED"); // the room's quota

  // An unfinished upload older than a day, and a file nobody references, go with the next sweep.
  const orphan = await alice.request("attachment:create", { roomId: "lim", size: 100 });
  await srv.prisma.attachment.update({ where: { id: orphan.id }, data: { createdAt: new Date(Date.now() - 25 * 3600_000) } });
  writeFileSync(path.join(dir, "AAAAAAAAAAAAAAAAAAAAAA"), "stray");
  // Retention: the room keeps 30 days of history; this attachment is 31 days old.
  await srv.prisma.attachment.update({ where: { id: big.id }, data: { createdAt: new Date(Date.now() - 31 * 86400_000) } });
  const dl = await alice.request("attachment:grant", { roomId: "lim", id: big.id });
  const swept = await srv.app.sweep();
  expect(swept.purgedAttachments).toBe(2);
  expect((await http(big.id, dl.token)).status).toBe(404);
  expect(await code(alice.request("attachment:grant", { roomId: "lim", id: big.id }))).toBe("NO_ATTACHMENT");
  const left = readdirSync(dir).filter((f) => !f.endsWith(".json"));
  expect(left).toHaveLength(1); // bob's
  expect(left).not.toContain(big.id);
  // The space is free again.
  expect(await code(alice.request("attachment:create", { roomId: "lim", size: 400_000 }))).toBe("ok");
  // Log rows are written in batches: wait for the flush.
  let reasons: string[] = [];
  for (let i = 0; i < 100 && reasons.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 30));
    const purged = await srv.prisma.roomLog.findMany({ where: { roomId: "lim", type: "ATTACHMENTS_PURGED" } });
    reasons = purged.map((r) => JSON.parse(r.meta).reason as string).sort();
  }
  expect(reasons).toEqual(["retention", "unfinished"]);
});

test("a member who joins after an upload finished but before its message went out can open it; a message naming someone else's attachment is refused", async () => {
  await start();
  const alice = await makeClient();
  const bob = await makeClient();
  const carol = await makeClient();
  await alice.join("late", "alice");
  await bob.join("late", "bob");
  const plain = fileBytes(150_000, "late-joiner");
  const ref = await upload(alice, "late", plain, "late.bin");
  // Carol joins now: a new epoch, after the upload finished.
  await carol.join("late", "carol");
  expect(await code(carol.request("attachment:grant", { roomId: "late", id: ref.id }))).toBe("NO_ATTACHMENT");
  const epoch = carol.state.rooms.late!.epoch;
  await until(() => alice.state.rooms.late?.keyEpoch === epoch && carol.state.rooms.late?.keyEpoch === epoch, 10_000, "both to hold the new epoch's key");
  await alice.send("late", "sent after carol joined", undefined, ref);
  await until(() => carol.state.rooms.late?.messages.some((m) => m.attachment?.id === ref.id) ?? false, 10_000, "carol to get the announcement");
  const got = carol.state.rooms.late!.messages.find((m) => m.attachment?.id === ref.id)!.attachment!;
  const blob = await downloadAttachment({ ...transport(carol), roomId: "late", ref: got });
  expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(plain))).toBe(true);
  // Bob cannot widen who reads alice's file by naming it in his own message.
  const raw = { roomId: "late", epoch, counter: 999_999, iv: "A".repeat(16), ciphertext: "AAAA", signature: "A".repeat(86), attachment: ref.id };
  expect(await code(bob.request("message:send", raw))).toBe("NO_ATTACHMENT");
});

test("quotas hold under simultaneous reservations: of several that each fit alone, only as many as fit together succeed", async () => {
  // 600 kB each: a member's 1 MB quota holds one, the room's 1.5 MB holds two.
  await start({ maxBytes: 2 * MB, roomQuotaBytes: 1.5 * MB, memberQuotaBytes: 1 * MB });
  const members = [await makeClient(), await makeClient(), await makeClient()];
  for (const [i, c] of members.entries()) await c.join("race", `m${i}`);
  const size = 600_000;
  const tries = Array.from({ length: 9 }, (_, i) => members[i % 3]!);
  const results = await Promise.all(tries.map((c) => code(c.request("attachment:create", { roomId: "race", size }))));
  expect(results.filter((r) => r === "ok")).toHaveLength(2);
  expect(results.filter((r) => r !== "ok").every((r) => r === "QUOTA_EXCEEDED")).toBe(true);
  const rows = await srv.prisma.attachment.findMany({ where: { roomId: "race" }, select: { uploaderId: true, size: true } });
  expect(rows.reduce((n, r) => n + r.size, 0)).toBe(2 * size);
  expect(new Set(rows.map((r) => r.uploaderId)).size).toBe(2); // no member over their own quota either
});

test("a stored file tampered with, reordered, truncated or extended is refused with the reason, and only the intact one opens", async () => {
  await start();
  const alice = await makeClient();
  await alice.join("tamper", "alice");
  const plain = fileBytes(3 * SEGMENT_BYTES + 10, "tamper");
  // A Blob source (as a browser's picked File): read with a BYOB stream reader where Node has one.
  const ref = await uploadAttachment({ ...transport(alice), roomId: "tamper", source: blobSource(new Blob([plain as BlobPart])), name: "t.bin", mime: "" })
    .done;
  expect(ref.sha256).toBe((await upload(alice, "tamper", plain, "same.bin")).sha256);
  const file = path.join(dir, ref.id);
  const good = readFileSync(file);
  const SEALED = SEGMENT_BYTES + TAG_BYTES;
  const attempt = async (stored: Buffer) => {
    writeFileSync(file, stored);
    try {
      await downloadAttachment({ ...transport(alice), roomId: "tamper", ref });
    } catch (e) {
      expect(e).toBeInstanceOf(AttachmentIntegrityError);
      return `${(e as AttachmentIntegrityError).reason}: ${(e as Error).message}`;
    }
    return "opened";
  };
  const flipped = Buffer.from(good);
  flipped[HEADER_BYTES + 2 * SEALED + 100]! ^= 1;
  expect(await attempt(flipped)).toMatch(/^segment-failed: .*segment 2 /);
  const swapped = Buffer.concat([
    good.subarray(0, HEADER_BYTES),
    good.subarray(HEADER_BYTES + SEALED, HEADER_BYTES + 2 * SEALED),
    good.subarray(HEADER_BYTES, HEADER_BYTES + SEALED),
    good.subarray(HEADER_BYTES + 2 * SEALED),
  ]);
  expect(await attempt(swapped)).toMatch(/^segment-failed: .*segment 0 /);
  expect(await attempt(good.subarray(0, good.length - 20))).toMatch(/^truncated: /);
  expect(await attempt(Buffer.concat([good, Buffer.from([0])]))).toMatch(/^too-long: /);
  expect(await attempt(good)).toBe("opened");
  const blob = await downloadAttachment({ ...transport(alice), roomId: "tamper", ref });
  expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(plain))).toBe(true);
});
