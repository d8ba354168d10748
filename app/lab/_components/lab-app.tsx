"use client";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { labParamsString, parseLabParams, type LabState } from "@/lib/lab/url-state";
import { Logo } from "@/app/_components/ui";
import { ThemeToggle } from "@/app/_components/theme-toggle";
import { WalkthroughView } from "./walkthrough-view";
import { LinkPanel } from "./link-panel";
import { BlockSizeSweep, CascadeSweep, EveSweep, KeyFractionSweep } from "./sweep-panels";

/**
 * The BB84 lab. Every number on it comes from lib/qkd, the code the chat's sessions run; sweeps
 * run in Web Workers. The whole setup is mirrored into the URL (replaceState), so copying the
 * address shares it.
 */
export function LabApp({ initialQuery }: { initialQuery: string }) {
  const initial = useMemo(() => parseLabParams(new URLSearchParams(initialQuery)), [initialQuery]);
  const [state, setState] = useState<LabState>(initial.state);
  const [ignored, setIgnored] = useState(initial.ignored);

  useEffect(() => {
    const q = labParamsString(state);
    const url = `${window.location.pathname}${q ? `?${q}` : ""}${window.location.hash}`;
    if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) window.history.replaceState(window.history.state, "", url);
  }, [state]);

  const set =
    <K extends keyof LabState>(k: K) =>
    (v: LabState[K]) =>
      setState((s) => ({ ...s, [k]: v }));

  return (
    <main className="mx-auto w-full max-w-6xl space-y-8 px-4 py-6 sm:px-6" data-testid="lab-page">
      <header className="flex flex-wrap items-center justify-between gap-3">
        <Link href="/" className="rounded-md">
          <Logo className="text-lg" />
        </Link>
        <span className="flex items-center gap-3 text-sm text-muted">
          <Link href="/" className="underline underline-offset-2 hover:text-fg">
            Chat
          </Link>
          <ThemeToggle />
        </span>
      </header>
      <div className="space-y-2">
        <h1 className="text-2xl font-semibold tracking-tight sm:text-3xl">BB84 lab</h1>
        <p className="max-w-3xl text-sm leading-6 text-muted">
          Quantum key distribution, one photon at a time and a million at once. Every number here comes from the same BB84 engine the chat rooms run (lib/qkd),
          seeded so a run can be repeated. Heavy runs happen in a background worker; the address bar holds the whole setup, so copying the link shares it.
        </p>
        {ignored.length > 0 && (
          <p role="status" className="rounded-md border border-warn/50 bg-warn/10 px-3 py-2 text-sm text-warn" data-testid="lab-ignored">
            Ignored invalid link parameter{ignored.length > 1 ? "s" : ""}: {ignored.join(", ")} (defaults used).{" "}
            <button type="button" className="underline" onClick={() => setIgnored([])}>
              Dismiss
            </button>
          </p>
        )}
      </div>

      <WalkthroughView state={state.walk} onChange={set("walk")} />

      <section aria-labelledby="sweeps-title" className="space-y-4">
        <div>
          <h2 id="sweeps-title" className="text-lg font-semibold">
            Sweeps against theory
          </h2>
          <p className="max-w-3xl text-sm leading-6 text-muted">
            Each sweep runs full engine sessions over a grid and draws them against what theory predicts. A run whose 95% interval misses the theory is shown in
            red, never dropped. Sweep seed:{" "}
            <input
              aria-label="Sweep seed"
              data-testid="in-seed"
              type="number"
              min={0}
              max={4294967295}
              className="w-28 rounded-md border border-line bg-panel px-2 py-0.5 text-sm text-fg"
              value={state.eve.seed}
              onChange={(e) => {
                const v = Number(e.target.value);
                if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff)
                  setState((s) => ({
                    ...s,
                    eve: { ...s.eve, seed: v },
                    keyFraction: { ...s.keyFraction, seed: v },
                    cascade: { ...s.cascade, seed: v },
                    blockSize: { ...s.blockSize, seed: v },
                  }));
              }}
            />
          </p>
        </div>
        <EveSweep spec={state.eve} onSpec={set("eve")} />
        <KeyFractionSweep spec={state.keyFraction} onSpec={set("keyFraction")} />
        <CascadeSweep spec={state.cascade} onSpec={set("cascade")} />
        <BlockSizeSweep spec={state.blockSize} onSpec={set("blockSize")} />
      </section>

      <LinkPanel spec={state.link} onSpec={set("link")} />
    </main>
  );
}
