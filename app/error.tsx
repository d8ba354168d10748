"use client";
import Link from "next/link";
import { useEffect } from "react";
import { Button, Notice } from "./_components/ui";

/** Any uncaught render error: a clear message and a way out, never a blank page. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <main className="flex min-h-dvh items-center px-5 py-10">
      <Notice
        title="Something went wrong on this page"
        data-testid="app-error"
        actions={
          <>
            <Button variant="primary" onClick={reset}>
              Try again
            </Button>
            <Link href="/" className="rounded-md border border-line bg-panel-2 px-3 py-1.5 text-sm font-medium hover:border-accent/60">
              Back to start
            </Link>
          </>
        }
      >
        <p>The page hit an unexpected error. Your keys stay in this tab; nothing was sent in the clear.</p>
        {error.message && <p className="break-words font-mono text-xs">{error.message}</p>}
        {error.digest && <p className="font-mono text-xs">Reference: {error.digest}</p>}
      </Notice>
    </main>
  );
}
