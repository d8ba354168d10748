import type { ReactNode } from "react";
import Link from "next/link";
import { Logo } from "@/app/_components/ui";
import { requireAdmin } from "../_lib/guard";
import { LogoutButton } from "../_components/logout-button";
import { DropTokenFragment } from "../_components/drop-token-fragment";

export const dynamic = "force-dynamic";
export const metadata = { title: "QSEC admin" };

/** Every console page sits behind this check (and checks again itself: layouts can be skipped on client navigation). */
export default async function AdminConsoleLayout({ children }: { children: ReactNode }) {
  await requireAdmin();
  return (
    <div className="min-h-dvh">
      <DropTokenFragment />
      <header className="flex items-center justify-between border-b border-line bg-panel px-5 py-3">
        <div className="flex items-center gap-4">
          <Logo />
          <nav className="text-sm">
            <Link href="/admin" className="font-medium text-accent hover:underline">
              Rooms
            </Link>
          </nav>
          <span className="rounded-full border border-warn/50 px-2 py-0.5 text-[11px] font-medium text-warn">admin</span>
        </div>
        <LogoutButton />
      </header>
      <main className="mx-auto w-full max-w-7xl px-5 py-6">{children}</main>
    </div>
  );
}
