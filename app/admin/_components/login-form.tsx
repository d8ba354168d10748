"use client";
import { useState } from "react";
import { useRouter } from "next/navigation";
import { Button } from "@/app/_components/ui";

export function LoginForm() {
  const router = useRouter();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch("/admin/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
      if (res.ok) {
        // The session cookie is set: the console's server components now render for it.
        router.push("/admin");
        return;
      }
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      setError(body?.error?.message ?? `login failed (${res.status})`);
    } catch {
      setError("the server could not be reached");
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="mt-4 space-y-3" data-testid="admin-login-form">
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
