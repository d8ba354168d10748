"use client";
import { useSyncExternalStore } from "react";
import { locationFromWindow, type PageLocation } from "@/lib/ui/secure-origin";
import { Notice } from "./ui";

/**
 * null until mounted (only the browser knows for sure), then whether WebCrypto is usable here.
 * Browsers only expose crypto.subtle in a secure context: https, or http on localhost.
 */
export function useSecureContext(): boolean | null {
  // The server (and the hydrating first render) says null; the browser's answer never changes while the page lives.
  return useSyncExternalStore(neverChanges, isSecure, unknownOnServer);
}

function isSecure(): boolean {
  return window.isSecureContext && typeof crypto !== "undefined" && !!crypto.subtle;
}

function unknownOnServer(): null {
  return null;
}

/** Subscribe for values that cannot change without a page load: nothing to listen to. */
export function neverChanges(): () => void {
  return () => {};
}

/** The browser's location, one object per URL (useSyncExternalStore needs the same object back while nothing changed). */
let cachedLocation: { href: string; loc: PageLocation } | null = null;
function browserLocation(): PageLocation {
  const href = window.location.href;
  if (cachedLocation?.href !== href) cachedLocation = { href, loc: locationFromWindow() };
  return cachedLocation.loc;
}

function Code({ children }: { children: React.ReactNode }) {
  return <code className="break-all rounded bg-panel-2 px-1 font-mono text-fg">{children}</code>;
}

/** The full explanation, from the server's view of the URL or, once mounted, the browser's. */
export function InsecureContextNotice({ loc: initial }: { loc?: PageLocation | null }) {
  const loc = useSyncExternalStore(neverChanges, browserLocation, () => initial ?? null);
  const host = loc?.host ?? "this-host:3000";
  const hostname = loc?.hostname ?? "this-host";
  const port = loc?.port ? `:${loc.port}` : "";
  const path = loc?.path ?? "/";
  return (
    <main className="flex min-h-dvh items-center px-5 py-10">
      <Notice tone="warn" title="This page needs a secure connection" data-testid="insecure-context">
        <p>
          QSEC encrypts everything in your browser with WebCrypto, and browsers only allow WebCrypto in a <em>secure context</em>: a page served over{" "}
          <strong>https</strong>, or over plain http from <strong>localhost</strong>. You opened <Code>http://{host}</Code>, so no keys can be made here and the
          chat cannot start. Nothing was sent.
        </p>
        <p className="font-medium text-fg">Fix it in one of two ways:</p>
        <ol className="list-decimal space-y-2 pl-5">
          <li>
            <strong>Serve over https.</strong> Restart the server with <Code>QSEC_HTTPS=1</Code> (for example <Code>QSEC_HTTPS=1 npm run dev</Code>). It makes a
            self-signed certificate on first run. Then open{" "}
            <Code>
              https://{hostname}
              {port}
              {path}
            </Code>{" "}
            and accept the browser&apos;s certificate warning once (compare the certificate fingerprint with the server&apos;s if you can).
          </li>
          <li>
            <strong>Use localhost.</strong> On the machine running the server, open{" "}
            <Code>
              http://localhost{port}
              {path}
            </Code>{" "}
            instead. From another device, an SSH tunnel (<Code>ssh -L 3000:localhost:3000 server</Code>) also works.
          </li>
        </ol>
      </Notice>
    </main>
  );
}
