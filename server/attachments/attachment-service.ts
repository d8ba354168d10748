/**
 * The HTTP side of attachments, mounted on the same HTTP server as Next.js and Socket.IO:
 *   POST   /attachments/           tus creation (the id comes from the capability, not the client)
 *   HEAD   /attachments/<id>       tus offset (resume)
 *   PATCH  /attachments/<id>       tus append
 *   DELETE /attachments/<id>       the uploader cancels (file and row go)
 *   GET    /attachments/<id>       download of the finished ciphertext, with Range
 * Every request carries `Authorization: Bearer <capability>` (capability.ts) and is re-checked
 * against the database (membership, epochs, DM parties) before @tus/server or the file is touched.
 * The store is @tus/file-store under <data dir>/attachments: ciphertext only, named by random ids.
 */
import { createReadStream, existsSync, mkdirSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Server as TusServer } from "@tus/server";
import { FileStore } from "@tus/file-store";
import { ATTACHMENT_HTTP_PATH, attachmentIdSchema } from "@/lib/protocol";
import { ciphertextSize } from "@/lib/crypto/attachment-stream";
import type { PrismaClient } from "@prisma/client";
import type { LogWriter } from "../logs/log-writer";
import type { Presence } from "../rooms/presence";
import type { Logger } from "../logger";
import { CapabilitySigner, type Capability } from "./capability";
import { deleteAttachmentRows, existingIds, findAttachment, markComplete, mayRead, mayUpload } from "./attachments.repository";

/** What the service needs of the application (a subset of Deps, named here to keep context.ts free of this module). */
export interface AttachmentServiceDeps {
  prisma: PrismaClient;
  logs: LogWriter;
  presence: Presence;
  logger: Logger;
}

export interface AttachmentSettings {
  /** The store directory (ciphertext files and tus metadata). */
  dir: string;
  /** The largest file (plaintext bytes; its ciphertext may be ciphertextSize(maxBytes)). */
  maxBytes: number;
  roomQuotaBytes: number;
  memberQuotaBytes: number;
  capabilityTtlMs: number;
  orphanAfterMs: number;
  secret: Uint8Array;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class AttachmentService {
  readonly signer: CapabilitySigner;
  private readonly tus: TusServer;

  constructor(
    private readonly deps: AttachmentServiceDeps,
    readonly settings: AttachmentSettings,
  ) {
    mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
    this.signer = new CapabilitySigner(settings.secret);
    this.tus = new TusServer({
      path: ATTACHMENT_HTTP_PATH.replace(/\/$/, ""),
      datastore: new FileStore({ directory: settings.dir }),
      relativeLocation: true,
      // Same-origin only: no Access-Control-Allow-Origin for anyone.
      allowedOrigins: () => false,
      maxSize: ciphertextSize(settings.maxBytes),
      // Pre-checked in handle(): the capability names the attachment this upload fills.
      namingFunction: (req) => this.capabilityOf(req.headers.get("authorization")).att,
      onUploadFinish: async (_req, upload) => {
        await this.finished(upload.id);
        return {};
      },
    });
  }

  /** Handles requests under /attachments/; returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? "";
    if (!url.startsWith(ATTACHMENT_HTTP_PATH) && url !== ATTACHMENT_HTTP_PATH.slice(0, -1)) return false;
    this.serve(req, res).catch((e: unknown) => {
      const status = e instanceof HttpRefusal ? e.status : 500;
      const message = e instanceof HttpRefusal ? e.message : "internal error";
      if (!(e instanceof HttpRefusal)) this.deps.logger.error("attachment request failed", { error: e instanceof Error ? e.message : String(e) });
      if (!res.headersSent) res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(`${message}\n`);
      req.resume();
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    if (method === "OPTIONS") return void (await this.tus.handle(req, res));
    const rest = (req.url ?? "").slice(ATTACHMENT_HTTP_PATH.length).split("?")[0]!;
    const cap = this.capabilityOf(req.headers.authorization ?? null);
    if (method === "POST") {
      if (rest !== "") throw new HttpRefusal(404, "not found");
      return this.create(cap, req, res);
    }
    if (!attachmentIdSchema.safeParse(rest).success) throw new HttpRefusal(404, "not found");
    if (cap.att !== rest) throw new HttpRefusal(403, "this capability is for another attachment");
    const att = await findAttachment(this.deps.prisma, rest);
    if (!att || att.roomId !== cap.room) throw new HttpRefusal(404, "no such attachment (deleted by retention, or never created)");
    if (method === "GET") {
      if (cap.op !== "download") throw new HttpRefusal(403, "an upload capability cannot download");
      if (!(await mayRead(this.deps.prisma, att, cap.sub))) throw new HttpRefusal(403, "not a member of this attachment's room and epochs");
      if (!att.complete) throw new HttpRefusal(409, "the upload of this attachment has not finished");
      return this.download(att.id, req, res);
    }
    if (cap.op !== "upload") throw new HttpRefusal(403, "a download capability cannot upload");
    if (!(await mayUpload(this.deps.prisma, att, cap.sub))) throw new HttpRefusal(403, "only its uploader, while a member, may upload this attachment");
    if (method === "DELETE") {
      await this.remove([att.id]);
      res.writeHead(204, { "tus-resumable": "1.0.0" }).end();
      return;
    }
    if (method !== "HEAD" && method !== "PATCH") throw new HttpRefusal(405, "method not allowed");
    if (att.complete && method === "PATCH") throw new HttpRefusal(409, "this upload has finished");
    await this.tus.handle(req, res);
  }

  private async create(cap: Capability, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (cap.op !== "upload") throw new HttpRefusal(403, "a download capability cannot upload");
    const att = await findAttachment(this.deps.prisma, cap.att);
    if (!att || att.roomId !== cap.room) throw new HttpRefusal(404, "no such attachment: reserve it first (attachment:create)");
    if (!(await mayUpload(this.deps.prisma, att, cap.sub))) throw new HttpRefusal(403, "only its uploader, while a member, may upload this attachment");
    const length = Number(req.headers["upload-length"]);
    if (length !== att.size) throw new HttpRefusal(400, `Upload-Length must be the reserved size (${att.size} bytes)`);
    if (att.complete || existsSync(this.file(att.id))) throw new HttpRefusal(409, "this upload already exists: resume it (HEAD/PATCH its URL)");
    // Nothing a client says about the file is kept: names and types belong inside the E2E message.
    delete req.headers["upload-metadata"];
    await this.tus.handle(req, res);
  }

  private async download(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const size = (await stat(this.file(id))).size;
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    };
    let start = 0;
    let end = size - 1;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= size || (m[2] && Number(m[2]) < Number(m[1]))) {
        res.writeHead(416, { ...headers, "content-range": `bytes */${size}` }).end();
        return;
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(size - 1, Number(m[2])) : size - 1;
      res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${size}`, "content-length": String(end - start + 1) });
    } else {
      res.writeHead(200, { ...headers, "content-length": String(size) });
    }
    if (req.method === "HEAD" || size === 0) return void res.end();
    // 1 MiB reads: a 64 KiB default means 16× the syscalls and event-loop turns per MiB served.
    const stream = createReadStream(this.file(id), { start, end, highWaterMark: 1024 * 1024 });
    stream.on("error", () => res.destroy());
    res.on("close", () => stream.destroy());
    stream.pipe(res);
  }

  private async finished(id: string): Promise<void> {
    const att = await findAttachment(this.deps.prisma, id);
    if (!att) return;
    const epoch = this.deps.presence.rooms.get(att.roomId)?.epoch ?? att.epoch;
    await markComplete(this.deps.prisma, id, epoch);
    this.deps.logs.append({ roomId: att.roomId, type: "ATTACHMENT_UPLOADED", actorId: att.uploaderId, meta: { attachmentId: id, bytes: att.size } });
  }

  /** A signed capability from an Authorization header, or a 401 saying why not. */
  private capabilityOf(header: string | null): Capability {
    const m = header ? /^Bearer ([A-Za-z0-9_.-]{1,1024})$/.exec(header) : null;
    if (!m) throw new HttpRefusal(401, "an attachment capability is required (Authorization: Bearer …, from attachment:create or attachment:grant)");
    const v = this.signer.verify(m[1]!);
    if (!v.ok) throw new HttpRefusal(401, v.reason);
    return v.cap;
  }

  issue(op: Capability["op"], sub: string, room: string, att: string): { token: string; expiresAt: string } {
    const exp = Date.now() + this.settings.capabilityTtlMs;
    return { token: this.signer.sign({ op, sub, room, att, exp }), expiresAt: new Date(exp).toISOString() };
  }

  file(id: string): string {
    return path.join(this.settings.dir, id);
  }

  /** Deletes rows and files (ciphertext and tus metadata). */
  async remove(ids: string[]): Promise<number> {
    const n = await deleteAttachmentRows(this.deps.prisma, ids);
    for (const id of ids) {
      await rm(this.file(id), { force: true });
      await rm(`${this.file(id)}.json`, { force: true });
    }
    return n;
  }

  /** Files in the store with no row (a deleted room's, a crash between row and file): removed. */
  async purgeStrayFiles(): Promise<{ files: number; bytes: number }> {
    const names = await readdir(this.settings.dir).catch(() => [] as string[]);
    const ids = [...new Set(names.map((n) => n.replace(/\.json$/, "")))].filter((id) => attachmentIdSchema.safeParse(id).success);
    let files = 0;
    let bytes = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const known = await existingIds(this.deps.prisma, chunk);
      for (const id of chunk) {
        if (known.has(id)) continue;
        bytes += await stat(this.file(id)).then(
          (s) => s.size,
          () => 0,
        );
        await rm(this.file(id), { force: true });
        await rm(`${this.file(id)}.json`, { force: true });
        files += 1;
      }
    }
    return { files, bytes };
  }
}
