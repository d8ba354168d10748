import Link from "next/link";
import { Notice } from "./_components/ui";

export default function NotFound() {
  return (
    <main className="flex min-h-dvh items-center px-5 py-10">
      <Notice
        tone="neutral"
        title="Page not found"
        data-testid="not-found"
        actions={
          <Link href="/" className="rounded-md bg-accent px-3 py-1.5 text-sm font-medium text-accent-fg hover:opacity-90">
            Go to the start page
          </Link>
        }
      >
        <p>
          There is nothing at this address. Rooms live at <span className="font-mono text-fg">/room/&lt;room-id&gt;</span>; create or join one from the start
          page.
        </p>
      </Notice>
    </main>
  );
}
