"use client";
import { useEffect, useRef, useState } from "react";
import type { MemberView } from "@/lib/client";
import { useChatStore } from "@/lib/ui/chat-store";
import { safetyNumberGroups } from "@/lib/ui/format";
import { Button } from "@/app/_components/ui";
import { useBackdropClose } from "./use-backdrop-close";

/** Signal-style safety number for this tab and one peer: 60 digits in 12 groups, plus "verified". */
export function SafetyNumberDialog({ peer, onClose }: { peer: MemberView; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const safetyNumber = useChatStore((s) => s.safetyNumber);
  const markVerified = useChatStore((s) => s.markVerified);
  const { userId, signingKey } = peer;
  // The answer for one (member, signing key): another member or a changed key shows "Computing…" until its own answer comes.
  const request = `${userId} ${signingKey}`;
  const [result, setResult] = useState<{ request: string; digits: string | null; failed: string | null } | null>(null);
  const current = result?.request === request ? result : null;
  const digits = current?.digits ?? null;
  const failed = current?.failed ?? null;

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  useBackdropClose(ref);

  useEffect(() => {
    let live = true;
    safetyNumber(userId).then(
      (n) => live && setResult({ request, digits: n, failed: null }),
      (e: unknown) => live && setResult({ request, digits: null, failed: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [request, userId, safetyNumber]);

  const groups = digits ? safetyNumberGroups(digits) : [];
  return (
    <dialog
      ref={ref}
      onClose={onClose}
      aria-labelledby="sn-title"
      data-testid="safety-number-dialog"
      className="m-auto w-[min(28rem,calc(100vw-2rem))] rounded-2xl border border-line bg-panel p-0 text-fg shadow-2xl"
    >
      <div className="p-6">
        <h2 id="sn-title" className="text-lg font-semibold">
          Safety number with {peer.displayName}
        </h2>
        <p className="mt-1 text-sm text-muted">
          Compare these 60 digits with {peer.displayName}&apos;s screen, in person or on a call. If every group matches, your messages are end-to-end encrypted
          with no one in between.
        </p>

        <div className="mt-5 rounded-xl border border-line bg-panel-2 p-4">
          {digits ? (
            <ol
              className="grid grid-cols-4 gap-x-4 gap-y-2 text-center font-mono text-lg tracking-wider"
              data-testid="safety-number"
              aria-label="Safety number, 12 groups of 5 digits"
            >
              {groups.map((g, i) => (
                <li key={i}>{g}</li>
              ))}
            </ol>
          ) : failed ? (
            <p role="alert" className="text-sm text-danger">
              Could not compute the safety number: {failed}
            </p>
          ) : (
            <p className="text-center text-sm text-muted" role="status">
              Computing (5200 rounds of SHA-512)…
            </p>
          )}
        </div>

        {peer.keyChanged && (
          <p role="alert" className="mt-3 rounded-md border border-warn/50 bg-warn/10 px-3 py-2 text-sm text-warn">
            {peer.displayName}&apos;s key changed since you last saw this name. Verify again.
          </p>
        )}

        <label className="mt-5 flex cursor-pointer items-center justify-between gap-3 rounded-lg border border-line px-4 py-3">
          <span className="text-sm font-medium">
            Mark as verified
            <span className="block text-xs font-normal text-muted">Kept in this browser only. Cleared if their key changes.</span>
          </span>
          <input
            type="checkbox"
            role="switch"
            aria-checked={peer.verified}
            checked={peer.verified}
            disabled={!digits}
            onChange={(e) => markVerified(peer.userId, e.target.checked)}
            data-testid="verify-toggle"
            className="h-5 w-9 cursor-pointer appearance-none rounded-full bg-line transition before:block before:h-4 before:w-4 before:translate-x-0.5 before:rounded-full before:bg-white before:transition checked:bg-ok checked:before:translate-x-[1.125rem] disabled:opacity-50"
          />
        </label>

        <div className="mt-5 flex justify-end">
          <Button variant="primary" onClick={() => ref.current?.close()}>
            Done
          </Button>
        </div>
      </div>
    </dialog>
  );
}
