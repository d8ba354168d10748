"use client";
import { useEffect, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { Button } from "@/app/_components/ui";

/**
 * The token from a development login link (`/admin/login#token=…`, printed by the server when it
 * makes the token), or null. The fragment never leaves the browser: no request line, server log or
 * Referer carries it.
 */
function tokenFromFragment(): string | null {
  const hash = window.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const token = new URLSearchParams(hash).get("token");
  return token ? token : null;
}

/** POST /admin/api/login: null on success (the session cookie is set), else what went wrong. */
async function postLogin(token: string): Promise<string | null> {
  try {
    const res = await fetch("/admin/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
    // Read the body also on success: left unread, the browser cancels the request once the page
    // moves on to /admin, and the network panel lists the login as a failed (aborted) request.
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    if (res.ok) return null;
    return body?.error?.message ?? `login failed (${res.status})`;
  } catch {
    return "the server could not be reached";
  }
}

/**
 * A login link's token that arrived before the form's effect listens: read when this module loads
 * and on every hashchange from then on. A link pasted into the tab while the page still hydrates
 * (seconds in development, with the server-rendered form already on screen) fires its hashchange
 * before the effect below exists, and the router's first commit then rewrites the address without
 * the fragment: the token was gone and the login form simply stayed.
 */
let earlyToken: string | null = null;
if (typeof window !== "undefined") {
  earlyToken = tokenFromFragment();
  window.addEventListener("hashchange", () => {
    earlyToken = tokenFromFragment() ?? earlyToken;
  });
}

export function LoginForm() {
  const router = useRouter();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const linkRead = useRef(false);

  useEffect(() => {
    // A login link: take the token out of the address bar and the history entry first (whatever
    // the outcome), then log in with it as if it had been typed.
    const readLink = () => {
      const fromLink = tokenFromFragment() ?? earlyToken;
      earlyToken = null;
      if (fromLink === null) return;
      if (window.location.hash) window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
      void postLogin(fromLink).then((failure) => {
        // Replace, not push: Back does not return to the login page.
        if (failure === null) router.replace("/admin");
        else setError(`The login link did not work: ${failure}`);
      });
    };
    // The link pasted into a tab already on this page changes only the fragment: no reload, so
    // the page hears of it by hashchange.
    window.addEventListener("hashchange", readLink);
    // Once per page load (the ref also covers React's development double mount).
    if (!linkRead.current) {
      linkRead.current = true;
      readLink();
    }
    return () => window.removeEventListener("hashchange", readLink);
  }, [router]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const failure = await postLogin(token);
    // The session cookie is set: the console's server components now render for it.
    if (failure === null) return router.push("/admin");
    setError(failure);
    setBusy(false);
  }

  return (
    <form onSubmit={(e) => void submit(e)} className="mt-4 space-y-3" data-testid="admin-login-form">
      <label className="block text-sm font-medium" htmlFor="admin-token">
        Admin token
      </label>
      <input
        id="admin-token"
        name="token"
        type="password"
        autoComplete="current-password"
        required
        value={token}
        onChange={(e) => setToken(e.target.value)}
        className="w-full rounded-md border border-line bg-panel-2 px-3 py-2 font-mono text-sm"
        data-testid="admin-token"
      />
      {error && (
        <p role="alert" className="text-sm text-danger" data-testid="admin-login-error">
          {error}
        </p>
      )}
      <Button type="submit" variant="primary" disabled={busy || token.length === 0} data-testid="admin-login-submit">
        {busy ? "Checking…" : "Log in"}
      </Button>
    </form>
  );
}
