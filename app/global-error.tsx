"use client";
import "./globals.css";

/** Last resort when the root layout itself fails: plain markup, same message. */
export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body className="flex min-h-dvh items-center justify-center bg-bg p-6 font-sans text-fg">
        <div role="alert" className="max-w-lg rounded-xl border border-danger/50 bg-panel p-6">
          <h1 className="text-lg font-semibold text-danger">QSEC failed to load</h1>
          <p className="mt-2 text-sm text-muted">An unexpected error stopped the page. Reload to try again.</p>
          {error.digest && <p className="mt-2 font-mono text-xs text-muted">Reference: {error.digest}</p>}
          <button type="button" onClick={reset} className="mt-4 rounded-md bg-accent px-3 py-1.5 text-sm font-medium text-accent-fg">
            Try again
          </button>
        </div>
      </body>
    </html>
  );
}
