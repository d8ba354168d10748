"use client";
import { useId, useState, type FormEvent } from "react";
import { backupErrorMessage, restoreBackup } from "@/lib/ui/key-backup";
import { setIdentityMode } from "@/lib/ui/identity-mode";
import { Button } from "./ui";

/**
 * "Restore from backup" on the landing page: a recovery code, or a backup name and passphrase,
 * brings this browser back as the member who made the backup, with their rooms and room keys.
 */
export function BackupEntry() {
  const ids = { code: useId(), name: useId(), pass: useId() };
  const [open, setOpen] = useState(false);
  const [method, setMethod] = useState<"recovery" | "passphrase">("recovery");
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [pass, setPass] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const r = await restoreBackup(
        window.location.origin,
        method === "recovery" ? { kind: "recovery", code } : { kind: "passphrase", name, passphrase: pass },
      );
      setIdentityMode("profile");
      window.dispatchEvent(new StorageEvent("storage", { key: "qsec:rooms" }));
      setPass("");
      setDone(
        `Restored. This browser is again member ${r.userId.slice(0, 8)}…, with ${r.rooms} room${r.rooms === 1 ? "" : "s"} and ${r.epochKeys} room key${r.epochKeys === 1 ? "" : "s"}.`,
      );
    } catch (err) {
      setError(backupErrorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const input = "mt-1.5 block w-full rounded-md border border-line bg-bg px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-accent/50";
  if (!open) {
    return (
      <div className="text-sm">
        <Button onClick={() => setOpen(true)} data-testid="restore-open" aria-expanded={false}>
          Restore from backup
        </Button>
      </div>
    );
  }
  return (
    <section aria-labelledby="restore-title" className="rounded-2xl border border-line bg-panel p-6 shadow-sm" data-testid="restore-panel">
      <h2 id="restore-title" className="text-lg font-semibold">
        Restore from backup
      </h2>
      <p className="mt-1 text-sm text-muted">Replaces this browser&apos;s identity with the backed-up one: you come back as that member, with your rooms.</p>
      <form onSubmit={submit} className="mt-4 space-y-4" noValidate>
        <fieldset>
          <legend className="text-sm font-medium">The backup is protected by</legend>
          <div className="mt-2 flex gap-4 text-sm">
            <label className="flex items-center gap-2">
              <input
                type="radio"
                name="restore-method"
                checked={method === "recovery"}
                onChange={() => setMethod("recovery")}
                data-testid="restore-method-recovery"
              />
              A recovery code
            </label>
            <label className="flex items-center gap-2">
              <input
                type="radio"
                name="restore-method"
                checked={method === "passphrase"}
                onChange={() => setMethod("passphrase")}
                data-testid="restore-method-passphrase"
              />
              A passphrase
            </label>
          </div>
        </fieldset>
        {method === "recovery" ? (
          <div>
            <label htmlFor={ids.code} className="block text-sm font-medium">
              Recovery code
            </label>
            <input
              id={ids.code}
              className={`${input} font-mono`}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              data-testid="restore-code"
            />
          </div>
        ) : (
          <>
            <div>
              <label htmlFor={ids.name} className="block text-sm font-medium">
                Backup name
              </label>
              <input
                id={ids.name}
                className={input}
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="username"
                data-testid="restore-name"
              />
            </div>
            <div>
              <label htmlFor={ids.pass} className="block text-sm font-medium">
                Passphrase
              </label>
              <input
                id={ids.pass}
                type="password"
                className={input}
                value={pass}
                onChange={(e) => setPass(e.target.value)}
                autoComplete="current-password"
                data-testid="restore-passphrase"
              />
            </div>
          </>
        )}
        <Button type="submit" variant="primary" disabled={busy} data-testid="restore-submit">
          {busy ? (method === "passphrase" ? "Deriving the key (a few seconds)…" : "Restoring…") : "Restore"}
        </Button>
      </form>
      {done && (
        <p role="status" className="mt-3 text-sm text-ok" data-testid="restore-done">
          {done}
        </p>
      )}
      {error && (
        <p role="alert" className="mt-3 text-sm text-danger" data-testid="restore-error">
          {error}
        </p>
      )}
    </section>
  );
}
