/**
 * Browser helpers for attachments: the thumbnail the sender's browser makes (and the message then
 * encrypts), sizes in words, and handing a downloaded, fully checked file to the user.
 */
import { MAX_THUMBNAIL_BYTES, type AttachmentRef } from "@/lib/crypto";

const THUMB_EDGE = 320;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(1)} GB`;
}

/** Videos up to this size play inline in the message (downloaded, checked, then shown); larger ones are a card with a poster. */
export const INLINE_VIDEO_MAX_BYTES = 50 * 1024 * 1024;

/** Video types a browser plays in a <video> element (the poster is made from the same element). */
export function isInlineVideo(mime: string): boolean {
  return /^video\/(mp4|webm|ogg|quicktime)$/.test(mime);
}

/**
 * A JPEG preview of an image file, or of a video's first second (its poster frame), at most 320 px
 * and MAX_THUMBNAIL_BYTES, made here in the sender's browser (it travels inside the encrypted
 * message); undefined for anything else or on failure.
 */
export async function makeThumbnail(file: Blob): Promise<AttachmentRef["thumb"] | undefined> {
  try {
    if (isInlineVideo(file.type)) {
      const url = URL.createObjectURL(file);
      try {
        return await encodeThumbnail(await videoFrame(url));
      } finally {
        URL.revokeObjectURL(url);
      }
    }
    if (!/^image\/(png|jpeg|gif|webp|bmp|avif)$/.test(file.type) || typeof createImageBitmap !== "function") return undefined;
    return await encodeThumbnail(await createImageBitmap(file));
  } catch {
    return undefined; // no preview: the file is still sent
  }
}

async function encodeThumbnail(source: ImageBitmap | HTMLVideoElement): Promise<AttachmentRef["thumb"] | undefined> {
  const w = source instanceof HTMLVideoElement ? source.videoWidth : source.width;
  const h = source instanceof HTMLVideoElement ? source.videoHeight : source.height;
  if (!w || !h) return undefined;
  const scale = Math.min(1, THUMB_EDGE / Math.max(w, h));
  const width = Math.max(1, Math.round(w * scale));
  const height = Math.max(1, Math.round(h * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d")!.drawImage(source, 0, 0, width, height);
  if (!(source instanceof HTMLVideoElement)) source.close();
  for (const quality of [0.75, 0.55, 0.35]) {
    const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, "image/jpeg", quality));
    if (blob && blob.size <= MAX_THUMBNAIL_BYTES) {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let bin = "";
      for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
      return { mime: "image/jpeg", data: btoa(bin), width, height };
    }
  }
  return undefined;
}

/** A video element showing a frame near the start of the file (the local file; nothing is fetched). */
async function videoFrame(url: string, timeoutMs = 5000): Promise<HTMLVideoElement> {
  const video = document.createElement("video");
  video.muted = true;
  video.preload = "auto";
  video.playsInline = true;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no video frame")), timeoutMs);
    video.onloadeddata = () => {
      video.onseeked = () => {
        clearTimeout(timer);
        resolve();
      };
      video.currentTime = Math.min(1, (video.duration || 0) / 2);
    };
    video.onerror = () => {
      clearTimeout(timer);
      reject(new Error("not a playable video"));
    };
    video.src = url;
  });
  return video;
}

/** Offers a checked file to the user as a download under its announced name; `release` runs once the browser had time to copy it. */
export function saveBlob(blob: Blob, name: string, release?: () => void): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name || "attachment";
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
    release?.();
  }, 60_000);
}
