"use client";
import { memo } from "react";
import { linkify } from "@/lib/ui/timeline";

/**
 * A message's text with its http(s) URLs as links. Text and hrefs are React text and attributes
 * (never HTML); links open in a new tab without an opener or a referrer, so the linked page can
 * neither script this one nor learn the room's URL.
 */
export const MessageText = memo(function MessageText({ text, mine }: { text: string; mine: boolean }) {
  return (
    <>
      {linkify(text).map((s, i) =>
        s.kind === "text" ? (
          s.text
        ) : (
          <a
            key={i}
            href={s.href}
            target="_blank"
            rel="noopener noreferrer"
            className={`underline underline-offset-2 ${mine ? "text-accent-fg" : "text-accent"}`}
            data-testid="message-link"
          >
            {s.text}
          </a>
        ),
      )}
    </>
  );
});
