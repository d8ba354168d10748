"use client";
import Link from "next/link";
import { useChatStore } from "@/lib/ui/chat-store";
import { Button } from "@/app/_components/ui";

export function LeftBanner() {
  const roomId = useChatStore((s) => s.roomId);
  const name = useChatStore((s) => s.displayName);
  const enter = useChatStore((s) => s.enter);
  return (
    <div
      role="status"
      data-testid="left-banner"
      className="mx-3 mt-3 flex flex-wrap items-center justify-between gap-3 rounded-xl border border-warn/50 bg-warn/10 px-4 py-3 text-sm"
    >
      <p>
        <strong className="font-semibold text-warn">You left this room.</strong>{" "}
        <span className="text-muted">What you see is frozen at the moment you left. The remaining members moved to a new key you do not have.</span>
      </p>
      <div className="flex gap-2">
        <Button variant="primary" onClick={() => roomId && name && void enter({ roomId, displayName: name })} data-testid="rejoin-button">
          Rejoin
        </Button>
        <Link href="/" className="rounded-md border border-line bg-panel-2 px-3 py-1.5 text-sm font-medium hover:border-accent/60">
          Home
        </Link>
      </div>
    </div>
  );
}
