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

/** A JPEG preview of an image file, at most 320 px and MAX_THUMBNAIL_BYTES; undefined for anything else or on failure. */
export async function makeThumbnail(file: Blob): Promise<AttachmentRef["thumb"] | undefined> {
  if (!/^image\/(png|jpeg|gif|webp|bmp|avif)$/.test(file.type) || typeof createImageBitmap !== "function") return undefined;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, THUMB_EDGE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d")!.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    for (const quality of [0.75, 0.55, 0.35]) {
      const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, "image/jpeg", quality));
      if (blob && blob.size <= MAX_THUMBNAIL_BYTES) {
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let bin = "";
        for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
        return { mime: "image/jpeg", data: btoa(bin), width, height };
      }
    }
  } catch {
    /* no preview: the file is still sent */
  }
  return undefined;
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
