"use client";
import { useState } from "react";
import type { MemberView } from "@/lib/client";
import type { Bb84LiveView } from "@/lib/client/bb84-types";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { formatCount, formatPercent } from "@/lib/ui/bb84-view";
import { formatLastSeen, isoTime } from "@/lib/ui/format";
import { Badge, Panel } from "@/app/_components/ui";
import { SafetyNumberDialog } from "./safety-number-dialog";

export function MembersPanel() {
  const room = useRoomFields("bb84", "capacity", "createdBy", "members");
  const [peer, setPeer] = useState<MemberView | null>(null);
  if (!room) return null;
  const members = [...room.members].sort((a, b) => Number(b.isMe) - Number(a.isMe) || a.displayName.localeCompare(b.displayName));
  const capacity = room.capacity ? ` / ${room.capacity}` : "";

  return (
    <Panel title={`Members · ${room.members.length}${capacity}`} data-testid="members-panel" className="min-h-0">
      <ul
        className="flex-1 divide-y divide-line overflow-y-auto"
        data-testid="member-list"
        // Focusable, so a long member list can be scrolled with the keyboard (WCAG 2.1.1; axe scrollable-region-focusable).
        // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- a scrollable region must take focus to be scrolled without a mouse
        tabIndex={0}
        aria-label="Members of this room"
      >
        {members.map((m) => (
          <MemberRow
            key={m.userId}
            m={m}
            onSafety={() => setPeer(m)}
            session={m.isMe ? null : (room.bb84.live.findLast((l) => l.peerId === m.userId && l.status === "running") ?? null)}
            anyRunning={room.bb84.live.some((l) => l.status === "running")}
            canRemove={!m.isMe && room.createdBy !== null && room.members.some((x) => x.isMe && x.userId === room.createdBy)}
          />
        ))}
      </ul>
      <p className="border-t border-line px-4 py-2.5 text-[11px] leading-4 text-muted">
        Compare safety numbers in person or on a call; a match means no one is in the middle.
      </p>
      {peer && <SafetyNumberDialog peer={room.members.find((m) => m.userId === peer.userId) ?? peer} onClose={() => setPeer(null)} />}
    </Panel>
  );
}

function MemberRow({
  m,
  onSafety,
  session,
  anyRunning,
  canRemove,
}: {
  m: MemberView;
  onSafety: () => void;
  session: Bb84LiveView | null;
  anyRunning: boolean;
  /** We created the room: we may remove this member (a new epoch starts without them). */
  canRemove: boolean;
}) {
  const start = useChatStore((s) => s.startBb84);
  const remove = useChatStore((s) => s.removeMember);
  const [confirming, setConfirming] = useState(false);
  const starting = useChatStore((s) => s.bb84Starting);
  const joined = useChatStore((s) => s.phase === "joined");
  return (
    <li
      className="px-4 py-3"
      data-testid="member-item"
      data-user-id={m.userId}
      data-name={m.displayName}
      data-verified={m.verified ? "true" : "false"}
      data-key-changed={m.keyChanged ? "true" : "false"}
      data-qkd={m.qkd?.hardened ? "true" : "false"}
      data-online={m.online ? "true" : "false"}
    >
      <div className="flex items-start gap-3">
        <Avatar name={m.displayName} />
        <div className="min-w-0 flex-1">
          <div className="flex items-center gap-1.5">
            <span className="truncate text-sm font-medium" data-testid="member-name">
              {m.displayName}
            </span>
            {m.verified && (
              <span title="You verified this member's safety number" className="text-ok" data-testid="verified-mark">
                <span className="sr-only">verified</span>
                <svg viewBox="0 0 20 20" className="h-4 w-4" fill="currentColor" aria-hidden="true">
                  <path
                    fillRule="evenodd"
                    d="M10 18a8 8 0 1 0 0-16 8 8 0 0 0 0 16Zm3.7-9.3a1 1 0 0 0-1.4-1.4L9 10.6 7.7 9.3a1 1 0 0 0-1.4 1.4l2 2a1 1 0 0 0 1.4 0l4-4Z"
                  />
                </svg>
              </span>
            )}
          </div>
          <div className="mt-0.5 flex items-center gap-1.5 text-[11px] text-muted" data-testid="member-presence">
            <span className={`h-1.5 w-1.5 rounded-full ${m.online ? "bg-ok" : "bg-line"}`} aria-hidden="true" />
            {m.online ? (
              "online"
            ) : (
              <span>
                offline · last seen{" "}
                <time dateTime={isoTime(m.lastSeenAt)} data-testid="member-last-seen">
                  {formatLastSeen(m.lastSeenAt)}
                </time>
              </span>
            )}
          </div>
          <div className="mt-0.5 font-mono text-[11px] text-muted" title="Short fingerprint of this member's signing key" data-testid="member-fingerprint">
            {m.fingerprint}
          </div>
          <div className="mt-1.5 flex flex-wrap gap-1 empty:hidden">
            {m.isMe && <Badge tone="accent">you</Badge>}
            {m.isLeader && (
              <Badge tone="neutral" data-testid="leader-badge">
                key leader
              </Badge>
            )}
            {m.keyChanged && (
              <Badge tone="warn" data-testid="key-changed">
                ⚠ key changed
              </Badge>
            )}
            {!m.bindingValid && (
              <Badge tone="danger" data-testid="binding-invalid">
                ✗ unsigned key
              </Badge>
            )}
            {m.qkd?.hardened && (
              <Badge tone="ok" data-testid="qkd-badge" data-session-id={m.qkd.sessionId}>
                QKD-hardened
              </Badge>
            )}
            {session && (
              <Badge tone="accent" data-testid="bb84-running" data-session-id={session.sessionId}>
                <span className="h-1.5 w-1.5 rounded-full bg-accent" aria-hidden="true" />
                BB84 {session.role === "bob" ? "incoming" : "running"}
              </Badge>
            )}
          </div>
          {m.qkd?.hardened && (
            <p
              className="mt-1 font-mono text-[11px] text-ok"
              data-testid="qkd-detail"
              data-qber={m.qkd.qber ?? ""}
              data-key-bits={m.qkd.keyBits}
              title="Pair keys are HKDF(X25519 secret ‖ QKD key): never weaker than X25519"
            >
              QBER {formatPercent(m.qkd.qber)} · {formatCount(m.qkd.keyBits)}-bit key
            </p>
          )}
          {m.keyChanged && (
            <p className="mt-1.5 text-[11px] leading-4 text-warn">
              {m.displayName} now has a different key than before. Compare safety numbers again before trusting them.
            </p>
          )}
          {!m.isMe && (
            <div className="mt-1.5 flex flex-wrap gap-x-3 gap-y-1">
              <button
                type="button"
                onClick={onSafety}
                data-testid="safety-number-button"
                className="inline-flex items-center gap-1 rounded text-xs font-medium text-accent hover:underline"
              >
                <svg viewBox="0 0 20 20" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
                  <path d="M10 2.5 4 5v4.5c0 3.7 2.5 6.6 6 8 3.5-1.4 6-4.3 6-8V5l-6-2.5Z" strokeLinejoin="round" />
                </svg>
                {m.verified ? "Safety number · verified" : "Compare safety number"}
              </button>
              <button
                type="button"
                onClick={() => void start(m.userId)}
                disabled={!joined || !m.online || starting > 0 || anyRunning}
                data-testid="bb84-start-member"
                aria-label={`${m.qkd?.hardened ? "Run BB84 again" : "Run BB84"} with ${m.displayName}`}
                title={anyRunning ? "A BB84 session is already running in this tab" : `Run a BB84 session with ${m.displayName} (you send the qubits)`}
                className="inline-flex items-center gap-1 rounded text-xs font-medium text-accent hover:underline disabled:cursor-not-allowed disabled:opacity-50 disabled:hover:no-underline"
              >
                <svg viewBox="0 0 20 20" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
                  <circle cx="10" cy="10" r="2" />
                  <path d="M3 10c2-4 4-4 7 0s5 4 7 0M3 10c2 4 4 4 7 0s5-4 7 0" strokeLinecap="round" />
                </svg>
                {m.qkd?.hardened ? "Run BB84 again" : "Run BB84"}
              </button>
              {canRemove &&
                (confirming ? (
                  <span className="inline-flex items-center gap-2 text-xs">
                    <button
                      type="button"
                      onClick={() => {
                        setConfirming(false);
                        void remove(m.userId);
                      }}
                      data-testid="remove-member-confirm"
                      className="rounded font-medium text-danger hover:underline"
                    >
                      Remove {m.displayName}
                    </button>
                    <button type="button" onClick={() => setConfirming(false)} className="rounded text-muted hover:underline">
                      Cancel
                    </button>
                  </span>
                ) : (
                  <button
                    type="button"
                    onClick={() => setConfirming(true)}
                    data-testid="remove-member"
                    aria-label={`Remove ${m.displayName} from the room`}
                    title="As the room's creator you may remove a member; the room key changes without them"
                    className="inline-flex items-center gap-1 rounded text-xs font-medium text-danger hover:underline"
                  >
                    Remove
                  </button>
                ))}
            </div>
          )}
        </div>
      </div>
    </li>
  );
}

function Avatar({ name }: { name: string }) {
  // A stable hue from the name, so members are easy to tell apart at a glance.
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) % 360;
  return (
    <span
      aria-hidden="true"
      className="flex h-8 w-8 shrink-0 items-center justify-center rounded-full text-sm font-semibold text-white"
      style={{ backgroundColor: `hsl(${h} 55% 45%)` }}
    >
      {[...name][0]?.toUpperCase() ?? "?"}
    </span>
  );
}
