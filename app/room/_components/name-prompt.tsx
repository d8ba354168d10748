"use client";
import Link from "next/link";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { DISPLAY_NAME_MAX, displayNameSchema } from "@/lib/protocol";
import { recallName, rememberName } from "@/lib/ui/session";
import { identityMode, setIdentityMode } from "@/lib/ui/identity-mode";
import { Button, Logo } from "@/app/_components/ui";

/** Asked when a room link is opened without a name (or the name is taken in that room). */
export function NamePrompt({
  roomId,
  initial,
  error,
  onSubmit,
}: {
  roomId: string | undefined;
  initial: string;
  error: string | null;
  onSubmit: (name: string) => void;
}) {
  const id = useId();
  const [name, setName] = useState(() => initial || recallName() || "");
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  // The prompt is the whole page and the name its only question: start there.
  useEffect(() => input.current?.focus(), []);

  function submit(e: FormEvent) {
    e.preventDefault();
    const r = displayNameSchema.safeParse(name);
    if (!r.success) {
      setProblem(r.error.issues[0]?.message ?? "Invalid display name.");
      return;
    }
    setProblem(null);
    onSubmit(r.data);
  }
  const shown = problem ?? error;
  const tabMode = typeof window !== "undefined" && identityMode() === "tab";

  /**
   * Switches this tab to its own identity (or back to the profile's) and reloads, so the page's one
   * client is made afresh with it; the name typed so far is kept for the tab.
   */
  function switchIdentity(mode: "tab" | "profile") {
    const r = displayNameSchema.safeParse(name);
    if (mode === "tab" && !r.success) {
      setProblem(r.error.issues[0]?.message ?? "Invalid display name.");
      return;
    }
    setIdentityMode(mode);
    if (r.success) rememberName(r.data);
    const q = r.success ? `?${new URLSearchParams({ name: r.data })}` : "";
    window.location.assign(roomId ? `/room/${encodeURIComponent(roomId)}${q}` : `/room${q}`);
  }

  return (
    <main className="flex min-h-dvh items-center justify-center px-5 py-10">
      <form onSubmit={submit} noValidate className="w-full max-w-md rounded-2xl border border-line bg-panel p-6 shadow-sm" data-testid="name-prompt">
        <Logo />
        <h1 className="mt-4 text-lg font-semibold">Join {roomId ? <span className="font-mono text-accent">{roomId}</span> : "a new room"}</h1>
        <p className="mt-1 text-sm text-muted" data-testid="identity-mode" data-mode={tabMode ? "tab" : "profile"}>
          Pick the name other members will see.{" "}
          {tabMode
            ? "This tab has its own keys, apart from this browser's identity."
            : "Every tab of this browser joins as the same member, with the same keys."}
        </p>
        <label htmlFor={id} className="mt-5 block text-sm font-medium">
          Display name
        </label>
        <input
          ref={input}
          id={id}
          data-testid="name-input"
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={DISPLAY_NAME_MAX + 8}
          aria-invalid={shown ? true : undefined}
          aria-describedby={`${id}-msg`}
          className={`mt-1.5 block w-full rounded-md border bg-bg px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-accent/50 ${shown ? "border-danger" : "border-line"}`}
        />
        <p
          id={`${id}-msg`}
          role={shown ? "alert" : undefined}
          className={`mt-1.5 text-sm ${shown ? "text-danger" : "text-muted"}`}
          data-testid={shown ? "name-error" : undefined}
        >
          {shown ?? `Up to ${DISPLAY_NAME_MAX} characters.`}
        </p>
        <div className="mt-5 flex items-center justify-between">
          <Link href="/" className="text-sm text-muted hover:text-fg">
            ← Back
          </Link>
          <Button type="submit" variant="primary" data-testid="join-button">
            Join room
          </Button>
        </div>
        <div className="mt-4 border-t border-line pt-3 text-sm">
          {tabMode ? (
            <button type="button" className="text-muted underline hover:text-fg" data-testid="profile-identity" onClick={() => switchIdentity("profile")}>
              Join with this browser&apos;s identity instead
            </button>
          ) : (
            <button type="button" className="text-muted underline hover:text-fg" data-testid="someone-else" onClick={() => switchIdentity("tab")}>
              Join as someone else in this tab
            </button>
          )}
        </div>
      </form>
    </main>
  );
}
