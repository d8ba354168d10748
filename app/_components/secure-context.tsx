"use client";
import { useEffect, useState } from "react";
import { Notice } from "./ui";

/**
 * null until mounted (the server cannot know), then whether WebCrypto is usable here. Browsers
 * only expose crypto.subtle in a secure context: https, or http on localhost.
 */
export function useSecureContext(): boolean | null {
  const [secure, setSecure] = useState<boolean | null>(null);
  useEffect(() => {
    setSecure(window.isSecureContext && typeof crypto !== "undefined" && !!crypto.subtle);
  }, []);
  return secure;
}

export function InsecureContextNotice() {
  const host = typeof window !== "undefined" ? window.location.host : "this-host:3000";
  const hostname = typeof window !== "undefined" ? window.location.hostname : "this-host";
  const port = typeof window !== "undefined" && window.location.port ? `:${window.location.port}` : "";
  const path = typeof window !== "undefined" ? window.location.pathname : "/";
  return (
    <main className="flex min-h-dvh items-center px-5 py-10">
      <Notice tone="warn" title="This page needs a secure connection" data-testid="insecure-context">
        <p>
          QSEC encrypts everything in your browser with WebCrypto, and browsers only allow WebCrypto in a <em>secure context</em>:
          a page served over <strong>https</strong>, or over plain http from <strong>localhost</strong>. You opened{" "}
          <code className="rounded bg-panel-2 px-1 font-mono text-fg">http://{host}</code>, so no keys can be made here and the
          chat cannot start. Nothing was sent.
        </p>
        <p className="font-medium text-fg">Fix it in one of two ways:</p>
        <ol className="list-decimal space-y-2 pl-5">
          <li>
            <strong>Serve over https.</strong> Restart the server with <code className="rounded bg-panel-2 px-1 font-mono text-fg">QSEC_HTTPS=1</code>{" "}
            (for example <code className="rounded bg-panel-2 px-1 font-mono text-fg">QSEC_HTTPS=1 npm run dev</code>). It makes a self-signed
            certificate on first run. Then open{" "}
            <code className="break-all rounded bg-panel-2 px-1 font-mono text-fg">
              https://{hostname}
              {port}
              {path}
            </code>{" "}
            and accept the browser&apos;s certificate warning once (compare the certificate fingerprint with the server&apos;s if you can).
          </li>
          <li>
            <strong>Use localhost.</strong> On the machine running the server, open{" "}
            <code className="break-all rounded bg-panel-2 px-1 font-mono text-fg">
              http://localhost{port}
              {path}
            </code>{" "}
            instead. From another device, an SSH tunnel (<code className="rounded bg-panel-2 px-1 font-mono text-fg">ssh -L 3000:localhost:3000 server</code>) also works.
          </li>
        </ol>
      </Notice>
    </main>
  );
}
