/** @module Coverage simulation for every interval method in src/stats: checks that nominal 95% intervals cover the known truth 93–97% of the time. */

import { BOOTSTRAP_RESAMPLES, clusterBootstrapMean, pairedBootstrapMeanDiff } from "../src/stats/bootstrap.ts";
import { clusterMeanInterval, tMeanInterval, wilson } from "../src/stats/intervals.ts";
import { createRng, seedFrom } from "../src/stats/rng.ts";
import { newcombeDiffInterval, spearmanInterval } from "../src/stats/tests.ts";

/** Simulated datasets per method; the Monte Carlo SE of a 0.95 coverage estimate is sqrt(0.95·0.05/1000) ≈ 0.0069. */
const DATASETS = 1000;
/** Nominal confidence level under test (docs/statistics.md). */
const CONFIDENCE = 0.95;
/** Accepted empirical coverage band: about ±3 Monte Carlo SE around 0.95 (docs/statistics.md). */
const COVERAGE_MIN = 0.93;
const COVERAGE_MAX = 0.97;
/** Fixed seed of the simulation so the printed coverage is reproducible (same value as BOOTSTRAP_SEED). */
const SIMULATION_SEED = 20260608;
/** Resamples per bootstrap inside the loop: the production BOOTSTRAP_RESAMPLES (2000); the whole run takes a few seconds. */
const LOOP_RESAMPLES = BOOTSTRAP_RESAMPLES;

/** Wilson setting: n trials with success probability p. */
const WILSON_N = 200;
const WILSON_P = 0.3;
/** t-interval setting: n item means from Beta(2, 5) (mean 2/7), a skewed distribution on [0, 1]. */
const T_N = 60;
const T_BETA_A = 2;
const T_BETA_B = 5;
/** Cluster setting: k clusters (items) × m Bernoulli samples, each cluster's p drawn from Beta(2, 3) (mean 0.4). */
const CLUSTER_K = 60;
const CLUSTER_M = 5;
const CLUSTER_BETA_A = 2;
const CLUSTER_BETA_B = 3;
/** Paired setting: n items, shared item effect N(0.5, 0.15²), independent noise N(0, 0.1²) per arm, true difference 0.05. */
const PAIRED_N = 60;
const PAIRED_ITEM_MEAN = 0.5;
const PAIRED_ITEM_SD = 0.15;
const PAIRED_NOISE_SD = 0.1;
const PAIRED_TRUE_DIFF = 0.05;
/** Newcombe setting: two independent binomials. */
const NEWCOMBE_N = 150;
const NEWCOMBE_P1 = 0.3;
const NEWCOMBE_P2 = 0.4;
/** Spearman setting: n bivariate-normal pairs with Pearson r; true Spearman rho_s = (6/π)·asin(r/2) (Pearson 1907; Kruskal 1958). */
const SPEARMAN_N = 30;
const SPEARMAN_R = 0.5;

type Rng = () => number;

function normal(rng: Rng): number {
  // Box–Muller; 1 − u keeps the argument of log in (0, 1].
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Beta(a, b) for integer a, b: the a-th smallest of a + b − 1 uniforms. */
function betaInt(rng: Rng, a: number, b: number): number {
  const u: number[] = [];
  for (let i = 0; i < a + b - 1; i++) u.push(rng());
  u.sort((x, y) => x - y);
  return u[a - 1];
}

function binomial(rng: Rng, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (rng() < p) x++;
  return x;
}

interface CoverageRow {
  method: string;
  setting: string;
  truth: number;
  coverage: number;
  meanWidth: number;
  ok: boolean;
}

type Interval = { lo: number; hi: number };

/** Runs one method over DATASETS simulated datasets and records how often its interval covers `truth`. */
function simulate(method: string, setting: string, truth: number, draw: (rng: Rng, i: number) => Interval): CoverageRow {
  const rng = createRng(seedFrom(SIMULATION_SEED, method));
  let covered = 0;
  let width = 0;
  for (let i = 0; i < DATASETS; i++) {
    const { lo, hi } = draw(rng, i);
    if (lo <= truth && truth <= hi) covered++;
    width += hi - lo;
  }
  const coverage = covered / DATASETS;
  const ok = coverage >= COVERAGE_MIN && coverage <= COVERAGE_MAX;
  return { method, setting, truth, coverage, meanWidth: width / DATASETS, ok };
}

/** Cluster dataset i: CLUSTER_K clusters of CLUSTER_M Bernoulli draws; seeded by i so both cluster methods share it. */
function clusterData(i: number): number[][] {
  const rng = createRng(seedFrom(SIMULATION_SEED, "clusters", i));
  const clusters: number[][] = [];
  for (let k = 0; k < CLUSTER_K; k++) {
    const p = betaInt(rng, CLUSTER_BETA_A, CLUSTER_BETA_B);
    const c: number[] = [];
    for (let j = 0; j < CLUSTER_M; j++) c.push(rng() < p ? 1 : 0);
    clusters.push(c);
  }
  return clusters;
}

function itemMeans(rng: Rng): number[] {
  const values: number[] = [];
  for (let i = 0; i < T_N; i++) values.push(betaInt(rng, T_BETA_A, T_BETA_B));
  return values;
}

function pairedData(rng: Rng): { a: number[]; b: number[] } {
  const a: number[] = [];
  const b: number[] = [];
  for (let j = 0; j < PAIRED_N; j++) {
    const item = PAIRED_ITEM_MEAN + PAIRED_ITEM_SD * normal(rng);
    a.push(item + PAIRED_TRUE_DIFF + PAIRED_NOISE_SD * normal(rng));
    b.push(item + PAIRED_NOISE_SD * normal(rng));
  }
  return { a, b };
}

function correlatedNormals(rng: Rng): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < SPEARMAN_N; j++) {
    const z1 = normal(rng);
    const z2 = normal(rng);
    x.push(z1);
    y.push(SPEARMAN_R * z1 + Math.sqrt(1 - SPEARMAN_R * SPEARMAN_R) * z2);
  }
  return { x, y };
}

const started = performance.now();
const clusterTruth = CLUSTER_BETA_A / (CLUSTER_BETA_A + CLUSTER_BETA_B);
const clusterSetting = `${CLUSTER_K} clusters x ${CLUSTER_M} Bernoulli, p_i ~ Beta(${CLUSTER_BETA_A},${CLUSTER_BETA_B})`;
const boot = (method: string, i: number) => ({
  confidence: CONFIDENCE,
  resamples: LOOP_RESAMPLES,
  seed: seedFrom(SIMULATION_SEED, method, i),
});
const rows: CoverageRow[] = [
  simulate("wilson", `n=${WILSON_N}, p=${WILSON_P}`, WILSON_P, (rng) =>
    wilson(binomial(rng, WILSON_N, WILSON_P), WILSON_N, CONFIDENCE)),
  simulate("tMeanInterval", `n=${T_N} item means ~ Beta(${T_BETA_A},${T_BETA_B})`, T_BETA_A / (T_BETA_A + T_BETA_B), (rng) =>
    tMeanInterval(itemMeans(rng), CONFIDENCE)),
  simulate("clusterMeanInterval", clusterSetting, clusterTruth, (_rng, i) =>
    clusterMeanInterval(clusterData(i), CONFIDENCE)),
  simulate("clusterBootstrapMean", `${clusterSetting}, ${LOOP_RESAMPLES} resamples`, clusterTruth, (_rng, i) =>
    clusterBootstrapMean(clusterData(i), boot("clusterBootstrapMean", i))),
  simulate(
    "pairedBootstrapMeanDiff",
    `n=${PAIRED_N} pairs, item sd ${PAIRED_ITEM_SD}, noise sd ${PAIRED_NOISE_SD}, ${LOOP_RESAMPLES} resamples`,
    PAIRED_TRUE_DIFF,
    (rng, i) => {
      const { a, b } = pairedData(rng);
      return pairedBootstrapMeanDiff(a, b, boot("pairedBootstrapMeanDiff", i));
    },
  ),
  simulate("newcombeDiffInterval", `n1=n2=${NEWCOMBE_N}, p1=${NEWCOMBE_P1}, p2=${NEWCOMBE_P2}`, NEWCOMBE_P1 - NEWCOMBE_P2, (rng) => {
    const x1 = binomial(rng, NEWCOMBE_N, NEWCOMBE_P1);
    const x2 = binomial(rng, NEWCOMBE_N, NEWCOMBE_P2);
    return newcombeDiffInterval(x1, NEWCOMBE_N, x2, NEWCOMBE_N, CONFIDENCE);
  }),
  simulate("spearmanInterval", `n=${SPEARMAN_N} bivariate normal pairs, r=${SPEARMAN_R}`, (6 / Math.PI) * Math.asin(SPEARMAN_R / 2), (rng) => {
    const { x, y } = correlatedNormals(rng);
    return spearmanInterval(x, y, CONFIDENCE);
  }),
];
const seconds = (performance.now() - started) / 1000;

for (const r of rows) {
  const verdict = r.ok ? "ok" : "OUT OF RANGE";
  const figures = `coverage ${r.coverage.toFixed(3)}  mean width ${r.meanWidth.toFixed(4)}  truth ${r.truth.toFixed(4)}`;
  console.log(`${r.method.padEnd(24)} ${figures}  (${r.setting})  ${verdict}`);
}
const pass = rows.every((r) => r.ok);
console.log(
  JSON.stringify({
    datasets: DATASETS,
    confidence: CONFIDENCE,
    accepted: [COVERAGE_MIN, COVERAGE_MAX],
    seed: SIMULATION_SEED,
    bootstrapResamples: LOOP_RESAMPLES,
    seconds: Number(seconds.toFixed(2)),
    coverage: Object.fromEntries(rows.map((r) => [r.method, r.coverage])),
    pass,
  }),
);
if (!pass) process.exitCode = 1;
