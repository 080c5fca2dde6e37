/**
 * @module Investigation behind docs/statistics.md ("why the conservative rate interval was kept"): coverage of
 * boundary-aware intervals on the effective sample size of a clustered rate, on the data of stats-coverage.ts's grid
 * (cluster rates ~ Beta(mu·4, (1 − mu)·4), ICC 0.2, cluster sizes 1-8, rate 0.05 and 0.5, 5-40 clusters).
 * Variants: Clopper-Pearson (cp, what clusteredMean uses), Jeffreys (jeff), Wilson with the t quantile (wilson-tz),
 * each with the Korn-Graubard df adjustment n* = n_eff (z / t_{k−1})², and cp / jeff without it (-nodf).
 * Not part of CI. Usage: npx tsx scripts/stats-interval-variants.ts [datasets per cell, default 2000]
 */
import { regularizedIncompleteBeta, tQuantile } from "../src/stats/distributions.ts";
import { createRng, seedFrom } from "../src/stats/rng.ts";
type Rng = () => number;
function normal(rng: Rng) { const u = 1 - rng(); const v = rng(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); }
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng(), 1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) { let x, v; do { x = normal(rng); v = 1 + c * x; } while (v <= 0); v = v * v * v; const u = 1 - rng(); if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v; }
}
const beta = (rng: Rng, a: number, b: number) => { const x = gamma(rng, a); return x / (x + gamma(rng, b)); };
function bq(q: number, a: number, b: number) { let lo = 0, hi = 1; for (let i = 0; i < 60; i++) { const m = (lo + hi) / 2; if (regularizedIncompleteBeta(m, a, b) < q) lo = m; else hi = m; } return (lo + hi) / 2; }
const z = 1.959963984540054;
// Variants on the effective n. x = p * nStar.
function interval(v: string, means: number[], n: number) {
  const k = means.length; const p = means.reduce((s, x) => s + x, 0) / k;
  const sd2 = means.reduce((s, x) => s + (x - p) ** 2, 0) / (k - 1);
  const vv = sd2 / k;
  let nEff = p > 0 && p < 1 && vv > 0 ? (p * (1 - p)) / vv : k;
  nEff = Math.min(n, Math.max(k, nEff));
  const t = tQuantile(0.975, k - 1);
  const nStar = v.includes("nodf") ? nEff : nEff * (z / t) ** 2;
  const x = p * nStar;
  if (v.startsWith("cp")) return { lo: x <= 0 ? 0 : bq(0.025, x, nStar - x + 1), hi: x >= nStar ? 1 : bq(0.975, x + 1, nStar - x) };
  if (v.startsWith("jeff")) return { lo: x <= 0 ? 0 : bq(0.025, x + 0.5, nStar - x + 0.5), hi: x >= nStar ? 1 : bq(0.975, x + 0.5, nStar - x + 0.5) };
  if (v.startsWith("wilson")) { const zz = v.includes("tz") ? t : z; const d = 1 + zz * zz / nStar; const c = (p + zz * zz / (2 * nStar)) / d; const h = zz * Math.sqrt(p * (1 - p) / nStar + zz * zz / (4 * nStar * nStar)) / d; return { lo: c - h, hi: c + h }; }
  throw v;
}
const variants = ["cp", "jeff", "wilson-tz", "cp-nodf", "jeff-nodf"];
const N = Number(process.argv[2] ?? 2000);
for (const mu of [0.05, 0.5]) for (const k of [5, 10, 20, 40]) {
  const rng = createRng(seedFrom(20260608, "interval-variants", mu, k));
  const cov: Record<string, number> = Object.fromEntries(variants.map((v) => [v, 0]));
  for (let i = 0; i < N; i++) {
    const clusters: number[][] = [];
    for (let c = 0; c < k; c++) { const p = beta(rng, mu * 4, (1 - mu) * 4); const m = 1 + Math.floor(rng() * 8); clusters.push(Array.from({ length: m }, () => (rng() < p ? 1 : 0))); }
    const means = clusters.map((c) => c.reduce((s, x) => s + x, 0) / c.length);
    const n = clusters.reduce((s, c) => s + c.length, 0);
    for (const v of variants) { const r = interval(v, means, n); if (r.lo <= mu && mu <= r.hi) cov[v]++; }
  }
  console.log(`rate ${mu} k=${k}: ` + variants.map((v) => `${v} ${(cov[v] / N).toFixed(3)}`).join("  "));
}
