import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { headers } from "next/headers";
import "./globals.css";

export const metadata: Metadata = {
  title: "QSEC — end-to-end encrypted group chat",
  description: "End-to-end encrypted group chat over a blind relay, with simulated BB84 quantum key distribution.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  colorScheme: "light dark",
};

/** Applies the theme toggle's stored choice before the first paint (no flash of the other theme). A constant: no input reaches it. */
const THEME_SCRIPT = `try{var t=localStorage.getItem("qsec-theme");if(t==="light"||t==="dark")document.documentElement.setAttribute("data-theme",t)}catch(e){}`;

export default async function RootLayout({ children }: { children: ReactNode }) {
  // This response's CSP nonce (server/security-headers.ts): the theme script runs only with it.
  // Reading a request header renders every page per request, which a fresh nonce needs anyway.
  const nonce = (await headers()).get("x-nonce") ?? undefined;
  return (
    // data-theme is set before paint by the script below (a stored theme choice), hence suppressHydrationWarning.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body className="min-h-dvh bg-bg font-sans text-fg antialiased">{children}</body>
    </html>
  );
}
