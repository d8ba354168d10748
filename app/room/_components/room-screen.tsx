"use client";
import Link from "next/link";
import { useEffect, useState, useSyncExternalStore } from "react";
import type { HistoryMode } from "@/lib/protocol";
import { useChatStore } from "@/lib/ui/chat-store";
import { recallTabName, rememberName } from "@/lib/ui/session";
import { identityMode } from "@/lib/ui/identity-mode";
import { rememberRoom, roomName } from "@/lib/ui/your-rooms";
import { isPotentiallyTrustworthy, type PageLocation } from "@/lib/ui/secure-origin";
import { InsecureContextNotice, neverChanges, useSecureContext } from "@/app/_components/secure-context";
import { Button, Logo, Notice } from "@/app/_components/ui";
import { NamePrompt } from "./name-prompt";
import { RoomLayout } from "./room-layout";

/**
 * Everything under /room: checks the secure context, asks for a display name if the link had none,
 * joins through the store, then shows the room (or a clear error).
 */
export function RoomScreen({
  roomId,
  initialName,
  capacity,
  history,
  serverLocation,
}: {
  roomId: string | undefined;
  initialName?: string;
  capacity?: number;
  /** The history mode asked for a new room ({ days } or "ephemeral"); ignored for an existing room. */
  history?: HistoryMode;
  /** The URL as the server saw it: lets the first render explain an insecure context before any script runs. */
  serverLocation?: PageLocation | null;
}) {
  const secure = useSecureContext();
  // This tab's remembered name: only the browser knows it (null on the server and while hydrating, as `secure` is).
  const tabName = useSyncExternalStore(neverChanges, recallTabName, () => null);
  // The name this browser profile's identity used in this room before: a second tab, a reload or
  // tomorrow's visit joins as the same member without asking (not for a tab's own identity).
  const profileName = useSyncExternalStore(
    neverChanges,
    () => (identityMode() === "profile" ? roomName(roomId) : null),
    () => null,
  );
  // A name typed into the prompt; a new ?name= in the link replaces it (adjusted while rendering).
  const [typedName, setName] = useState<string | null>(null);
  const [typedFor, setTypedFor] = useState(initialName);
  if (initialName !== typedFor) {
    setTypedFor(initialName);
    setName(null);
  }
  const name = typedName ?? (initialName?.trim() || tabName || profileName || null);
  const [attempt, setAttempt] = useState(0);
  const phase = useChatStore((s) => s.phase);
  const error = useChatStore((s) => s.error);
  const enter = useChatStore((s) => s.enter);
  const historyKey = history === undefined ? "" : JSON.stringify(history);

  useEffect(() => {
    if (!secure || !name) return;
    rememberName(name);
    let cancelled = false;
    void enter({ roomId, displayName: name, capacity, history }).then((joined) => {
      if (cancelled || !joined) return;
      if (identityMode() === "profile") rememberRoom(joined, name);
      // The name and capacity only matter for joining; share-safe URL from here on.
      const clean = `/room/${encodeURIComponent(joined)}`;
      if (window.location.pathname + window.location.search !== clean) window.history.replaceState(null, "", clean);
    });
    return () => {
      cancelled = true;
    };
    // history is a fresh object each render: its JSON is the dependency.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [secure, name, roomId, capacity, historyKey, enter, attempt]);

  if (secure === false) return <InsecureContextNotice loc={serverLocation} />;
  // Before scripts run, trust the server's view: where scripts cannot load, this stays on screen.
  if (secure === null && serverLocation && !isPotentiallyTrustworthy(serverLocation)) return <InsecureContextNotice loc={serverLocation} />;
  if (secure === null) return <Loading label="Starting…" />;

  if (!name || (phase === "failed" && error?.code === "NAME_TAKEN")) {
    return (
      <NamePrompt
        roomId={roomId}
        error={phase === "failed" && error?.code === "NAME_TAKEN" ? error.message : null}
        initial={name ?? ""}
        onSubmit={(n) => {
          setName(n);
          setAttempt((a) => a + 1);
        }}
      />
    );
  }

  if (phase === "failed" && error) {
    return (
      <main className="flex min-h-dvh items-center px-5 py-10">
        <Notice
          title={error.title}
          data-testid="room-error"
          data-code={error.code}
          actions={
            <>
              <Button variant="primary" onClick={() => setAttempt((a) => a + 1)}>
                Try again
              </Button>
              <Link href="/" className="rounded-md border border-line bg-panel-2 px-3 py-1.5 text-sm font-medium hover:border-accent/60">
                Back to start
              </Link>
            </>
          }
        >
          <p>{error.message}</p>
          {error.detail && (
            <p className="text-xs">
              Server said: <span className="font-mono">{error.detail}</span> <span className="font-mono">({error.code})</span>
            </p>
          )}
          {roomId && (
            <p className="text-xs">
              Room <span className="font-mono text-fg">{roomId}</span>
            </p>
          )}
        </Notice>
      </main>
    );
  }

  if (phase === "joined" || phase === "left") return <RoomLayout />;
  return <Loading label={phase === "joining" ? `Joining ${roomId ?? "a new room"}…` : "Connecting and proving this browser's key…"} />;
}

function Loading({ label }: { label: string }) {
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center gap-4 px-5" aria-busy="true">
      <Logo className="text-lg" />
      <p role="status" className="flex items-center gap-2 text-sm text-muted" data-testid="room-loading">
        <span className="h-3 w-3 animate-spin rounded-full border-2 border-accent border-t-transparent" aria-hidden="true" />
        {label}
      </p>
    </main>
  );
}
