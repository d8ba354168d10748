"use client";
import { useId, useState, type FormEvent } from "react";
import { backupErrorMessage, restoreBackup } from "@/lib/ui/key-backup";
import { setIdentityMode } from "@/lib/ui/identity-mode";
import { BackupField, BackupMethodChoice, BackupOutcome, type BackupMethod } from "./backup-fields";
import { Button } from "./ui";

/**
 * "Restore from backup" on the landing page: a recovery code, or a backup name and passphrase,
 * brings this browser back as the member who made the backup, with their rooms and room keys.
 */
export function BackupEntry() {
  const ids = { code: useId(), name: useId(), pass: useId() };
  const [open, setOpen] = useState(false);
  const [method, setMethod] = useState<BackupMethod>("recovery");
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
        `Restored. This browser is again member ${r.userId.slice(0, 8)}…, with ${r.rooms} room${r.rooms === 1 ? "" : "s"} and ${r.epochKeys} room key${r.epochKeys === 1 ? "" : "s"}` +
          (r.pairKeys ? `, and ${r.pairKeys} QKD-hardened pair key${r.pairKeys === 1 ? "" : "s"}.` : "."),
      );
    } catch (err) {
      setError(backupErrorMessage(err));
    } finally {
      setBusy(false);
    }
  }

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
        <BackupMethodChoice
          legend="The backup is protected by"
          name="restore-method"
          method={method}
          onChange={setMethod}
          recoveryLabel="A recovery code"
          testIdPrefix="restore-method"
        />
        {method === "recovery" ? (
          <BackupField
            id={ids.code}
            label="Recovery code"
            className="font-mono"
            value={code}
            onValue={setCode}
            autoComplete="off"
            spellCheck={false}
            data-testid="restore-code"
          />
        ) : (
          <>
            <BackupField id={ids.name} label="Backup name" value={name} onValue={setName} autoComplete="username" data-testid="restore-name" />
            <BackupField
              id={ids.pass}
              label="Passphrase"
              type="password"
              value={pass}
              onValue={setPass}
              autoComplete="current-password"
              data-testid="restore-passphrase"
            />
          </>
        )}
        <Button type="submit" variant="primary" disabled={busy} data-testid="restore-submit">
          {busy ? (method === "passphrase" ? "Deriving the key (a few seconds)…" : "Restoring…") : "Restore"}
        </Button>
      </form>
      <BackupOutcome done={done} error={error} testIdPrefix="restore" />
    </section>
  );
}
