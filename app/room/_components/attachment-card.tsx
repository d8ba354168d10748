"use client";
import { useEffect, useRef, useState } from "react";
import type { AttachmentRef } from "@/lib/crypto";
import { discardDownload, downloadAttachment } from "@/lib/client/attachments";
import { useChatStore } from "@/lib/ui/chat-store";
import { toUiError } from "@/lib/ui/errors";
import { INLINE_VIDEO_MAX_BYTES, formatBytes, isInlineVideo, saveBlob } from "@/lib/ui/attachments";
import { PaperclipIcon } from "@/app/_components/ui";

/**
 * An attachment in a message: the sender's encrypted thumbnail inline for images and videos (a
 * poster frame), else a card with name and size; Download fetches, decrypts and checks it (with
 * progress and cancel) and offers the file only once every segment and the SHA-256 checked out.
 * A short video (≤ 50 MB) also has Play: the same checked download, then shown inline.
 */
export function AttachmentCard({ att, mine }: { att: AttachmentRef; mine: boolean }) {
  const client = useChatStore((s) => s.client);
  const roomId = useChatStore((s) => s.roomId);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const [video, setVideo] = useState<{ url: string; blob: Blob } | null>(null);
  const playable = isInlineVideo(att.mime) && att.size <= INLINE_VIDEO_MAX_BYTES;

  // The played video's object URL and staging copy go with the card.
  useEffect(
    () => () => {
      if (video) {
        URL.revokeObjectURL(video.url);
        void discardDownload(video.blob);
      }
    },
    [video],
  );

  async function download(play = false) {
    if (!client || !roomId || progress !== null) return;
    setError(null);
    setProgress(0);
    abort.current = new AbortController();
    try {
      const blob = await downloadAttachment({
        request: (e, p) => client.request(e, p),
        baseUrl: "",
        roomId,
        ref: att,
        signal: abort.current.signal,
        onProgress: ({ sent, total }) => setProgress(total ? sent / total : 1),
      });
      if (play) setVideo({ url: URL.createObjectURL(blob), blob });
      else saveBlob(blob, att.name, () => void discardDownload(blob));
    } catch (e) {
      if (!abort.current?.signal.aborted)
        setError(e instanceof Error && e.name === "AttachmentIntegrityError" ? `Refused: ${e.message}` : toUiError(e).message);
    } finally {
      setProgress(null);
      abort.current = null;
    }
  }

  const label = att.name || "attachment";
  return (
    <div
      className={`mt-1 w-72 max-w-full rounded-xl border p-2 text-sm ${mine ? "border-accent-fg/30" : "border-line bg-bg"}`}
      data-testid="attachment-card"
      data-attachment-id={att.id}
    >
      {video ? (
        // eslint-disable-next-line jsx-a11y/media-has-caption -- a member's own video: no caption track exists to offer
        <video
          src={video.url}
          controls
          autoPlay
          playsInline
          aria-label={`Video ${label}`}
          className="mb-2 h-auto max-h-60 w-full rounded-lg"
          data-testid="attachment-video"
        />
      ) : (
        att.thumb && (
          // eslint-disable-next-line @next/next/no-img-element -- a data: URL of the decrypted thumbnail, never fetched
          <img
            src={`data:${att.thumb.mime};base64,${att.thumb.data}`}
            width={att.thumb.width}
            height={att.thumb.height}
            alt={`Preview of ${label}`}
            className="mb-2 h-auto max-h-60 w-auto max-w-full rounded-lg"
            data-testid="attachment-thumb"
          />
        )
      )}
      <div className="flex items-center gap-2">
        <PaperclipIcon className="h-5 w-5 shrink-0 opacity-70" />
        <span className="min-w-0 flex-1">
          <span className="block truncate font-medium" data-testid="attachment-name" title={label}>
            {label}
          </span>
          <span className="block text-[11px] opacity-80" data-testid="attachment-size">
            {formatBytes(att.size)}
            {att.mime ? ` · ${att.mime}` : ""}
          </span>
        </span>
        {progress === null && playable && !video && (
          <button
            type="button"
            onClick={() => void download(true)}
            aria-label={`Play ${label}`}
            className="shrink-0 rounded-md border border-current px-2 py-1 text-xs font-medium hover:opacity-80"
            data-testid="attachment-play"
          >
            Play
          </button>
        )}
        {progress === null ? (
          <button
            type="button"
            onClick={() => void download()}
            aria-label={`Download ${label}`}
            className="shrink-0 rounded-md border border-current px-2 py-1 text-xs font-medium hover:opacity-80"
            data-testid="attachment-download"
          >
            Download
          </button>
        ) : (
          <button
            type="button"
            onClick={() => abort.current?.abort()}
            aria-label={`Cancel download of ${label}`}
            className="shrink-0 rounded-md border border-current px-2 py-1 text-xs font-medium hover:opacity-80"
            data-testid="attachment-cancel-download"
          >
            Cancel
          </button>
        )}
      </div>
      {progress !== null && (
        <progress className="mt-2 block h-1.5 w-full" value={progress} max={1} aria-label={`Downloading ${label}`} data-testid="attachment-download-progress" />
      )}
      {error && (
        <p role="alert" className="mt-1 text-xs text-danger" data-testid="attachment-error">
          {error}
        </p>
      )}
    </div>
  );
}
