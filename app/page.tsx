import Link from "next/link";
import { Logo } from "./_components/ui";
import { LandingForm } from "./_components/landing-form";
import { ThemeToggle } from "./_components/theme-toggle";
import { YourRooms } from "./_components/your-rooms";
import { BackupEntry } from "./_components/backup-entry";

export default function LandingPage() {
  return (
    <main className="mx-auto flex min-h-dvh w-full max-w-5xl flex-col px-5 py-8 sm:py-12">
      <header className="flex items-center justify-between gap-3">
        <Logo className="text-lg" />
        <span className="flex items-center gap-2 text-sm text-muted">
          <span className="max-sm:hidden">end-to-end encrypted · blind relay</span>
          <ThemeToggle />
        </span>
      </header>

      <div className="mt-10 grid flex-1 gap-10 lg:grid-cols-[1.1fr_1fr] lg:items-start">
        <section aria-labelledby="what" className="space-y-5">
          <h1 id="what" className="text-3xl font-semibold tracking-tight sm:text-4xl">
            Group chat the server <span className="text-accent">cannot read</span>.
          </h1>
          <p className="text-base leading-7 text-muted">
            QSEC is an end-to-end encrypted group chat. Every key lives in your browser: this browser keeps one signing and agreement key pair for all its tabs,
            the room key is wrapped for each member, and every message is encrypted and signed before it leaves the page.
          </p>
          <ul className="space-y-3 text-sm leading-6">
            <Feature title="End to end">AES-256-GCM room keys per epoch, rotated whenever someone joins or leaves; Ed25519-signed messages.</Feature>
            <Feature title="Blind relay">
              The server routes ciphertext and keeps structured logs of who did what — never plaintext, never a key. Rooms with history keep the same
              ciphertext, so you can come back to them; files and images are encrypted in your browser before they upload.
            </Feature>
            <Feature title="Verifiable">Compare 60-digit safety numbers with a peer and mark them verified; a changed key is flagged.</Feature>
            <Feature title="BB84 QKD">
              Run a simulated quantum key distribution session with any member: watch its QBER live, catch a simulated eavesdropper, and harden your pair key
              with the result.{" "}
              <Link href="/lab" className="font-medium text-accent underline underline-offset-2" data-testid="lab-link">
                Open the BB84 lab
              </Link>{" "}
              to learn it step by step, no room needed.
            </Feature>
          </ul>
        </section>

        <div className="space-y-6">
          <LandingForm />
          <YourRooms />
          <BackupEntry />
        </div>
      </div>

      <footer className="mt-12 text-xs text-muted">
        Every tab of this browser is the same member. To chat with yourself, tick “Join as someone else in this tab”.
      </footer>
    </main>
  );
}

function Feature({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <li className="flex gap-3">
      <span aria-hidden="true" className="mt-2 h-1.5 w-1.5 shrink-0 rounded-full bg-accent" />
      <span>
        <strong className="font-semibold">{title}.</strong> <span className="text-muted">{children}</span>
      </span>
    </li>
  );
}
