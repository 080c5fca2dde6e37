/**
 * @module Investigation behind docs/statistics.md ("kappa over prompts"): coverage of bootstrap intervals for Cohen's
 * kappa of two judges when prompts have several answers, resampling whole prompts. Data as stats-coverage.ts's kappa
 * cells: per prompt an unsafe probability p ~ Beta(mu·4, (1 − mu)·4), per answer a true label ~ Bernoulli(p), judges
 * right with probability 0.9 and 0.85 independently given the label; answers per prompt 4 or 1-8.
 * Variants: percentile (what kappaEstimate used before), BCa (Efron 1987), a normal interval on the bootstrap SE, the
 * expanded percentile (Hesterberg 2015: quantile sqrt(k/(k − 1)) t_{k−1}), BCa with that expansion (what kappaEstimate
 * uses now), and a t-interval on the leave-one-prompt-out jackknife SE.
 * Not part of CI. Usage: node scripts/stats-kappa-variants.ts [datasets per cell, default 1000] [prompts, default 10,20,40]
 */
import { createRng, seedFrom } from "../src/stats/rng.ts";
import { normalCdf, normalQuantile, tQuantile } from "../src/stats/distributions.ts";
import { beta, type Rng } from "./lib/sampling.ts";
const ACC_A = 0.9,
  ACC_B = 0.85,
  PHI = 4;
const N = Number(process.argv[2] ?? 1000),
  B = 2000;
// Counts per prompt: [n11, n10, n01, n00] (judge A label, judge B label); a resample sums its prompts. Reference values: kappa as Cohen (1960).
// counts per cluster: [n11, n10, n01, n00] (A label, B label)
const kap = (c: number[]) => {
  const n = c[0] + c[1] + c[2] + c[3];
  if (!n) return NaN;
  const po = (c[0] + c[3]) / n;
  const a1 = (c[0] + c[1]) / n,
    b1 = (c[0] + c[2]) / n;
  const pe = a1 * b1 + (1 - a1) * (1 - b1);
  return pe === 1 ? NaN : (po - pe) / (1 - pe);
};
for (const mu of [0.3, 0.1]) {
  const qa = mu * ACC_A + (1 - mu) * (1 - ACC_A),
    qb = mu * ACC_B + (1 - mu) * (1 - ACC_B);
  const po = ACC_A * ACC_B + (1 - ACC_A) * (1 - ACC_B),
    pe = qa * qb + (1 - qa) * (1 - qb);
  const truth = (po - pe) / (1 - pe);
  for (const k of (process.argv[3] ?? "10,20,40").split(",").map(Number))
    for (const sizes of [4, 8]) {
      const rng = createRng(seedFrom(1, mu, k, sizes));
      let cP = 0,
        cB = 0,
        cS = 0,
        av = 0,
        cE = 0,
        cJ = 0,
        cBE = 0;
      const zE = Math.sqrt(k / (k - 1)) * tQuantile(0.975, k - 1);
      const aE = normalCdf(-zE);
      for (let d = 0; d < N; d++) {
        const cl: number[][] = [];
        for (let c = 0; c < k; c++) {
          const p = beta(rng, mu * PHI, (1 - mu) * PHI);
          const m = sizes === 4 ? 4 : 1 + Math.floor(rng() * 8);
          const cnt = [0, 0, 0, 0];
          for (let j = 0; j < m; j++) {
            const s = rng() < p;
            const a = rng() < ACC_A ? s : !s;
            const b = rng() < ACC_B ? s : !s;
            cnt[a ? (b ? 0 : 1) : b ? 2 : 3]++;
          }
          cl.push(cnt);
        }
        const tot = cl.reduce((s, c) => s.map((x, i) => x + c[i]), [0, 0, 0, 0]);
        const th = kap(tot);
        if (!Number.isFinite(th)) continue;
        av++;
        const bs: number[] = [];
        for (let r = 0; r < B; r++) {
          const t = [0, 0, 0, 0];
          for (let i = 0; i < k; i++) {
            const c = cl[Math.floor(rng() * k)];
            t[0] += c[0];
            t[1] += c[1];
            t[2] += c[2];
            t[3] += c[3];
          }
          const x = kap(t);
          if (Number.isFinite(x)) bs.push(x);
        }
        bs.sort((x, y) => x - y);
        const q = (p: number) => {
          const h = (bs.length - 1) * p;
          const i = Math.floor(h);
          return bs[i] + (h - i) * (bs[Math.min(i + 1, bs.length - 1)] - bs[i]);
        };
        if (q(0.025) <= truth && truth <= q(0.975)) cP++;
        // BCa: bias z0 from the bootstrap share below the estimate (ties half), acceleration from the leave-one-cluster-out jackknife.
        const below = bs.filter((x) => x < th).length + 0.5 * bs.filter((x) => x === th).length;
        const z0 = normalQuantile(Math.min(1 - 1e-9, Math.max(1e-9, below / bs.length)));
        const jk = cl.map((c) => kap(tot.map((x, i) => x - c[i]))).filter(Number.isFinite);
        const jm = jk.reduce((s, x) => s + x, 0) / jk.length;
        const num = jk.reduce((s, x) => s + (jm - x) ** 3, 0),
          den = jk.reduce((s, x) => s + (jm - x) ** 2, 0);
        const acc = den > 0 ? num / (6 * den ** 1.5) : 0;
        const adj = (zq: number) => normalCdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)));
        if (q(adj(-1.959964)) <= truth && truth <= q(adj(1.959964))) cB++;
        // Studentized-free alternative: bootstrap-t with the jackknife SE would need a double loop; skip. Normal on bootstrap SE:
        const mb = bs.reduce((s, x) => s + x, 0) / bs.length;
        const sb = Math.sqrt(bs.reduce((s, x) => s + (x - mb) ** 2, 0) / (bs.length - 1));
        if (th - 1.96 * sb <= truth && truth <= th + 1.96 * sb) cS++;
        if (q(aE) <= truth && truth <= q(1 - aE)) cE++;
        if (q(adj(-zE)) <= truth && truth <= q(adj(zE))) cBE++;
        const sj = Math.sqrt(((jk.length - 1) / jk.length) * den);
        const tj = tQuantile(0.975, k - 1);
        if (th - tj * sj <= truth && truth <= th + tj * sj) cJ++;
      }
      console.log(
        `mu ${mu} kappa ${truth.toFixed(3)} k=${k} sizes ${sizes === 4 ? "4" : "1-8"}: datasets ${av} percentile ${(cP / av).toFixed(3)} BCa ${(cB / av).toFixed(3)} normal-SE ${(cS / av).toFixed(3)} expanded-pct ${(cE / av).toFixed(3)} BCa-expanded ${(cBE / av).toFixed(3)} jackknife-t ${(cJ / av).toFixed(3)}`,
      );
    }
}
