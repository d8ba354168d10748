"use client";
import { useCallback, useRef, useState } from "react";
import { blobSource } from "@/lib/crypto";
import { uploadAttachment, type AttachmentUpload } from "@/lib/client/attachments";
import { useChatStore } from "@/lib/ui/chat-store";
import { toUiError } from "@/lib/ui/errors";
import { formatBytes, makeThumbnail } from "@/lib/ui/attachments";

interface Pending {
  key: number;
  name: string;
  size: number;
  progress: number;
  upload: AttachmentUpload | null;
  error?: string;
}

/**
 * The composer's uploads: each picked, dropped or pasted file is encrypted and uploaded (tus) with a
 * progress bar and Cancel; once stored, a message announcing it (key, name, type, size, hash and
 * thumbnail inside the end-to-end encryption) goes to the room, or to the chosen member directly.
 */
export function useAttachmentUploads() {
  const client = useChatStore((s) => s.client);
  const roomId = useChatStore((s) => s.roomId);
  const send = useChatStore((s) => s.send);
  const [pending, setPending] = useState<Pending[]>([]);
  const seq = useRef(0);

  const update = useCallback((key: number, patch: Partial<Pending>) => setPending((ps) => ps.map((p) => (p.key === key ? { ...p, ...patch } : p))), []);

  const start = useCallback(
    async (file: File, to: string | undefined, caption: string) => {
      if (!client || !roomId) return;
      const key = ++seq.current;
      const name = file.name || `pasted-${new Date().toISOString().replace(/[:.]/g, "-")}.${(file.type.split("/")[1] ?? "bin").replace(/[^a-z0-9]/gi, "")}`;
      setPending((ps) => [...ps, { key, name, size: file.size, progress: 0, upload: null }]);
      try {
        const thumb = await makeThumbnail(file);
        const upload = uploadAttachment({
          request: (e, p) => client.request(e, p),
          baseUrl: "",
          roomId,
          ...(to && { to }),
          source: blobSource(file),
          name,
          mime: file.type,
          ...(thumb && { thumb }),
          onProgress: ({ sent, total }) => update(key, { progress: total ? sent / total : 1 }),
        });
        update(key, { upload });
        const ref = await upload.done;
        await send(caption, to, ref);
        setPending((ps) => ps.filter((p) => p.key !== key));
      } catch (e) {
        const u = toUiError(e);
        if ((e as { code?: string })?.code === "CANCELLED") setPending((ps) => ps.filter((p) => p.key !== key));
        else update(key, { error: `${u.title}: ${u.message}`, upload: null });
      }
    },
    [client, roomId, send, update],
  );

  const dismiss = useCallback((key: number) => setPending((ps) => ps.filter((p) => p.key !== key)), []);
  return { pending, start, dismiss };
}

export function UploadList({ pending, dismiss }: { pending: Pending[]; dismiss(key: number): void }) {
  if (pending.length === 0) return null;
  return (
    <ul className="mb-2 flex flex-col gap-1.5" aria-label="Uploads" data-testid="upload-list">
      {pending.map((p) => (
        <li key={p.key} className="rounded-md border border-line bg-panel-2 px-3 py-1.5 text-xs" data-testid="upload-item">
          <div className="flex items-center gap-2">
            <span className="min-w-0 flex-1 truncate font-medium" title={p.name}>
              {p.name} <span className="font-normal text-muted">· {formatBytes(p.size)}</span>
            </span>
            {p.error ? (
              <button type="button" onClick={() => dismiss(p.key)} aria-label={`Dismiss failed upload of ${p.name}`} className="text-accent hover:underline">
                Dismiss
              </button>
            ) : (
              <button
                type="button"
                onClick={() => void p.upload?.cancel()}
                disabled={!p.upload}
                aria-label={`Cancel upload of ${p.name}`}
                className="text-accent hover:underline disabled:opacity-50"
                data-testid="upload-cancel"
              >
                Cancel
              </button>
            )}
          </div>
          {p.error ? (
            <p role="alert" className="mt-1 text-danger" data-testid="upload-error">
              {p.error}
            </p>
          ) : (
            <progress className="mt-1 block h-1.5 w-full" value={p.progress} max={1} aria-label={`Uploading ${p.name}`} data-testid="upload-progress" />
          )}
        </li>
      ))}
    </ul>
  );
}
