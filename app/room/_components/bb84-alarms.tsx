"use client";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { alarmText, alarmTitle, incomingSessions, laterSuccess, pastAlarmText, startedWithYouText } from "@/lib/ui/bb84-alarm";
import { formatTime, isoTime } from "@/lib/ui/format";
import { Button } from "@/app/_components/ui";

/**
 * Aborted BB84 sessions, at the top of the room: a suspected eavesdropper (QBER above what the
 * channel's noise explains) says so. The chat itself carries on under X25519 keys. Once a later
 * session with the same peer succeeds, the alarm stays (it happened) but is marked past and muted.
 */
export function Bb84Alarms() {
  const room = useRoomFields("bb84", "members");
  const names = useChatStore((s) => s.names);
  const dismissed = useChatStore((s) => s.dismissedAlarms);
  const dismiss = useChatStore((s) => s.dismissAlarm);
  const alarms = (room?.bb84.alarms ?? []).filter((a) => !dismissed[a.sessionId]);
  const incoming = incomingSessions(room?.bb84.live ?? []);
  if (alarms.length === 0 && incoming.length === 0) return null;
  return (
    <div className="mx-3 mt-3 space-y-2" data-testid="bb84-alarms">
      {incoming.map((l) => (
        <p
          key={l.sessionId}
          role="status"
          data-testid="bb84-incoming"
          data-session-id={l.sessionId}
          className="rounded-xl border border-accent/50 bg-accent/5 px-4 py-2 text-sm"
        >
          {startedWithYouText(names[l.peerId] ?? `${l.peerId.slice(0, 8)}…`)} <span className="text-muted">Its progress is in the BB84 panel.</span>
        </p>
      ))}
      {[...alarms]
        .reverse()
        .slice(0, 3)
        .map((a) => {
          const peerName = names[a.peerId] ?? `${a.peerId.slice(0, 8)}…`;
          const later = laterSuccess(a, room?.bb84.live ?? []);
          return (
            <div
              key={`${a.sessionId}-${a.at}`}
              role={later ? "status" : "alert"}
              data-testid="bb84-alarm"
              data-session-id={a.sessionId}
              data-code={a.code}
              data-suspected-eve={a.suspectedEve ? "true" : "false"}
              data-past={later ? "true" : "false"}
              className={`flex items-start justify-between gap-3 rounded-xl border px-4 py-3 text-sm ${later ? "border-line bg-panel-2" : a.suspectedEve ? "border-danger/60 bg-danger/10" : "border-warn/50 bg-warn/10"}`}
            >
              <div className="flex items-start gap-2.5">
                <svg
                  viewBox="0 0 20 20"
                  className={`mt-0.5 h-5 w-5 shrink-0 ${a.suspectedEve ? "text-danger" : "text-warn"}`}
                  fill="currentColor"
                  aria-hidden="true"
                >
                  <path
                    fillRule="evenodd"
                    d="M8.5 2.9a1.7 1.7 0 0 1 3 0l6.3 11.4A1.7 1.7 0 0 1 16.3 17H3.7a1.7 1.7 0 0 1-1.5-2.7L8.5 2.9ZM10 7a1 1 0 0 0-1 1v3a1 1 0 1 0 2 0V8a1 1 0 0 0-1-1Zm0 8a1.1 1.1 0 1 0 0-2.2A1.1 1.1 0 0 0 10 15Z"
                  />
                </svg>
                <p>
                  <strong className={`font-semibold ${a.suspectedEve ? "text-danger" : "text-warn"}`} data-testid="bb84-alarm-title">
                    {alarmTitle(a)}.
                  </strong>{" "}
                  <span className="text-muted" data-testid="bb84-alarm-text">
                    {alarmText(a, peerName, room?.members.find((m) => m.userId === a.peerId)?.qkd?.hardened ?? false)}
                  </span>{" "}
                  {later && (
                    <span className="text-fg" data-testid="bb84-alarm-past">
                      {pastAlarmText(peerName, later.startedAt, formatTime)}
                    </span>
                  )}{" "}
                  <time dateTime={isoTime(a.at)} className="font-mono text-[11px] text-muted">
                    {formatTime(a.at)}
                  </time>
                </p>
              </div>
              <Button variant="ghost" onClick={() => dismiss(a.sessionId)} aria-label="Dismiss alarm" data-testid="bb84-alarm-dismiss">
                ✕
              </Button>
            </div>
          );
        })}
    </div>
  );
}
