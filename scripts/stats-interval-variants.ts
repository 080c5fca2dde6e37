/**
 * @module Investigation behind docs/statistics.md ("choice of the clustered-rate interval"): coverage of candidate
 * intervals for a clustered rate on the data of stats-coverage.ts's grid (cluster rates ~ Beta(mu·phi, (1 − mu)·phi),
 * phi = 4 i.e. ICC 0.2 unless given, cluster sizes 1-8, rate 0.05 and 0.5, 5-40 clusters). Each cell is measured at the
 * single true rate mu and averaged over a neighbourhood of it (mu drawn per dataset uniformly from [0.8 mu, 1.2 mu]),
 * as Brown, Cai & DasGupta (2001) judge discrete intervals. Candidates (n_eff = p(1 − p)/v̂ within [k, n]; worst case k at 0/n):
 *   cp-kgz     Clopper-Pearson on n_eff (z / t_{k−1})² (the interval used before)
 *   cp-kg      Clopper-Pearson on n_eff (t_{n−1} / t_{k−1})² (Korn & Graubard 1998 as published)
 *   cp-nodf    Clopper-Pearson on n_eff
 *   jeff-kg    Jeffreys on the KG n*;  wilson-kg  Wilson on the KG n*;  ac-kg  Agresti-Coull on the KG n*
 *   midp-kg    mid-p Clopper-Pearson on the KG n* (fractional counts: the mid-p tail of the beta form)
 *   t-switch-M-F  t-interval over cluster means when p n_eff and (1 − p) n_eff are both >= M, else F on the KG n* (F = cp, wilson, ac)
 * Not part of CI. Usage: node scripts/stats-interval-variants.ts [datasets per cell, default 2000] [phi, default 4] [variants, comma-separated]
 */
import { regularizedIncompleteBeta, tQuantile } from "../src/stats/distributions.ts";
import { createRng, seedFrom } from "../src/stats/rng.ts";
import { beta, type Rng } from "./lib/sampling.ts";
function bq(q: number, a: number, b: number) {
  let lo = 0,
    hi = 1;
  for (let i = 0; i < 60; i++) {
    const m = (lo + hi) / 2;
    if (regularizedIncompleteBeta(m, a, b) < q) lo = m;
    else hi = m;
  }
  return (lo + hi) / 2;
}
/** Root in p of f (decreasing in p) by bisection. */
function root(f: (p: number) => number, target: number) {
  let lo = 0,
    hi = 1;
  for (let i = 0; i < 60; i++) {
    const m = (lo + hi) / 2;
    if (f(m) > target) lo = m;
    else hi = m;
  }
  return (lo + hi) / 2;
}
const z = 1.959963984540054;
function interval(v: string, means: number[], n: number) {
  const k = means.length;
  const p = means.reduce((s, x) => s + x, 0) / k;
  const sd2 = means.reduce((s, x) => s + (x - p) ** 2, 0) / (k - 1);
  const vv = sd2 / k;
  let nEff = p > 0 && p < 1 && vv > 0 ? (p * (1 - p)) / vv : k;
  nEff = Math.min(n, Math.max(k, nEff));
  const t = tQuantile(0.975, k - 1);
  const tn = tQuantile(0.975, Math.max(1, n - 1));
  if (v.startsWith("t-switch")) {
    const [, , min = "5", fallback = "cp"] = v.split("-");
    if (p * nEff >= Number(min) && (1 - p) * nEff >= Number(min)) {
      const h = t * Math.sqrt(vv);
      return { lo: p - h, hi: p + h };
    }
    return interval(`${fallback}-kg`, means, n);
  }
  const nStar = v === "cp-nodf" ? nEff : v === "cp-kgz" ? nEff * (z / t) ** 2 : nEff * (tn / t) ** 2;
  const x = p * nStar;
  if (v.startsWith("cp")) return { lo: x <= 0 ? 0 : bq(0.025, x, nStar - x + 1), hi: x >= nStar ? 1 : bq(0.975, x + 1, nStar - x) };
  if (v.startsWith("jeff")) return { lo: x <= 0 ? 0 : bq(0.025, x + 0.5, nStar - x + 0.5), hi: x >= nStar ? 1 : bq(0.975, x + 0.5, nStar - x + 0.5) };
  if (v.startsWith("midp")) {
    // P(X >= x) = I_p(x, n − x + 1), P(X >= x + 1) = I_p(x + 1, n − x): the mid-p tail is their average.
    const upperTail = (q: number) =>
      0.5 * ((x <= 0 ? 1 : regularizedIncompleteBeta(q, x, nStar - x + 1)) + (x + 1 > nStar ? 0 : regularizedIncompleteBeta(q, x + 1, nStar - x)));
    const lo = x <= 0 ? 0 : root((q) => 1 - upperTail(q), 1 - 0.025);
    const hi = x >= nStar ? 1 : root((q) => 1 - upperTail(q), 0.025);
    return { lo, hi };
  }
  if (v.startsWith("wilson")) {
    const d = 1 + (z * z) / nStar;
    const c = (p + (z * z) / (2 * nStar)) / d;
    const h = (z * Math.sqrt((p * (1 - p)) / nStar + (z * z) / (4 * nStar * nStar))) / d;
    return { lo: c - h, hi: c + h };
  }
  if (v.startsWith("ac")) {
    const nt = nStar + z * z;
    const pt = (p * nStar + (z * z) / 2) / nt;
    const h = z * Math.sqrt((pt * (1 - pt)) / nt);
    return { lo: Math.max(0, pt - h), hi: Math.min(1, pt + h) };
  }
  throw v;
}
const variants = (
  process.argv[4] ?? "cp-kgz,cp-kg,cp-nodf,jeff-kg,wilson-kg,ac-kg,midp-kg,t-switch-5-cp,t-switch-5-wilson,t-switch-5-ac,t-switch-10-ac,t-switch-10-wilson"
).split(",");
const tails: Record<string, [number, number]> = {};
let zeros = 0;
const N = Number(process.argv[2] ?? 2000);
const PHI = Number(process.argv[3] ?? 4);
console.log(`datasets per cell ${N}, phi ${PHI} (ICC ${(1 / (1 + PHI)).toFixed(2)}); each cell: single rate / neighbourhood [0.8 mu, 1.2 mu]`);
console.log(["cell", ...variants].join("\t"));
for (const mu0 of [0.05, 0.5])
  for (const k of [5, 10, 20, 40]) {
    const out: string[] = [];
    const cov: Record<string, [number, number]> = Object.fromEntries(variants.map((v) => [v, [0, 0]]));
    for (const hood of [0, 1]) {
      const rng = createRng(seedFrom(20260608, "interval-variants", mu0, k, hood, PHI));
      for (let i = 0; i < N; i++) {
        const mu = hood ? mu0 * (0.8 + 0.4 * rng()) : mu0;
        const clusters: number[][] = [];
        for (let c = 0; c < k; c++) {
          const p = beta(rng, mu * PHI, (1 - mu) * PHI);
          const m = 1 + Math.floor(rng() * 8);
          clusters.push(Array.from({ length: m }, () => (rng() < p ? 1 : 0)));
        }
        const means = clusters.map((c) => c.reduce((s, x) => s + x, 0) / c.length);
        const n = clusters.reduce((s, c) => s + c.length, 0);
        if (!hood && means.every((x) => x === 0)) zeros++;
        for (const v of variants) {
          const r = interval(v, means, n);
          if (r.lo <= mu && mu <= r.hi) cov[v][hood]++;
          else if (!hood) {
            tails[v] ??= [0, 0];
            tails[v][r.hi < mu ? 0 : 1]++;
          }
        }
      }
    }
    for (const v of variants) out.push(`${(cov[v][0] / N).toFixed(3)}/${(cov[v][1] / N).toFixed(3)}`);
    console.log([`rate ${mu0} k=${k}`, ...out].join("\t"));
    console.log(
      `  all-zero datasets ${(zeros / N).toFixed(3)}; misses (interval below mu / above mu): ` +
        variants.map((v) => `${v} ${((tails[v]?.[0] ?? 0) / N).toFixed(3)}/${((tails[v]?.[1] ?? 0) / N).toFixed(3)}`).join(" "),
    );
    zeros = 0;
    for (const v of variants) delete tails[v];
  }
