"use client";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { Button } from "@/app/_components/ui";

/** Background failures (re-join, replaced session) and the room's integrity warnings. */
export function Alerts() {
  const alert = useChatStore((s) => s.alert);
  const clear = useChatStore((s) => s.clearError);
  const room = useRoomFields("warnings");
  const warnings = room?.warnings ?? [];
  if (!alert && warnings.length === 0) return null;
  return (
    <div className="mx-3 mt-3 space-y-2">
      {alert && (
        <div
          role="alert"
          data-testid="client-error"
          data-code={alert.code}
          className="flex items-start justify-between gap-3 rounded-xl border border-danger/50 bg-danger/10 px-4 py-3 text-sm"
        >
          <p>
            <strong className="font-semibold text-danger">{alert.title}.</strong> <span className="text-muted">{alert.message}</span>
            {alert.detail && <span className="mt-0.5 block font-mono text-xs text-muted">{alert.detail}</span>}
          </p>
          <div className="flex shrink-0 gap-2">
            {alert.code === "SESSION_REPLACED" && (
              <Button variant="primary" onClick={() => window.location.reload()}>
                Reload
              </Button>
            )}
            <Button variant="ghost" onClick={clear} aria-label="Dismiss">
              ✕
            </Button>
          </div>
        </div>
      )}
      {warnings.length > 0 && (
        <details className="rounded-xl border border-warn/50 bg-warn/10 px-4 py-2.5 text-sm" data-testid="room-warnings">
          <summary className="cursor-pointer font-semibold text-warn">
            {warnings.length} integrity warning{warnings.length === 1 ? "" : "s"} in this room
          </summary>
          <ul className="mt-2 list-disc space-y-1 pl-5 text-xs text-muted">
            {warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
