/** @module stats/distributions — normal, Student t, beta, binomial and hypergeometric distribution functions in pure TypeScript. */

/** sqrt(2π), normal density constant. */
const SQRT_2PI = 2.5066282746310002;
/** Shape of the gamma distribution that x²/2 follows when x is standard normal (Abramowitz & Stegun 26.2.30). */
const NORMAL_GAMMA_A = 0.5;

/** Wichura (1988) AS 241 PPND16 breakpoints: |q| <= 0.425 uses the central rational function, r <= 5 the intermediate one. */
const AS241_SPLIT1 = 0.425;
const AS241_SPLIT2 = 5;
const AS241_CONST1 = 0.180625;
const AS241_CONST2 = 1.6;
/** AS 241 PPND16 coefficients (Wichura 1988, Applied Statistics 37:477-484), lowest degree first. */
const AS241_A = [
  3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
  33430.575583588128105, 2509.0809287301226727,
];
const AS241_B = [
  1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867, 39307.89580009271061, 28729.085735721942674,
  5226.495278852854561,
];
const AS241_C = [
  1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
  0.0227238449892691845833, 7.7454501427834140764e-4,
];
const AS241_D = [
  1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
  1.05075007164441684324e-9,
];
const AS241_E = [
  6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
  2.71155556874348757815e-5, 2.01033439929228813265e-7,
];
const AS241_F = [
  1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
  2.04426310338993978564e-15,
];

/** Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients, as in Numerical Recipes 3rd ed. §6.1 / Press et al.); ~15 significant digits. */
const LANCZOS_G = 7;
const LANCZOS_COEF = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];
/** Continued-fraction settings for the incomplete beta (Numerical Recipes 3rd ed. §6.4, modified Lentz): iteration cap, tolerance. */
const BETACF_MAX_ITER = 10000;
const BETACF_EPS = 1e-15;
/** Underflow guard for the modified Lentz continued-fraction algorithm (Numerical Recipes 3rd ed. §5.2). */
const LENTZ_FPMIN = 1e-300;
/** Incomplete gamma settings (Numerical Recipes 3rd ed. §6.2: series below a + 1, continued fraction above): iteration cap, tolerance. */
const GAMMA_MAX_ITER = 10000;
const GAMMA_EPS = 1e-16;
/** t-quantile root finding: relative tolerance and iteration cap for the safeguarded Newton/bisection search. */
const T_QUANTILE_TOL = 1e-14;
const T_QUANTILE_MAX_ITER = 200;

function polyLowFirst(coef: readonly number[], x: number): number {
  let r = 0;
  for (let i = coef.length - 1; i >= 0; i--) r = r * x + coef[i];
  return r;
}

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / SQRT_2PI;
}

/** Regularized lower incomplete gamma P(a, x) by its power series (Numerical Recipes 3rd ed. §6.2); use for x < a + 1. */
function gammaSeries(a: number, x: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  for (let n = 0; n < GAMMA_MAX_ITER; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * GAMMA_EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Regularized upper incomplete gamma Q(a, x) by its continued fraction (Numerical Recipes 3rd ed. §6.2, modified Lentz); use for x >= a + 1. */
function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / LENTZ_FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= GAMMA_MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < LENTZ_FPMIN) d = LENTZ_FPMIN;
    c = b + an / c;
    if (Math.abs(c) < LENTZ_FPMIN) c = LENTZ_FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < GAMMA_EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Regularized lower incomplete gamma P(a, x) for a > 0, x >= 0. */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(x) || !(a > 0) || x < 0) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), precise when Q is small. */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(x) || !(a > 0) || x < 0) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

/**
 * Standard normal CDF Φ(x) via the incomplete gamma identity Φ(-|x|) = Q(1/2, x²/2) / 2 (Abramowitz & Stegun 7.1.2, 6.5.17);
 * near full double precision, relative accuracy kept in both tails.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = 0.5 * x * x;
  if (z < NORMAL_GAMMA_A + 1) {
    const half = 0.5 * (z === 0 ? 0 : gammaSeries(NORMAL_GAMMA_A, z));
    return x < 0 ? 0.5 - half : 0.5 + half;
  }
  const tail = 0.5 * (z === Infinity ? 0 : gammaContinuedFraction(NORMAL_GAMMA_A, z));
  return x < 0 ? tail : 1 - tail;
}

/** Standard normal quantile Φ⁻¹(p) (Wichura 1988, AS 241 PPND16, ~1e-16 relative accuracy). p = 0 → -Infinity, p = 1 → Infinity. */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= AS241_SPLIT1) {
    const r = AS241_CONST1 - q * q;
    return (q * polyLowFirst(AS241_A, r)) / polyLowFirst(AS241_B, r);
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-Math.log(r));
  let val: number;
  if (r <= AS241_SPLIT2) {
    r -= AS241_CONST2;
    val = polyLowFirst(AS241_C, r) / polyLowFirst(AS241_D, r);
  } else {
    r -= AS241_SPLIT2;
    val = polyLowFirst(AS241_E, r) / polyLowFirst(AS241_F, r);
  }
  return q < 0 ? -val : val;
}

/** Natural log of the gamma function for x > 0 (Lanczos approximation with reflection for x < 0.5). */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1-x) = π / sin(πx); returns log|Γ(x)|.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let a = LANCZOS_COEF[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS_COEF.length; i++) a += LANCZOS_COEF[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** log B(a, b) = log Γ(a) + log Γ(b) - log Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** Continued fraction for the incomplete beta (Numerical Recipes 3rd ed. §6.4, modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < LENTZ_FPMIN) d = LENTZ_FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= BETACF_MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < LENTZ_FPMIN) d = LENTZ_FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < LENTZ_FPMIN) c = LENTZ_FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < LENTZ_FPMIN) d = LENTZ_FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < LENTZ_FPMIN) c = LENTZ_FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < BETACF_EPS) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) {
    return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  }
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Student t density with `df` > 0 degrees of freedom. */
export function tPdf(t: number, df: number): number {
  if (df === Infinity) return normalPdf(t);
  const logC = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  return Math.exp(logC - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/** Upper tail P(T > t) of Student t with `df` > 0 degrees of freedom; precise for small tail probabilities. */
export function tSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (df === Infinity) return normalCdf(-t);
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const half = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? half : 1 - half;
}

/** Student t CDF P(T <= t) with `df` > 0 degrees of freedom (df = Infinity gives the normal CDF). */
export function tCdf(t: number, df: number): number {
  return tSf(-t, df);
}

/** Upper-tail quantile: the t > 0 with P(T > t) = q, for 0 < q <= 0.5. */
function tUpperQuantile(q: number, df: number): number {
  if (q === 0.5) return 0;
  // Closed forms for df = 1 (Cauchy) and df = 2 (Hill 1970, Comm. ACM 13:617).
  if (df === 1) return 1 / Math.tan(Math.PI * q);
  if (df === 2) return Math.sqrt(2 / (4 * q * (1 - q)) - 2);
  // Bracket [lo, hi] with tSf(lo) >= q > tSf(hi), starting from the normal quantile (which is below the t quantile).
  let lo = 0;
  let hi = Math.max(1, -normalQuantile(q));
  while (tSf(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) return Infinity;
  }
  let x = 0.5 * (lo + hi);
  for (let i = 0; i < T_QUANTILE_MAX_ITER; i++) {
    const f = tSf(x, df) - q;
    if (f > 0) lo = x;
    else hi = x;
    // Newton step on the survival function (derivative is -pdf); fall back to bisection when it leaves the bracket.
    let next = x + f / tPdf(x, df);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= T_QUANTILE_TOL * Math.max(1, Math.abs(next))) return next;
    x = next;
  }
  return x;
}

/** Student t quantile: the t with P(T <= t) = p, for `df` > 0 (df = Infinity gives the normal quantile). */
export function tQuantile(p: number, df: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || !(df > 0)) return NaN;
  if (df === Infinity) return normalQuantile(p);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  return p > 0.5 ? tUpperQuantile(1 - p, df) : -tUpperQuantile(p, df);
}

/** log of the binomial coefficient C(n, k); -Infinity when k is outside [0, n]. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  if (k === 0 || k === n) return 0;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** log P(X = k) for X ~ Binomial(n, p), computed in log space. */
export function binomialLogPmf(k: number, n: number, p: number): number {
  if (!Number.isInteger(k) || k < 0 || k > n) return -Infinity;
  if (p === 0) return k === 0 ? 0 : -Infinity;
  if (p === 1) return k === n ? 0 : -Infinity;
  return logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/** P(X = k) for X ~ Binomial(n, p). */
export function binomialPmf(k: number, n: number, p: number): number {
  return Math.exp(binomialLogPmf(k, n, p));
}

/** P(X <= k) for X ~ Binomial(n, p): exact sum of point masses combined by log-sum-exp. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (Number.isNaN(k) || !(p >= 0 && p <= 1)) return NaN;
  const kk = Math.floor(k);
  if (kk < 0) return 0;
  if (kk >= n) return 1;
  const logs: number[] = [];
  let max = -Infinity;
  for (let i = 0; i <= kk; i++) {
    const l = binomialLogPmf(i, n, p);
    logs.push(l);
    if (l > max) max = l;
  }
  if (max === -Infinity) return 0;
  let s = 0;
  for (const l of logs) s += Math.exp(l - max);
  return Math.min(1, Math.exp(max + Math.log(s)));
}

/**
 * log P(X = k) for a hypergeometric X: `draws` items drawn without replacement from a population of
 * `population` items of which `successes` are successes.
 */
export function hypergeometricLogPmf(k: number, population: number, successes: number, draws: number): number {
  if (!Number.isInteger(k)) return -Infinity;
  if (k < Math.max(0, draws - (population - successes)) || k > Math.min(successes, draws)) return -Infinity;
  return logChoose(successes, k) + logChoose(population - successes, draws - k) - logChoose(population, draws);
}

/** P(X = k) for a hypergeometric X (population size, number of successes in it, number of draws). */
export function hypergeometricPmf(k: number, population: number, successes: number, draws: number): number {
  return Math.exp(hypergeometricLogPmf(k, population, successes, draws));
}
