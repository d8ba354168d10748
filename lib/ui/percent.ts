/**
 * Percent on screen, fractions on the wire: channel settings and error rates are fractions in the
 * protocol and the database; the room page's simulation drawer, the admin console and both logs show
 * and take percent, rounded so 2.5% stays 0.025.
 */
export const toPct = (v: number) => Math.round(v * 100_000) / 1000;
export const fromPct = (p: number) => Math.round(p * 1000) / 100_000;

/** "2%", "7.25%", "30%": a fraction in percent, without trailing zeros. */
export const pctText = (v: number) => `${toPct(v)}%`;
