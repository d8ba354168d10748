/**
 * Information-theoretic and statistical helpers: binary entropy, binomial confidence intervals.
 */

/** Binary (Shannon) entropy h(x) = −x·log2 x − (1−x)·log2(1−x); h(0) = h(1) = 0. */
export function binaryEntropy(x: number): number {
  if (!(x >= 0 && x <= 1)) throw new RangeError("binaryEntropy: x outside [0, 1]");
  if (x === 0 || x === 1) return 0;
  return -x * Math.log2(x) - (1 - x) * Math.log2(1 - x);
}

/** h(x) for a QBER bound: clamped to 1 for x ≥ 1/2 (no secrecy left), 0 for x ≤ 0. */
export function binaryEntropyClamped(x: number): number {
  if (x <= 0) return 0;
  if (x >= 0.5) return 1;
  return binaryEntropy(x);
}

/** Asymptotic BB84 secret fraction with ideal error correction (Shor–Preskill 2000): 1 − 2h(Q). */
export function asymptoticKeyFraction(q: number): number {
  return Math.max(0, 1 - 2 * binaryEntropyClamped(q));
}

// ln Γ(x), Lanczos approximation (g = 7, n = 9), |error| < 1e-13 for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical Recipes §6.4). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300,
    EPS = 1e-15;
  const qab = a + b,
    qap = a + 1,
    qam = a - 1;
  let c = 1,
    d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Binomial CDF P[X ≤ x] for X ~ Bin(n, p), via I_{1−p}(n−x, x+1). */
export function binomialCdf(x: number, n: number, p: number): number {
  if (x < 0) return 0;
  if (x >= n) return 1;
  return incompleteBeta(1 - p, n - x, x + 1);
}

/**
 * Clopper–Pearson ("exact") two-sided confidence interval for a binomial proportion with x
 * successes in n trials (Clopper & Pearson, Biometrika 26, 1934): the endpoints are the Beta
 * quantiles B(α/2; x, n−x+1) and B(1−α/2; x+1, n−x), found here by bisection on I_p.
 */
export function clopperPearson(x: number, n: number, confidence = 0.95): [number, number] {
  if (!(n > 0) || x < 0 || x > n) throw new RangeError("clopperPearson: need 0 ≤ x ≤ n, n > 0");
  const alpha = 1 - confidence;
  const lo = x === 0 ? 0 : betaQuantile(alpha / 2, x, n - x + 1);
  const hi = x === n ? 1 : betaQuantile(1 - alpha / 2, x + 1, n - x);
  return [lo, hi];
}

function betaQuantile(q: number, a: number, b: number): number {
  let lo = 0,
    hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (incompleteBeta(mid, a, b) < q) lo = mid;
    else hi = mid;
    if (hi - lo < 1e-15) break;
  }
  return (lo + hi) / 2;
}
