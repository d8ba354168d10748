/**
 * The room page's units in the admin console: channel settings and error rates are fractions on the
 * wire and in the database, percent on screen (the simulation drawer's rounding, so 2.5% stays 0.025).
 */
export const toPct = (v: number) => Math.round(v * 100_000) / 1000;
export const fromPct = (p: number) => Math.round(p * 1000) / 100_000;

/** "2%", "7.25%", "30%": a fraction in percent, without trailing zeros. */
export const pctText = (v: number) => `${toPct(v)}%`;
