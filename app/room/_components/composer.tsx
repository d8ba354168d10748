"use client";
import { useEffect, useId, useMemo, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { useChatStore, useConnection, useRoomFields } from "@/lib/ui/chat-store";
import { toUiError } from "@/lib/ui/errors";
import { Button, PaperclipIcon } from "@/app/_components/ui";
import { UploadList, useAttachmentUploads } from "./attachment-uploads";

/** Max characters typed; the encrypted frame stays well under the server's ciphertext cap. */
const MAX_TEXT = 16_000;

export function Composer() {
  const room = useRoomFields("present", "members", "waitingForKey");
  const phase = useChatStore((s) => s.phase);
  const send = useChatStore((s) => s.send);
  const connection = useConnection();
  const ids = { to: useId(), text: useId() };
  const [text, setText] = useState("");
  const [to, setTo] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const filePicker = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const uploads = useAttachmentUploads();

  const members = room?.members;
  const others = useMemo(() => members?.filter((m) => !m.isMe) ?? [], [members]);
  // A recipient who left is no longer a choice (and stays unselected if they come back): adjusted while rendering.
  if (to && !others.some((m) => m.userId === to)) setTo("");

  const joined = phase === "joined";
  const online = connection === "online";
  const disabled = !joined || !online;
  const target = to ? others.find((m) => m.userId === to) : undefined;

  // Once the room is usable, typing goes straight into the composer (unless the user already moved focus elsewhere).
  useEffect(() => {
    if (!disabled && (document.activeElement === document.body || document.activeElement === null)) input.current?.focus();
  }, [disabled]);

  async function submit(e?: FormEvent) {
    e?.preventDefault();
    const body = text.trim();
    if (!body || disabled || sending) return;
    setSending(true);
    setError(null);
    try {
      await send(body, to || undefined);
      setText("");
      // Back to the room after a direct message, so the next one is not sent privately by mistake.
      setTo("");
    } catch (err) {
      const u = toUiError(err);
      setError(`${u.title}: ${u.message}`);
    } finally {
      setSending(false);
      input.current?.focus();
    }
  }

  /** Files picked, dropped or pasted: each is encrypted, uploaded and announced (with the typed text as its caption). */
  function attach(files: FileList | File[] | null) {
    if (!files || disabled) return;
    const caption = text.trim();
    let first = true;
    for (const f of Array.from(files)) {
      void uploads.start(f, to || undefined, first ? caption : "");
      first = false;
    }
    if (caption) setText("");
  }

  function onPaste(e: ClipboardEvent<HTMLTextAreaElement>) {
    const files = Array.from(e.clipboardData?.files ?? []);
    if (files.length > 0) {
      e.preventDefault();
      attach(files);
    }
  }

  function onDrop(e: DragEvent<HTMLFormElement>) {
    setDragging(false);
    if (e.dataTransfer?.files?.length) {
      e.preventDefault();
      attach(e.dataTransfer.files);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    }
  }

  const status = !joined
    ? "You left this room; rejoin to send."
    : !online
      ? "Offline: reconnecting…"
      : room && !room.present
        ? "Re-joining the room after a reconnect…"
        : room?.waitingForKey && !to
          ? "Waiting for the new room key; your message is sent once it arrives."
          : to
            ? "Direct: only this member can decrypt it, and only they receive it."
            : "Encrypted for everyone present. Enter to send, Shift+Enter for a new line.";

  return (
    <form
      onSubmit={submit}
      onDragOver={(e) => {
        if (!disabled && e.dataTransfer?.types.includes("Files")) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      className={`shrink-0 border-t p-2 sm:p-3 ${dragging ? "border-accent bg-accent/5" : "border-line"}`}
      data-testid="composer"
    >
      <UploadList pending={uploads.pending} dismiss={uploads.dismiss} />
      {error && (
        <p role="alert" className="mb-2 rounded-md border border-danger/50 bg-danger/10 px-3 py-1.5 text-sm text-danger" data-testid="composer-error">
          {error}
        </p>
      )}
      {target && (
        <p className="mb-2 flex items-center justify-between gap-2 rounded-md border border-accent/50 bg-accent/10 px-3 py-1.5 text-sm" data-testid="dm-target">
          <span>
            <span className="font-semibold text-accent">Direct message to {target.displayName}</span>{" "}
            <span className="text-muted">· only they can read it</span>
          </span>
          <button
            type="button"
            onClick={() => setTo("")}
            className="shrink-0 rounded px-1.5 text-xs font-medium text-accent hover:underline"
            data-testid="dm-clear"
          >
            Send to everyone instead
          </button>
        </p>
      )}
      {/* Below 380 px (the smallest phones) "To" takes a row of its own, so the message box keeps its width beside Attach and Send. */}
      <div className="flex flex-wrap items-end gap-2 min-[380px]:flex-nowrap">
        <div className="w-full shrink-0 min-[380px]:w-28 sm:w-44">
          <label htmlFor={ids.to} className="mb-1 block text-[11px] font-semibold uppercase tracking-wider text-muted">
            To
          </label>
          <select
            id={ids.to}
            value={to}
            onChange={(e) => setTo(e.target.value)}
            disabled={disabled}
            data-testid="recipient-select"
            className={`block w-full rounded-md border bg-bg px-2.5 py-2 text-sm focus:outline-none ${to ? "border-accent font-medium text-accent" : "border-line"} focus:ring-2 focus:ring-accent/50`}
          >
            <option value="">Everyone</option>
            {others.map((m) => (
              <option key={m.userId} value={m.userId}>
                {m.displayName} (direct)
              </option>
            ))}
          </select>
        </div>
        <div className="min-w-0 flex-1">
          <label htmlFor={ids.text} className="sr-only">
            Message
          </label>
          <textarea
            ref={input}
            id={ids.text}
            rows={2}
            value={text}
            maxLength={MAX_TEXT}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKeyDown}
            onPaste={onPaste}
            disabled={disabled}
            placeholder={disabled ? "" : target ? `Direct message to ${target.displayName}…` : "Message everyone…"}
            data-testid="composer-input"
            className={`block max-h-40 min-h-[2.75rem] w-full resize-y rounded-md border bg-bg ${to ? "border-accent" : "border-line"} px-3 py-2 text-sm leading-6 focus:outline-none focus:ring-2 focus:ring-accent/50 disabled:opacity-60`}
          />
        </div>
        <input
          ref={filePicker}
          type="file"
          multiple
          className="sr-only"
          tabIndex={-1}
          aria-label="Files to attach"
          data-testid="attach-input"
          onChange={(e) => {
            attach(e.target.files);
            e.target.value = "";
          }}
        />
        <Button
          type="button"
          onClick={() => filePicker.current?.click()}
          disabled={disabled}
          aria-label="Attach files (encrypted end to end)"
          title="Attach files: encrypted in your browser, or drop or paste them here"
          data-testid="attach-button"
          className="h-[2.75rem] shrink-0 px-3"
        >
          <PaperclipIcon className="h-5 w-5" />
        </Button>
        <Button
          type="submit"
          variant="primary"
          disabled={disabled || sending || !text.trim()}
          data-testid="send-button"
          className="h-[2.75rem] shrink-0 px-3 sm:px-5"
        >
          {sending ? "Sending…" : "Send"}
        </Button>
      </div>
      <p className="mt-1.5 text-[11px] text-muted max-sm:sr-only" aria-live="polite">
        {status}
      </p>
    </form>
  );
}
