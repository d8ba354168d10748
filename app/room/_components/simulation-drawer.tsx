"use client";
import { useEffect, useId, useRef, useState } from "react";
import type { ChannelSettings } from "@/lib/protocol";
import { useChatStore, useRoomFields } from "@/lib/ui/chat-store";
import { toUiError } from "@/lib/ui/errors";
import { CHANNEL_BOUNDS, clampChannel, clampChannelValue, DEFAULT_ROOM_CHANNEL, expectedChannelQber, formatPercent, sameChannel } from "@/lib/ui/bb84-view";
import { Button } from "@/app/_components/ui";
import { fromPct, toPct } from "@/lib/ui/percent";
import { fibreChannel, FIBRE_PRESET_DISTANCES, matchingPreset } from "@/lib/ui/fibre-link";

const KEYS = ["noise", "loss", "eve"] as const;

/** Percent in the inputs, fractions on the wire; rounded so 2.5% stays 0.025. */

/**
 * "Simulation controls": the room's channel model (noise, loss, eavesdropper fraction), stored on
 * the server and pushed to every member; each BB84 session applies the settings current at its
 * start. A side drawer (not modal) so the dashboard stays visible while trying settings.
 */
export function SimulationDrawer() {
  const room = useRoomFields("channel");
  const open = useChatStore((s) => s.simulationOpen);
  const setOpen = useChatStore((s) => s.setSimulationOpen);
  const save = useChatStore((s) => s.setChannel);
  const phase = useChatStore((s) => s.phase);
  const [draft, setDraft] = useState<ChannelSettings | null>(null);
  const [state, setState] = useState<{ kind: "idle" | "saving" | "saved" } | { kind: "error"; text: string }>({ kind: "idle" });
  const panel = useRef<HTMLElement>(null);
  const titleId = useId();

  useEffect(() => {
    if (!open) return;
    // Focus moves into the drawer and back to whatever opened it when it closes.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      if (opener?.isConnected) opener.focus();
    };
  }, [open, setOpen]);

  if (!room || !open) return null;
  const current = room.channel;
  // Untouched fields follow the room's setting, so a change pushed by another member shows at once.
  const shown = draft ?? current;
  const dirty = draft !== null && !sameChannel(draft, current);
  const expected = expectedChannelQber(shown);

  function edit(key: keyof ChannelSettings, pct: number) {
    setState({ kind: "idle" });
    setDraft({ ...shown, [key]: clampChannelValue(key, fromPct(pct)) });
  }

  async function submit(next = draft) {
    if (!next) return;
    setState({ kind: "saving" });
    try {
      await save(clampChannel(next));
      setDraft(null);
      setState({ kind: "saved" });
    } catch (e) {
      const u = toUiError(e);
      setState({ kind: "error", text: `${u.title}: ${u.detail ?? u.message}` });
    }
  }

  return (
    <aside
      ref={panel}
      tabIndex={-1}
      role="dialog"
      aria-modal="false"
      aria-labelledby={titleId}
      data-testid="simulation-drawer"
      className="fixed inset-y-0 right-0 z-40 flex w-[min(24rem,100vw)] flex-col border-l border-line bg-panel shadow-2xl focus:outline-none"
    >
      <header className="flex items-start justify-between gap-2 border-b border-line px-5 py-4">
        <div>
          <h2 id={titleId} className="text-base font-semibold">
            Simulation controls
          </h2>
          <p className="mt-0.5 text-xs text-muted">The simulated quantum channel of this room. Not a real eavesdropper: a model at Bob&apos;s detector.</p>
        </div>
        <Button variant="ghost" onClick={() => setOpen(false)} aria-label="Close simulation controls" data-testid="simulation-close">
          ✕
        </Button>
      </header>

      <form
        className="flex-1 space-y-5 overflow-y-auto px-5 py-4"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <FibrePresets
          chosen={matchingPreset(shown)}
          disabled={phase !== "joined"}
          onPick={(d) => {
            setState({ kind: "idle" });
            setDraft({ ...shown, ...fibreChannel(d).channel });
          }}
        />

        {KEYS.map((k) => (
          <Slider key={k} k={k} value={shown[k]} current={current[k]} onChange={(pct) => edit(k, pct)} disabled={phase !== "joined"} />
        ))}

        <div className="rounded-md border border-line bg-panel-2 px-3 py-2 text-xs" data-testid="simulation-expected">
          Expected QBER with these settings: <span className="font-mono font-semibold">{formatPercent(expected)}</span>{" "}
          <span className="text-muted">(noise + Eve/4 − noise·Eve/2). Sessions abort above 11%.</span>
        </div>

        <div
          className="space-y-2 rounded-md border border-dashed border-accent/50 bg-accent/5 px-3 py-2 text-xs leading-5 text-muted"
          data-testid="simulation-note"
        >
          <p>
            <strong className="text-fg">Applies to sessions started from now on.</strong> A session keeps the settings that were current when it started.
          </p>
          <p>Saved on the server for this room and pushed to every member at once; the room log records who changed it.</p>
        </div>

        {/* Buttons keep their labels on one line; when the row is full, the next button or the status moves down whole
            (squeezed, they read "Save for / this room" and "Reset / channel"). */}
        <div className="flex flex-wrap items-center gap-3">
          <Button
            type="submit"
            variant="primary"
            className="whitespace-nowrap"
            disabled={!dirty || state.kind === "saving" || phase !== "joined"}
            data-testid="simulation-save"
          >
            {state.kind === "saving" ? "Saving…" : "Save for this room"}
          </Button>
          {dirty && (
            <Button variant="ghost" className="whitespace-nowrap" onClick={() => setDraft(null)} data-testid="simulation-reset">
              Discard changes
            </Button>
          )}
          <Button
            variant="ghost"
            className="whitespace-nowrap"
            onClick={() => void submit(DEFAULT_ROOM_CHANNEL)}
            disabled={(sameChannel(current, DEFAULT_ROOM_CHANNEL) && !dirty) || state.kind === "saving" || phase !== "joined"}
            title={`Save the default channel for this room: noise ${formatPercent(DEFAULT_ROOM_CHANNEL.noise, 1)}, loss ${formatPercent(DEFAULT_ROOM_CHANNEL.loss, 0)}, Eve ${formatPercent(DEFAULT_ROOM_CHANNEL.eve, 0)}`}
            data-testid="simulation-reset-channel"
          >
            Reset channel
          </Button>
          <p aria-live="polite" className="text-xs" data-testid="simulation-status" data-state={state.kind}>
            {state.kind === "saved" && !dirty && <span className="text-ok">Saved and pushed to all members.</span>}
            {state.kind === "error" && <span className="text-danger">{state.text}</span>}
          </p>
        </div>

        <p className="text-[11px] text-muted" data-testid="simulation-current" data-noise={current.noise} data-loss={current.loss} data-eve={current.eve}>
          In force now: noise {formatPercent(current.noise, 1)}, loss {formatPercent(current.loss, 0)}, Eve {formatPercent(current.eve, 0)}.
        </p>
      </form>
    </aside>
  );
}

function Slider({
  k,
  value,
  current,
  onChange,
  disabled,
}: {
  k: keyof ChannelSettings;
  value: number;
  current: number;
  onChange: (pct: number) => void;
  disabled: boolean;
}) {
  const b = CHANNEL_BOUNDS[k];
  const ids = { range: useId(), num: useId(), help: useId() };
  const pct = toPct(value);
  const changed = value !== current;
  return (
    <div>
      <div className="flex items-baseline justify-between gap-2">
        <label htmlFor={ids.range} className="text-sm font-medium">
          {b.label}
        </label>
        <span className="flex items-center gap-1">
          <label htmlFor={ids.num} className="sr-only">
            {b.label} in percent
          </label>
          <input
            id={ids.num}
            type="number"
            min={toPct(b.min)}
            max={toPct(b.max)}
            // "any": a typed 2.3% or a fibre preset's 98.96% must not fail the form's step check
            // (which would silently block "Save"); the slider keeps the coarse step.
            step="any"
            value={pct}
            disabled={disabled}
            onChange={(e) => e.target.value !== "" && onChange(Number(e.target.value))}
            data-testid={`simulation-${k}-input`}
            className={`w-20 rounded-md border bg-bg px-2 py-1 text-right font-mono text-sm focus:outline-none focus:ring-2 focus:ring-accent/50 ${changed ? "border-accent" : "border-line"}`}
          />
          <span className="text-sm text-muted">%</span>
        </span>
      </div>
      <input
        id={ids.range}
        type="range"
        min={toPct(b.min)}
        max={toPct(b.max)}
        step={toPct(b.step)}
        value={pct}
        disabled={disabled}
        aria-describedby={ids.help}
        aria-valuetext={`${pct}%`}
        onChange={(e) => onChange(Number(e.target.value))}
        data-testid={`simulation-${k}`}
        className="mt-1.5 w-full accent-[var(--qs-accent)]"
      />
      <p id={ids.help} className="text-[11px] leading-4 text-muted">
        {b.help}
        {changed && <span className="text-accent"> Unsaved (room: {formatPercent(current, 1)}).</span>}
      </p>
    </div>
  );
}

/**
 * Fibre presets: a distance of the LCWXZ 2014 link (lib/ui/fibre-link.ts) sets loss and noise in the
 * draft, to be saved like any slider change; the eavesdropper setting is left alone.
 */
function FibrePresets({ chosen, disabled, onPick }: { chosen: number | null; disabled: boolean; onPick: (km: number) => void }) {
  const labelId = useId();
  return (
    <div data-testid="simulation-fibre" data-chosen={chosen ?? ""}>
      <p id={labelId} className="text-sm font-medium">
        Fibre link
      </p>
      <div role="group" aria-labelledby={labelId} className="mt-1.5 flex flex-wrap gap-2">
        {FIBRE_PRESET_DISTANCES.map((d) => (
          <Button
            key={d}
            variant={chosen === d ? "primary" : "secondary"}
            aria-pressed={chosen === d}
            disabled={disabled}
            onClick={() => onPick(d)}
            data-testid={`simulation-fibre-${d}`}
          >
            {d} km
          </Button>
        ))}
      </div>
      <p className="mt-1 text-[11px] leading-4 text-muted">
        Loss and noise of single photons over standard fibre (0.2 dB/km) into the detector of Lim et al. 2014: 10% efficiency, dark counts 6·10⁻⁷, afterpulses
        4%, misalignment 0.5%.
        {chosen !== null && (
          <span className="text-fg">
            {" "}
            {chosen} km: loss {formatPercent(fibreChannel(chosen).channel.loss, 3)}, noise {formatPercent(fibreChannel(chosen).channel.noise, 3)}.
          </span>
        )}
      </p>
    </div>
  );
}
