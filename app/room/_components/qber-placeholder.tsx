/** Reserved for the BB84 / QBER panel a later issue adds (live QBER from structured session data). */
export function QberPlaceholder() {
  return (
    <section aria-labelledby="qber-title" data-testid="qber-placeholder" className="rounded-xl border border-dashed border-accent/40 bg-accent/5 px-4 py-3">
      <div className="flex items-center justify-between">
        <h2 id="qber-title" className="text-xs font-semibold uppercase tracking-wider text-accent">
          BB84 / QBER
        </h2>
        <span className="rounded-full border border-accent/40 px-2 py-0.5 text-[11px] font-medium text-accent">coming</span>
      </div>
      <p className="mt-1.5 text-xs leading-5 text-muted">
        Run a simulated BB84 key exchange with one member, watch its quantum bit error rate live against the 11% bound, and harden
        that pair&apos;s key with the result.
      </p>
    </section>
  );
}
