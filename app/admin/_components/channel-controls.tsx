"use client";
import { useState } from "react";
import { Button, Panel } from "@/app/_components/ui";
import type { ChannelSettings } from "@/lib/protocol/events";

const CHANNEL_FIELDS: { key: keyof ChannelSettings; label: string; max: number }[] = [
  { key: "noise", label: "Noise (bit error rate)", max: 0.5 },
  { key: "loss", label: "Loss", max: 0.99 },
  { key: "eve", label: "Eavesdropper fraction", max: 1 },
];

function draftOf(c: ChannelSettings) {
  return { noise: String(c.noise), loss: String(c.loss), eve: String(c.eve) };
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
      const body = { noise: Number(draft.noise), loss: Number(draft.loss), eve: Number(draft.eve) };
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
        {CHANNEL_FIELDS.map((f) => (
          <label key={f.key} className="flex items-center justify-between gap-3">
            <span>{f.label}</span>
            <input
              type="number"
              min={0}
              max={f.max}
              step="0.01"
              required
              value={draft[f.key]}
              onChange={(e) => setDraft((d) => ({ ...d, [f.key]: e.target.value }))}
              className="w-24 rounded-md border border-line bg-panel-2 px-2 py-1 text-right tabular-nums"
              data-testid={`channel-${f.key}`}
            />
          </label>
        ))}
        <p className="text-xs text-muted">
          Applies to BB84 sessions started from now on. Current: noise {channel.noise}, loss {channel.loss}, eve{" "}
          <span data-testid="channel-current-eve">{channel.eve}</span>.
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
