"use client";
import { useState } from "react";
import { Button, Panel } from "@/app/_components/ui";
import type { ChannelSettings } from "@/lib/protocol/events";
import { CHANNEL_BOUNDS, formatPercent } from "@/lib/ui/bb84-view";
import { fromPct, toPct } from "@/lib/ui/percent";

const KEYS = ["noise", "loss", "eve"] as const;

/** Percent in the inputs, as in the room page's simulation drawer; fractions on the wire. */
function draftOf(c: ChannelSettings) {
  return { noise: String(toPct(c.noise)), loss: String(toPct(c.loss)), eve: String(toPct(c.eve)) };
}

/** The simulation's "attack console": saved on the server and pushed to the room's members at once. */
export function ChannelControls({
  roomId,
  api,
  channel,
  onSaved,
}: {
  roomId: string;
  api: string;
  channel: ChannelSettings;
  onSaved: (c: ChannelSettings) => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(channel));
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // New settings from the server (saved here or elsewhere) replace the draft: adjusted while rendering, not in an effect.
  const [draftFor, setDraftFor] = useState(channel);
  if (channel !== draftFor) {
    setDraftFor(channel);
    setDraft(draftOf(channel));
  }

  async function save(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setStatus(null);
    try {
      const pct = KEYS.map((k) => (draft[k].trim() === "" ? NaN : Number(draft[k])));
      if (pct.some((p) => !Number.isFinite(p))) return setStatus("Not saved: enter each setting in percent");
      const body: ChannelSettings = { noise: fromPct(pct[0]), loss: fromPct(pct[1]), eve: fromPct(pct[2]) };
      const res = await fetch(`${api}/channel`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const out = (await res.json()) as { channel?: ChannelSettings; error?: { message: string } };
      if (!res.ok) return setStatus(`Not saved: ${out.error?.message ?? res.status}`);
      onSaved(out.channel!);
      setStatus("Saved and sent to the room's members.");
    } catch {
      setStatus("Not saved: the server could not be reached");
    } finally {
      setBusy(false);
    }
  }

  return (
    <Panel title="Channel (attack console)" data-testid="channel-controls" data-room={roomId}>
      <form onSubmit={save} className="space-y-3 px-4 py-3 text-sm">
        {KEYS.map((k) => (
          <label key={k} className="flex items-center justify-between gap-3">
            <span>{CHANNEL_BOUNDS[k].label}</span>
            <span className="flex items-center gap-1">
              <input
                type="number"
                min={toPct(CHANNEL_BOUNDS[k].min)}
                max={toPct(CHANNEL_BOUNDS[k].max)}
                step="0.1"
                required
                value={draft[k]}
                onChange={(e) => setDraft((d) => ({ ...d, [k]: e.target.value }))}
                aria-label={`${CHANNEL_BOUNDS[k].label} in percent`}
                className="w-24 rounded-md border border-line bg-panel-2 px-2 py-1 text-right tabular-nums"
                data-testid={`channel-${k}`}
              />
              <span className="text-muted" aria-hidden="true">
                %
              </span>
            </span>
          </label>
        ))}
        <p className="text-xs text-muted">
          Applies to BB84 sessions started from now on. In force now: noise <span data-testid="channel-current-noise">{formatPercent(channel.noise, 1)}</span>,
          loss <span data-testid="channel-current-loss">{formatPercent(channel.loss, 0)}</span>, Eve{" "}
          <span data-testid="channel-current-eve">{formatPercent(channel.eve, 0)}</span>.
        </p>
        <div className="flex items-center gap-3">
          <Button type="submit" variant="primary" disabled={busy} data-testid="channel-save">
            Save
          </Button>
          {status && (
            <span role="status" className="text-muted" data-testid="channel-status">
              {status}
            </span>
          )}
        </div>
      </form>
    </Panel>
  );
}
