/**
 * The browser side of bench:attachments, bundled by esbuild at bench time and served by the bench's
 * own HTTP server next to the real QSEC application: the real ChatClient and lib/client/attachments
 * (the code the room page runs), driven by the bench through window.qsecBench.
 */
import { ChatClient, MemoryStorage } from "@/lib/client";
import { blobSource, generateIdentity, type AttachmentRef } from "@/lib/crypto";
import { discardDownload, downloadAttachment, uploadAttachment } from "@/lib/client/attachments";
import { setAttachmentWorkerFactory } from "@/lib/client/attachment-workers";

// The upload's staging worker, bundled by the bench next to this page (the app's bundler does this for Next.js).
setAttachmentWorkerFactory(() => new Worker("/attachment-worker.js", { name: "qsec-attachment" }));

let client: ChatClient;
let roomId = "";
let file: Blob | null = null;
let ref: AttachmentRef | null = null;
let kept: Blob | null = null;

const request: ChatClient["request"] = (e, p, t) => client.request(e, p, t);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const bench = {
  async setup(room: string): Promise<void> {
    roomId = room;
    client = new ChatClient({ url: location.origin, identity: await generateIdentity(), storage: new MemoryStorage() });
    await client.connect();
    await client.join(room, "Browser");
  },
  /** A file of `mb` MiB of random bytes, as a Blob (outside the JS heap, as a picked File is). */
  makeFile(mb: number): number {
    const parts: Blob[] = [];
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < mb; i++) {
      for (let o = 0; o < chunk.length; o += 65536) crypto.getRandomValues(chunk.subarray(o, o + 65536));
      parts.push(new Blob([chunk]));
    }
    file = new Blob(parts, { type: "application/octet-stream" });
    return file.size;
  },
  encryptUpload: () =>
    timed(async () => {
      ref = await uploadAttachment({ request, baseUrl: "", roomId, source: blobSource(file!), name: "bench.bin", mime: "application/octet-stream" }).done;
    }),
  /** The default: opened into a staging file in the origin-private file system (disk-backed). */
  downloadDecrypt: () =>
    timed(async () => {
      kept = await downloadAttachment({ request, baseUrl: "", roomId, ref: ref! });
      if (kept.size !== file!.size) throw new Error(`downloaded ${kept.size} bytes, expected ${file!.size}`);
    }),
  /** The fallback where there is no OPFS: assembled into an in-memory Blob. */
  downloadDecryptMemory: () =>
    timed(async () => {
      kept = await downloadAttachment({ request, baseUrl: "", roomId, ref: ref!, staging: "memory" });
      if (kept.size !== file!.size) throw new Error(`downloaded ${kept.size} bytes, expected ${file!.size}`);
    }),
  plainUpload: () =>
    timed(async () => {
      const res = await fetch("/plain/bench", { method: "PUT", body: file! });
      if (!res.ok) throw new Error(`plain upload: ${res.status}`);
    }),
  /**
   * The floor under encrypt+upload: the least any client that sends bytes other than the file's own
   * must do, with no crypto and no tus. The file is read in 16 MiB pieces (as the app's staging
   * reads it), each piece's bytes become a new Blob (the page's bytes handed to the browser, as
   * sealed ciphertext must be) and go out as one PUT per piece, the next piece read while the last
   * is sent.
   */
  copyUpload: () =>
    timed(async () => {
      const PIECE = 16 * 1024 * 1024;
      const f = file!;
      const piece = async (at: number) => new Blob([await f.slice(at, Math.min(f.size, at + PIECE)).arrayBuffer()]);
      let next = piece(0);
      for (let at = 0; at < f.size; at += PIECE) {
        const body = await next;
        if (at + PIECE < f.size) next = piece(at + PIECE);
        const res = await fetch(`/plain/part?at=${at}`, { method: "PUT", body });
        if (!res.ok) throw new Error(`copy upload: ${res.status}`);
      }
    }),
  plainDownload: () =>
    timed(async () => {
      kept = await (await fetch("/plain/bench")).blob();
      if (kept.size !== file!.size) throw new Error("plain download size");
    }),
  async drop(): Promise<void> {
    if (kept) await discardDownload(kept);
    kept = null;
  },
};

(globalThis as unknown as { qsecBench: typeof bench }).qsecBench = bench;
