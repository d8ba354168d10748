"use client";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useChatStore } from "@/lib/ui/chat-store";
import { identityMode } from "@/lib/ui/identity-mode";
import {
  backupErrorMessage,
  backupStatus,
  passphraseStrength,
  setUpPassphraseBackup,
  setUpRecoveryBackup,
  updateBackup,
  type BackupStatus,
} from "@/lib/ui/key-backup";
import { BackupField, BackupMethodChoice, BackupOutcome, type BackupMethod } from "@/app/_components/backup-fields";
import { Button } from "@/app/_components/ui";
import { useBackdropClose } from "./use-backdrop-close";

/** The header's "Key backup" button and its dialog (only for this browser's own identity). */
export function KeyBackupButton() {
  const [open, setOpen] = useState(false);
  if (typeof window !== "undefined" && identityMode() === "tab") return null;
  return (
    <>
      <Button variant="secondary" className="max-lg:hidden" onClick={() => setOpen(true)} data-testid="key-backup-open" aria-haspopup="dialog">
        Key backup
      </Button>
      {open && <KeyBackupDialog onClose={() => setOpen(false)} />}
    </>
  );
}

/**
 * Set up (recovery code or passphrase) or update this browser's key backup: the identity, the epoch
 * keys and "Your rooms", sealed here and stored on the server, which cannot open it.
 */
export function KeyBackupDialog({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const client = useChatStore((s) => s.client);
  const ids = { name: useId(), pass: useId(), again: useId(), strength: useId() };
  const [status, setStatus] = useState<BackupStatus | null | undefined>(undefined);
  const [method, setMethod] = useState<BackupMethod>("recovery");
  const [name, setName] = useState("");
  const [pass, setPass] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [code, setCode] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    void backupStatus().then(setStatus, () => setStatus(null));
  }, []);
  useBackdropClose(ref);

  const strength = passphraseStrength(pass);

  async function run(label: string, fn: () => Promise<void>) {
    if (!client) return setError("Not connected yet; try again in a moment.");
    setBusy(label);
    setError(null);
    setDone(null);
    try {
      await fn();
    } catch (e) {
      setError(backupErrorMessage(e));
    } finally {
      setBusy(null);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (method === "recovery") {
      void run("Creating your recovery code…", async () => {
        const r = await setUpRecoveryBackup(client!);
        setCode(r.code);
        setStatus(r.status);
      });
      return;
    }
    if (name.trim().length < 3) return setError("Give the backup a name of at least 3 characters (you will type it to restore).");
    if (strength.label === "too short") return setError(strength.hint);
    if (pass !== again) return setError("The two passphrases differ.");
    void run("Deriving a key from your passphrase (Argon2id, a few seconds)…", async () => {
      const s = await setUpPassphraseBackup(client!, name, pass);
      setStatus(s);
      setPass("");
      setAgain("");
      setDone(`Backup saved as "${name.trim()}" (version ${s.version}).`);
    });
  }

  return (
    <dialog
      ref={ref}
      onClose={onClose}
      aria-labelledby="kb-title"
      data-testid="key-backup-dialog"
      className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-2xl border border-line bg-panel p-0 text-fg shadow-2xl"
    >
      <div className="p-6">
        <h2 id="kb-title" className="text-lg font-semibold">
          Key backup
        </h2>
        <p className="mt-1 text-sm text-muted">
          Saves this browser&apos;s identity, the room keys and QKD-hardened keys it holds and your rooms, encrypted here before upload: the server stores a
          blob it cannot open. With it, a new browser comes back as the same member and can read your history.
        </p>

        {status && (
          <div className="mt-4 rounded-lg border border-line bg-panel-2 p-3 text-sm" data-testid="backup-status" data-version={status.version}>
            <p>
              Backed up with a {status.kind === "recovery" ? "recovery code" : "passphrase"}, version {status.version},{" "}
              {new Date(status.updatedAt).toLocaleString()}.
            </p>
            <Button
              className="mt-2"
              disabled={!!busy}
              data-testid="backup-update"
              onClick={() =>
                void run("Updating the backup…", async () => {
                  const s = await updateBackup(client!);
                  setStatus(s);
                  setDone(`Backup updated (version ${s.version}).`);
                })
              }
            >
              Update backup now
            </Button>
          </div>
        )}

        {code ? (
          <div className="mt-4 rounded-lg border border-warn/60 bg-warn/10 p-3" data-testid="recovery-code-shown">
            <p className="text-sm font-semibold">Write this recovery code down now. It is shown once and is the only way to open this backup.</p>
            <p className="mt-2 select-all break-words font-mono text-base tracking-wide" data-testid="recovery-code" aria-label="Recovery code">
              {code}
            </p>
          </div>
        ) : (
          <form onSubmit={submit} className="mt-5 space-y-4" noValidate>
            <BackupMethodChoice
              legend={status ? "Replace it with a new backup, protected by" : "Protect it with"}
              name="method"
              method={method}
              onChange={setMethod}
              recoveryLabel="A recovery code (recommended)"
              testIdPrefix="method"
            />
            {method === "recovery" ? (
              <p className="text-sm text-muted">256 random bits, shown once as a 56-character code to write down. Nothing to remember, nothing to guess.</p>
            ) : (
              <>
                <BackupField id={ids.name} label="Backup name" value={name} onValue={setName} autoComplete="username" data-testid="backup-name">
                  <p className="mt-1 text-xs text-muted">You type it with the passphrase to restore. Pick something others won&apos;t.</p>
                </BackupField>
                <BackupField
                  id={ids.pass}
                  label="Passphrase"
                  type="password"
                  value={pass}
                  onValue={setPass}
                  autoComplete="new-password"
                  aria-describedby={ids.strength}
                  data-testid="backup-passphrase"
                >
                  <p id={ids.strength} className="mt-1 text-xs" data-testid="passphrase-strength" data-strength={strength.label} aria-live="polite">
                    <span className="font-semibold">Strength: {strength.label}.</span> {strength.hint}
                  </p>
                </BackupField>
                <BackupField
                  id={ids.again}
                  label="Passphrase again"
                  type="password"
                  value={again}
                  onValue={setAgain}
                  autoComplete="new-password"
                  data-testid="backup-passphrase-again"
                />
                <p className="text-xs text-muted">
                  The server keeps the encrypted blob and could try passphrases against it offline; each try costs Argon2id (64 MiB, 3 passes). A long random
                  passphrase is what keeps it out.
                </p>
              </>
            )}
            <Button type="submit" variant="primary" disabled={!!busy} data-testid="backup-create">
              {method === "recovery" ? "Create recovery code and back up" : "Back up with passphrase"}
            </Button>
          </form>
        )}

        <BackupOutcome busy={busy} done={done} error={error} testIdPrefix="backup" />
        <div className="mt-5 flex justify-end">
          <Button onClick={() => ref.current?.close()} data-testid="backup-close">
            {code ? "I wrote it down" : "Close"}
          </Button>
        </div>
      </div>
    </dialog>
  );
}
