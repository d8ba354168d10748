"use client";
import { useMemo, type KeyboardEvent, type ReactNode } from "react";
import { runWalkthrough, WALKTHROUGH_MAX_QUBITS, WALKTHROUGH_MIN_QUBITS, type Polarisation, type QubitRow, type Walkthrough } from "@/lib/qkd/walkthrough";
import type { WalkState } from "@/lib/lab/url-state";
import { Button } from "@/app/_components/ui";
import { NumberInput } from "./inputs";

/** The steps, in order; `cols` is how many table columns are visible at that step. */
const STEPS = [
  { id: "alice", title: "1. Alice sends photons" },
  { id: "eve", title: "2. Eve listens" },
  { id: "bob", title: "3. Bob measures" },
  { id: "sift", title: "4. Sifting" },
  { id: "sample", title: "5. Test sample" },
  { id: "reconcile", title: "6. Reconciliation (Cascade)" },
  { id: "verify", title: "7. Verification" },
  { id: "amplify", title: "8. Privacy amplification" },
] as const;
export const WALK_STEPS = STEPS.length;

const ARROW: Record<Polarisation, string> = { 0: "→", 90: "↑", 45: "↗", 135: "↖" };
const pol = (p: Polarisation) => `${ARROW[p]} ${p}°`;
const basisName = (b: "+" | "x") => (b === "+" ? "+" : "×");
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function explain(step: number, w: Walkthrough): ReactNode {
  const p = w.params;
  switch (STEPS[step].id) {
    case "alice":
      return (
        <>
          Alice picks a random bit and a random basis for each photon. In the + basis she encodes 0 as a horizontal (0°) and 1 as a vertical (90°) polarisation;
          in the × basis, 0 as 45° and 1 as 135°. Only she knows which basis she used.
        </>
      );
    case "eve":
      return p.eve > 0 ? (
        <>
          Eve intercepts {pct(p.eve)} of the photons ({w.rows.filter((r) => r.eve).length} here). She has to guess a basis: when she guesses Alice&apos;s, she
          reads the bit and resends the same photon; when she guesses wrong, her result is a coin toss and she resends a photon in the wrong basis.
        </>
      ) : (
        <>Eve is off in this run: the photons reach Bob untouched. Set &quot;Eve&quot; above 0 to see her intercept and resend them.</>
      );
    case "bob":
      return (
        <>
          Bob measures each photon in a random basis of his own. When it matches the photon&apos;s basis he reads its bit (a channel error still flips it with
          probability {pct(p.noise)}); when it does not, his result is a coin toss.
        </>
      );
    case "sift":
      return (
        <>
          Over the public channel Bob says which basis he used (never his result) and Alice says which ones match. They keep only those {w.sifted.count} of{" "}
          {p.qubits} bits: about half. {w.sifted.errors} of them differ, from channel noise{p.eve > 0 ? " and from Eve" : ""}.
        </>
      );
    case "sample":
      return (
        <>
          They sacrifice a random test sample of {w.sample.size} sifted bits, announcing them publicly: {w.sample.errors} differ, so the estimated error rate
          (QBER) is {pct(w.sample.qber)} (95% interval {pct(w.sample.interval95[0])}–{pct(w.sample.interval95[1])}).
          {w.sample.abortsAtThreshold
            ? " That is above 11%, where no secret key is possible: a real session aborts here, suspecting an eavesdropper."
            : " Eve causes errors whenever she guesses the wrong basis, so a low error rate bounds what she can know."}{" "}
          The other {w.key.alice.length} bits are the raw key.
        </>
      );
    case "reconcile":
      return w.reconciliation.failure ? (
        <>Reconciliation could not run: {w.reconciliation.failure}.</>
      ) : (
        <>
          Their raw keys differ in {w.key.errors.length} place{w.key.errors.length === 1 ? "" : "s"}. With Cascade, Bob asks for the parities of blocks of the
          key and halves the blocks that disagree until he finds each error: {w.reconciliation.errorsCorrected} corrected in {w.reconciliation.roundTrips} round
          trips, at the cost of {w.reconciliation.disclosedBits} parity bits that Eve also hears.
        </>
      );
    case "verify":
      return w.verification ? (
        <>
          To be sure the keys are now equal, Alice sends a short random hash of hers and Bob compares it with the hash of his:{" "}
          {w.verification.passed ? "they match." : "they differ, so the session aborts."}
          {w.verification.illustrative &&
            ` A real session sends ${w.verification.realHashBits} hash bits (a 1-in-10^15 chance of missing a difference); on a key this short we show ${w.verification.hashBits}.`}
        </>
      ) : (
        <>No key reached verification.</>
      );
    case "amplify":
      return w.amplification ? (
        <>
          Eve may know some bits (she read {w.amplification.eveKnownKeyBits} of the raw key by guessing the right basis) and heard every parity. Hashing the key
          into a shorter one leaves her almost nothing: {w.key.alice.length} bits become {w.amplification.ell}.
          {w.amplification.illustrative &&
            ` Honestly, the engine's finite-key bound for this key is ℓ = ${w.amplification.realEll}: with this few bits the statistical margin and the ${Math.round(w.amplification.securityCostBits)}-bit security cost leave nothing, so a real session (≥ 10^4 qubits) would stop here. The length shown is illustrative.`}
        </>
      ) : (
        <>No key reached privacy amplification.</>
      );
  }
}

const Bits = ({ bits, marks, label, testid }: { bits: number[] | null; marks?: Set<number>; label: string; testid: string }) => (
  <div className="flex flex-wrap items-baseline gap-x-2 text-sm">
    <span className="w-32 shrink-0 text-muted">{label}</span>
    <code data-testid={testid} className="break-all font-mono tracking-wider">
      {bits
        ? bits.map((b, i) =>
            marks?.has(i) ? (
              <mark key={i} className="rounded-sm bg-danger/20 text-danger">
                {b}
              </mark>
            ) : (
              <span key={i}>{b}</span>
            ),
          )
        : "—"}
    </code>
  </div>
);

export function WalkthroughView({ state, onChange }: { state: WalkState; onChange: (s: WalkState) => void }) {
  const w = useMemo(
    () => runWalkthrough({ qubits: state.qubits, seed: state.seed, noise: state.noise, eve: state.eve }),
    [state.qubits, state.seed, state.noise, state.eve],
  );
  const step = Math.min(state.step, STEPS.length - 1);
  const go = (s: number) => onChange({ ...state, step: Math.max(0, Math.min(STEPS.length - 1, s)) });
  const onKey = (e: KeyboardEvent) => {
    if (e.target instanceof HTMLInputElement) return;
    if (e.key === "ArrowRight") go(step + 1);
    else if (e.key === "ArrowLeft") go(step - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(STEPS.length - 1);
    else return;
    e.preventDefault();
  };
  const show = (id: (typeof STEPS)[number]["id"]) => STEPS.findIndex((s) => s.id === id) <= step;
  const errSet = new Set(w.key.errors);
  const residual = new Set(w.reconciliation.bob ? w.reconciliation.bob.flatMap((b, i) => (b !== w.key.alice[i] ? [i] : [])) : []);

  return (
    <section aria-labelledby="walk-title" className="space-y-3" data-testid="walkthrough" data-step={step}>
      <h2 id="walk-title" className="text-lg font-semibold">
        Step by step
      </h2>
      {/* Top-aligned, like the sweeps' fields: a field's error line grows it downwards and leaves its row where it was (items-end lifted the field with the error above the others). */}
      <div className="flex flex-wrap items-start gap-3">
        <NumberInput
          label="Qubits"
          id="wq"
          value={state.qubits}
          min={WALKTHROUGH_MIN_QUBITS}
          max={WALKTHROUGH_MAX_QUBITS}
          step={1}
          onValue={(v) => onChange({ ...state, qubits: v })}
        />
        <NumberInput label="Seed" id="wseed" value={state.seed} min={0} max={0xffffffff} step={1} onValue={(v) => onChange({ ...state, seed: v })} />
        <NumberInput label="Channel error e" id="wnoise" value={state.noise} min={0} max={0.5} step={0.01} onValue={(v) => onChange({ ...state, noise: v })} />
        <NumberInput label="Eve fraction f" id="weve" value={state.eve} min={0} max={1} step={0.1} onValue={(v) => onChange({ ...state, eve: v })} />
      </div>

      <div className="space-y-3 rounded-xl border border-line bg-panel p-3" data-testid="walk-region">
        {/* A toolbar: Tab reaches it, Enter/Space press a button, ← → Home End move between steps. */}
        <div className="flex flex-wrap items-center justify-between gap-2">
          <div role="toolbar" aria-label="Walkthrough steps" aria-controls="walk-step" className="flex items-center gap-2" onKeyDown={onKey}>
            {/* aria-disabled, not disabled: the focused button keeps focus at either end, so the arrow keys keep working. */}
            <Button
              onClick={() => go(step - 1)}
              aria-disabled={step === 0}
              className="aria-disabled:opacity-50"
              data-testid="walk-prev"
              aria-label="Previous step"
            >
              ← Previous
            </Button>
            <Button
              variant="primary"
              onClick={() => go(step + 1)}
              aria-disabled={step === STEPS.length - 1}
              className="aria-disabled:opacity-50"
              data-testid="walk-next"
              aria-label="Next step"
            >
              Next →
            </Button>
          </div>
          <p className="text-xs text-muted">
            Step {step + 1} of {STEPS.length} · ← → keys on the buttons
          </p>
        </div>
        <div id="walk-step" aria-live="polite" className="space-y-1">
          <h3 id="walk-step-title" className="font-semibold" data-testid="walk-step-title">
            {STEPS[step].title}
          </h3>
          <p className="text-sm leading-6 text-muted" data-testid="walk-explanation">
            {explain(step, w)}
          </p>
        </div>

        <div className="max-h-[28rem] overflow-auto rounded-md border border-line" data-testid="walk-table-wrap">
          <table className="w-full border-collapse text-center text-xs" data-testid="walk-table">
            <caption className="sr-only">One row per photon; columns appear as the steps go on.</caption>
            <thead className="sticky top-0 bg-panel-2">
              <tr>
                <th scope="col" className="px-2 py-1">
                  #
                </th>
                <th scope="col" className="px-2 py-1">
                  Alice bit
                </th>
                <th scope="col" className="px-2 py-1">
                  Alice basis
                </th>
                <th scope="col" className="px-2 py-1">
                  Photon
                </th>
                {show("eve") && (
                  <>
                    <th scope="col" className="px-2 py-1">
                      Eve basis
                    </th>
                    <th scope="col" className="px-2 py-1">
                      Eve resends
                    </th>
                  </>
                )}
                {show("bob") && (
                  <>
                    <th scope="col" className="px-2 py-1">
                      Bob basis
                    </th>
                    <th scope="col" className="px-2 py-1">
                      Bob result
                    </th>
                  </>
                )}
                {show("sift") && (
                  <th scope="col" className="px-2 py-1">
                    Bases match
                  </th>
                )}
                {show("sample") && (
                  <th scope="col" className="px-2 py-1">
                    Use
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {w.rows.map((r) => (
                <Row key={r.index} r={r} show={show} />
              ))}
            </tbody>
          </table>
        </div>

        {show("sample") && (
          <div className="space-y-1 rounded-md bg-panel-2 p-2" data-testid="walk-keys">
            <Bits label="Alice raw key" bits={w.key.alice} testid="walk-key-alice" />
            <Bits label="Bob raw key" bits={w.key.bob} marks={errSet} testid="walk-key-bob" />
            {show("reconcile") && <Bits label="Bob after Cascade" bits={w.reconciliation.bob} marks={residual} testid="walk-key-reconciled" />}
            {show("verify") && w.verification && (
              <>
                <Bits label="Alice's hash" bits={w.verification.alice} testid="walk-hash-alice" />
                <Bits label="Bob's hash" bits={w.verification.bob} testid="walk-hash-bob" />
              </>
            )}
            {show("amplify") && w.amplification && (
              <>
                <Bits label="Alice final key" bits={w.amplification.alice} testid="walk-final-alice" />
                <Bits label="Bob final key" bits={w.amplification.bob} testid="walk-final-bob" />
              </>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function Row({ r, show }: { r: QubitRow; show: (id: (typeof STEPS)[number]["id"]) => boolean }) {
  const dim = show("sift") && !r.basesMatch;
  const use = r.siftedIndex === null ? "—" : r.inSample ? (r.error ? "test ✗" : "test ✓") : "key";
  return (
    <tr className={`border-t border-line ${dim ? "text-muted" : ""} ${show("sample") && r.error ? "bg-danger/10" : ""}`} data-testid="walk-row">
      <th scope="row" className="px-2 py-0.5 font-normal text-muted">
        {r.index + 1}
      </th>
      <td className="px-2 py-0.5 font-mono">{r.aliceBit}</td>
      <td className="px-2 py-0.5">{basisName(r.aliceBasis)}</td>
      <td className="px-2 py-0.5 whitespace-nowrap">{pol(r.sent)}</td>
      {show("eve") && (
        <>
          <td className="px-2 py-0.5">{r.eve ? basisName(r.eve.basis) : "—"}</td>
          <td className={`px-2 py-0.5 whitespace-nowrap ${r.eve && r.eve.resent !== r.sent ? "text-danger" : ""}`}>{r.eve ? pol(r.eve.resent) : "—"}</td>
        </>
      )}
      {show("bob") && (
        <>
          <td className="px-2 py-0.5">{basisName(r.bobBasis)}</td>
          <td className="px-2 py-0.5 font-mono">{r.bobResult ?? "lost"}</td>
        </>
      )}
      {show("sift") && <td className="px-2 py-0.5">{r.detected ? (r.basesMatch ? "yes" : "no") : "—"}</td>}
      {show("sample") && <td className={`px-2 py-0.5 whitespace-nowrap ${r.error ? "font-semibold text-danger" : ""}`}>{use}</td>}
    </tr>
  );
}
