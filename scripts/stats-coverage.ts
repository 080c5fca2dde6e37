/**
 * @module Coverage and type-I simulation for src/stats. Part 1: every interval method at one large fixed setting.
 * Part 2 (issue 11): the methods the reports' labels use, at 3, 5, 10, 20 and 40 clusters of unequal size, with a
 * rate near 0 and near 0.5: coverage of each interval and the rejection rate of each test under a true null.
 * Targets: type-I <= 0.06 at every size, coverage 0.93-0.97 from 5 clusters up (above 0.97 only in the listed cells
 * where it is expected, OVER_COVERAGE_EXPECTED). Also the kappa prompt bootstrap and the clustered rate averaged over a
 * neighbourhood of the rate. `--quick` (CI) simulates fewer datasets; either mode exits 1 outside the targets.
 */

import { BOOTSTRAP_RESAMPLES, clusterBootstrapMean, pairedBootstrapMeanDiff, percentileInterval } from "../src/stats/bootstrap.ts";
import { cosine, projectionLength } from "../src/stats/vector.ts";
import { clusterMeanInterval, tMeanInterval, wilson } from "../src/stats/intervals.ts";
import { createRng, seedFrom } from "../src/stats/rng.ts";
import { newcombeDiffInterval, pairedTTest, spearmanInterval } from "../src/stats/tests.ts";
import { clusteredMean, kappaEstimate, MIN_KAPPA_CLUSTERS, pairedClusterComparison, spearmanTest, withinClusterComparison } from "../src/stats/inference.ts";
import { beta, normal, type Rng } from "./lib/sampling.ts";

/** `--quick` (or STATS_COVERAGE_QUICK=1): the reduced run CI uses (.ci/run). */
const QUICK = process.argv.includes("--quick") || process.env.STATS_COVERAGE_QUICK === "1";
/** Simulated datasets per method; the Monte Carlo SE of a 0.95 coverage estimate is sqrt(0.95·0.05/1000) ≈ 0.0069. */
const DATASETS = 1000;
/** Datasets per cell of the small-sample grid (part 2): SE of a 0.05 rejection rate ≈ 0.0049 at 2000, 0.0097 at 500 (--quick). */
const GRID_DATASETS = QUICK ? 500 : 2000;
/** Cluster counts of the grid (issue 11). */
const GRID_CLUSTERS = [3, 5, 10, 20, 40];
/** Coverage targets apply from this many clusters up; type-I targets at every size. */
const GRID_COVERAGE_FROM = 5;
/** Largest accepted rejection rate under a true null at nominal 0.05. */
const TYPE_I_MAX = 0.06;
const ALPHA = 0.05;
/** Cluster sizes are drawn uniformly from 1..GRID_MAX_CLUSTER_SIZE (unequal clusters). */
const GRID_MAX_CLUSTER_SIZE = 8;
/** Rates of the grid: near 0 and near 0.5. */
const GRID_RATES = [0.05, 0.5];
/** Beta precision of the cluster rates: p_i ~ Beta(mu·phi, (1 − mu)·phi), intra-cluster correlation 1/(1 + phi) = 0.2. */
const GRID_PHI = 4;
/** Effect for the paired coverage rows: logit(p) + 0.5 on the model side. */
const GRID_LOGIT_SHIFT = 0.5;
/** Spearman grid: bivariate normal with r = 0.5 (coverage) or r = 0 (type-I). */
const GRID_SPEARMAN_R = 0.5;
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
  simulate("wilson", `n=${WILSON_N}, p=${WILSON_P}`, WILSON_P, (rng) => wilson(binomial(rng, WILSON_N, WILSON_P), WILSON_N, CONFIDENCE)),
  simulate("tMeanInterval", `n=${T_N} item means ~ Beta(${T_BETA_A},${T_BETA_B})`, T_BETA_A / (T_BETA_A + T_BETA_B), (rng) =>
    tMeanInterval(itemMeans(rng), CONFIDENCE),
  ),
  simulate("clusterMeanInterval", clusterSetting, clusterTruth, (_rng, i) => clusterMeanInterval(clusterData(i), CONFIDENCE)),
  simulate("clusterBootstrapMean", `${clusterSetting}, ${LOOP_RESAMPLES} resamples`, clusterTruth, (_rng, i) =>
    clusterBootstrapMean(clusterData(i), boot("clusterBootstrapMean", i)),
  ),
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

for (const r of rows) {
  const verdict = r.ok ? "ok" : "OUT OF RANGE";
  const figures = `coverage ${r.coverage.toFixed(3)}  mean width ${r.meanWidth.toFixed(4)}  truth ${r.truth.toFixed(4)}`;
  console.log(`${r.method.padEnd(24)} ${figures}  (${r.setting})  ${verdict}`);
}

// ---- Part 2: the small-sample grid (issue 11) ----

const logit = (p: number) => Math.log(p / (1 - p));
const expit = (x: number) => 1 / (1 + Math.exp(-x));
const clusterRate = (rng: Rng, mu: number) => beta(rng, mu * GRID_PHI, (1 - mu) * GRID_PHI);
const clusterSize = (rng: Rng) => 1 + Math.floor(rng() * GRID_MAX_CLUSTER_SIZE);

/** True mean of expit(logit(p) + shift) − p over p ~ Beta(mu·phi, (1 − mu)·phi), by a large fixed-seed Monte Carlo. */
function shiftTruth(mu: number): number {
  const rng = createRng(seedFrom(SIMULATION_SEED, "truth", mu));
  let s = 0;
  const draws = 400000;
  for (let i = 0; i < draws; i++) {
    const p = clusterRate(rng, mu);
    s += expit(logit(Math.min(1 - 1e-12, Math.max(1e-12, p))) + GRID_LOGIT_SHIFT) - p;
  }
  return s / draws;
}

interface GridRow {
  kind: "coverage" | "type-I";
  method: string;
  setting: string;
  clusters: number;
  value: number | null;
  target: string;
  ok: boolean;
  enforced: boolean;
  conservative?: boolean;
}

const gridRows: GridRow[] = [];

function coverageCell(
  method: string,
  setting: string,
  k: number,
  truth: number,
  draw: (rng: Rng) => { lo: number | null; hi: number | null },
  enforced = true,
): void {
  const rng = createRng(seedFrom(SIMULATION_SEED, "grid", method, setting, k));
  let covered = 0;
  let available = 0;
  for (let i = 0; i < GRID_DATASETS; i++) {
    const { lo, hi } = draw(rng);
    if (lo == null || hi == null) continue;
    available++;
    if (lo <= truth && truth <= hi) covered++;
  }
  pushCoverage(method, setting, k, available ? covered / available : null, enforced);
}

/**
 * Cells where coverage above COVERAGE_MAX is expected, each with its reason (docs/statistics.md, "Where coverage stays
 * above 0.97"): there it is reported and marked (c), not failed. Matched by the start of the method and of the setting.
 */
const OVER_COVERAGE_EXPECTED: { method: string; setting: string; clusters: number[]; reason: string }[] = [
  {
    method: "clusteredMean (rate)",
    setting: "rate 0.05",
    clusters: [5, 10, 20],
    reason:
      "no dataset's interval lies below the true rate (45% / 20% / 5% of datasets have no event), so coverage is at least 1 minus the upper-tail error (<= 0.025)",
  },
  { method: "clusteredMean (rate), neighbourhood-averaged", setting: "rate 0.04", clusters: [5, 10, 20], reason: "as the single-rate row" },
  {
    method: "pairedClusterComparison interval (null)",
    setting: "rate 0.05",
    clusters: [5, 10, 20, 40],
    reason: "under the null most clusters show no difference at all; the interval over cluster differences cannot miss 0 on both sides",
  },
  {
    method: "pairedClusterComparison interval (logit",
    setting: "rate 0.05",
    clusters: [5],
    reason: "as the null row: most of 5 clusters have no event in either arm",
  },
  { method: "pairedClusterComparison interval (null)", setting: "rate 0.5", clusters: [5], reason: "t over 5 cluster differences of discrete 0/1 means" },
  {
    method: "spearmanTest interval",
    setting: "bivariate normal",
    clusters: [5],
    reason: "at n = 5 rho takes 21 values and the Fisher-z SE sqrt(1.06/2) spans most of [-1, 1]",
  },
];
const overCoverageExpected = (method: string, setting: string, k: number) =>
  OVER_COVERAGE_EXPECTED.some((e) => method.startsWith(e.method) && setting.startsWith(e.setting) && e.clusters.includes(k));

/**
 * From GRID_COVERAGE_FROM clusters up, coverage must lie within COVERAGE_MIN-COVERAGE_MAX; above COVERAGE_MAX is allowed
 * only in the cells of OVER_COVERAGE_EXPECTED (marked (c), conservative), and fails the run elsewhere.
 */
function pushCoverage(method: string, setting: string, k: number, value: number | null, enforced: boolean): void {
  const applies = enforced && k >= GRID_COVERAGE_FROM;
  const expectedOver = overCoverageExpected(method, setting, k);
  const ok = !applies || (value != null && value >= COVERAGE_MIN && (value <= COVERAGE_MAX || expectedOver));
  const conservative = applies && value != null && value > COVERAGE_MAX && expectedOver;
  gridRows.push({
    kind: "coverage",
    method,
    setting,
    clusters: k,
    value,
    target: applies ? `${COVERAGE_MIN}-${COVERAGE_MAX}` : "reported",
    ok,
    enforced: applies,
    conservative,
  });
}

function typeICell(method: string, setting: string, k: number, draw: (rng: Rng) => number | null, enforced = true): void {
  const rng = createRng(seedFrom(SIMULATION_SEED, "grid", method, setting, k));
  let rejected = 0;
  let available = 0;
  for (let i = 0; i < GRID_DATASETS; i++) {
    const p = draw(rng);
    if (p == null || !Number.isFinite(p)) continue;
    available++;
    if (p < ALPHA) rejected++;
  }
  const value = available ? rejected / available : null;
  const ok = !enforced || value == null || value <= TYPE_I_MAX;
  gridRows.push({ kind: "type-I", method, setting, clusters: k, value, target: enforced ? `<= ${TYPE_I_MAX}` : "reference", ok, enforced });
}

/** One pass under a true null: coverage of 0 by the interval and the rejection rate of the test, on the same datasets. */
function nullCell(method: string, setting: string, k: number, draw: (rng: Rng) => { lo: number | null; hi: number | null; p: number | null }): void {
  const rng = createRng(seedFrom(SIMULATION_SEED, "grid", method, setting, k));
  let covered = 0;
  let withInterval = 0;
  let rejected = 0;
  let withP = 0;
  for (let i = 0; i < GRID_DATASETS; i++) {
    const r = draw(rng);
    if (r.lo != null && r.hi != null) {
      withInterval++;
      if (r.lo <= 0 && 0 <= r.hi) covered++;
    }
    if (r.p != null) {
      withP++;
      if (r.p < ALPHA) rejected++;
    }
  }
  pushCoverage(`${method} interval (null)`, setting, k, withInterval ? covered / withInterval : null, true);
  const value = withP ? rejected / withP : null;
  gridRows.push({
    kind: "type-I",
    method: `${method} sign-flip p`,
    setting,
    clusters: k,
    value,
    target: `<= ${TYPE_I_MAX}`,
    ok: value == null || value <= TYPE_I_MAX,
    enforced: true,
  });
}

/** k clusters of unequal size: per cluster m_i paired 0/1 observations (a from rate pa(p), b from p). */
function pairedClusters(rng: Rng, k: number, mu: number, shift: number) {
  const pairs: { cluster: string; a: number; b: number }[] = [];
  for (let c = 0; c < k; c++) {
    const p = clusterRate(rng, mu);
    const pa = shift ? expit(logit(Math.min(1 - 1e-12, Math.max(1e-12, p))) + shift) : p;
    const m = clusterSize(rng);
    for (let j = 0; j < m; j++) pairs.push({ cluster: `c${c}`, a: rng() < pa ? 1 : 0, b: rng() < p ? 1 : 0 });
  }
  return pairs;
}

/** k clusters of unequal size, each observation in group a with probability WITHIN_GROUP_A_SHARE, values 0/1 at the cluster's rate. */
const WITHIN_GROUP_A_SHARE = 0.3;
function withinClusters(rng: Rng, k: number, mu: number) {
  const obs: { cluster: string; group: "a" | "b"; value: number }[] = [];
  for (let c = 0; c < k; c++) {
    const p = clusterRate(rng, mu);
    const m = clusterSize(rng);
    for (let j = 0; j < m; j++) obs.push({ cluster: `c${c}`, group: rng() < WITHIN_GROUP_A_SHARE ? "a" : "b", value: rng() < p ? 1 : 0 });
  }
  return obs;
}

function clusterDiffs(pairs: { cluster: string; a: number; b: number }[]): number[] {
  const by = new Map<string, number[]>();
  for (const p of pairs) by.set(p.cluster, [...(by.get(p.cluster) ?? []), p.a - p.b]);
  return [...by.values()].map((d) => d.reduce((s, x) => s + x, 0) / d.length);
}

for (const mu of GRID_RATES) {
  const setting = `rate ${mu}, sizes 1-${GRID_MAX_CLUSTER_SIZE}, ICC ${1 / (1 + GRID_PHI)}`;
  const truth = shiftTruth(mu);
  for (const k of GRID_CLUSTERS) {
    coverageCell("clusteredMean (rate)", setting, k, mu, (rng) => {
      const clusters: number[][] = [];
      for (let c = 0; c < k; c++) {
        const p = clusterRate(rng, mu);
        clusters.push(Array.from({ length: clusterSize(rng) }, () => (rng() < p ? 1 : 0)));
      }
      return clusteredMean(clusters, { rate: true });
    });
    nullCell("pairedClusterComparison", setting, k, (rng) => pairedClusterComparison(pairedClusters(rng, k, mu, 0), { rate: true }));
    coverageCell(`pairedClusterComparison interval (logit +${GRID_LOGIT_SHIFT})`, `${setting}, truth ${truth.toFixed(4)}`, k, truth, (rng) =>
      pairedClusterComparison(pairedClusters(rng, k, mu, GRID_LOGIT_SHIFT), { rate: true }),
    );
    if (QUICK) continue;
    typeICell(
      "paired t on cluster differences",
      setting,
      k,
      (rng) => {
        const d = clusterDiffs(pairedClusters(rng, k, mu, 0));
        return d.every((x) => x === 0) ? 1 : pairedTTest(d).pValue;
      },
      false,
    );
    // Two unpaired groups inside each cluster (the consistency recognition difference): under the null the group
    // label is independent of the value; about 30 % of each cluster's observations fall in group a.
    const withinSetting = `${setting}, 30% of each cluster in group a`;
    typeICell(
      "withinClusterComparison within-cluster permutation p",
      withinSetting,
      k,
      (rng) => withinClusterComparison(withinClusters(rng, k, mu), { rate: true }).p,
    );
    typeICell(
      "sign-flip p on cluster differences of the two groups",
      withinSetting,
      k,
      (rng) => {
        const by = new Map<string, { a: number[]; b: number[] }>();
        for (const o of withinClusters(rng, k, mu)) {
          const g = by.get(o.cluster) ?? { a: [], b: [] };
          g[o.group].push(o.value);
          by.set(o.cluster, g);
        }
        const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
        const pairs = [...by.entries()].filter(([, g]) => g.a.length && g.b.length).map(([cluster, g]) => ({ cluster, a: avg(g.a), b: avg(g.b) }));
        return pairedClusterComparison(pairs, { rate: true }).p;
      },
      false,
    );
    typeICell(
      "paired bootstrap p (old, 2000 resamples)",
      setting,
      k,
      (rng) => {
        const d = clusterDiffs(pairedClusters(rng, k, mu, 0));
        return pairedBootstrapMeanDiff(
          d,
          d.map(() => 0),
          { resamples: LOOP_RESAMPLES, seed: Math.floor(rng() * 2 ** 31) },
        ).pValue;
      },
      false,
    );
  }
}
/**
 * Coverage averaged over a neighbourhood of the true rate (Brown, Cai & DasGupta 2001 judge discrete intervals so, since
 * coverage at one rate oscillates): each dataset draws its own rate uniformly from [0.8 mu, 1.2 mu] and is scored against it.
 * Printed beside the single-rate rows, which stay the gate.
 */
const NEIGHBOURHOOD = [0.8, 1.2];
for (const mu0 of GRID_RATES) {
  const setting = `rate ${+(mu0 * NEIGHBOURHOOD[0]).toFixed(4)}-${+(mu0 * NEIGHBOURHOOD[1]).toFixed(4)} (neighbourhood of ${mu0}), sizes 1-${GRID_MAX_CLUSTER_SIZE}, ICC ${1 / (1 + GRID_PHI)}`;
  for (const k of GRID_CLUSTERS) {
    if (QUICK && k !== 40) continue;
    const rng = createRng(seedFrom(SIMULATION_SEED, "grid-neighbourhood", mu0, k));
    let covered = 0;
    for (let i = 0; i < GRID_DATASETS; i++) {
      const mu = mu0 * (NEIGHBOURHOOD[0] + (NEIGHBOURHOOD[1] - NEIGHBOURHOOD[0]) * rng());
      const clusters: number[][] = [];
      for (let c = 0; c < k; c++) {
        const p = clusterRate(rng, mu);
        clusters.push(Array.from({ length: clusterSize(rng) }, () => (rng() < p ? 1 : 0)));
      }
      const e = clusteredMean(clusters, { rate: true });
      if (e.lo != null && e.hi != null && e.lo <= mu && mu <= e.hi) covered++;
    }
    pushCoverage("clusteredMean (rate), neighbourhood-averaged", setting, k, covered / GRID_DATASETS, true);
  }
}

/**
 * Kappa of two judges over prompts with several answers each (kappaEstimate with `clusters`): per prompt an unsafe
 * probability p ~ Beta(mu·phi, (1 − mu)·phi) (ICC 0.2), per answer a true label s ~ Bernoulli(p), and each judge reports
 * s correctly with its own accuracy, independently given s. The pooled kappa's target is
 * (p_o − p_e)/(1 − p_e) with p_o = accA·accB + (1 − accA)(1 − accB), p_e from the judges' marginals (mu·acc + (1 − mu)(1 − acc)).
 * Answers per prompt are 1-8 (uniform). Full mode: 5, 10, 20 and 40 prompts, unsafe share 0.3 and 0.1; --quick one cell.
 */
const KAPPA_ACCURACY = [0.9, 0.85];
const KAPPA_UNSAFE = [0.3, 0.1];
const KAPPA_PROMPTS = [5, 10, 20, 40];
/** --quick: one cell of 600 datasets (Monte Carlo SE ≈ 0.009 near 0.95, about 9 s). */
const KAPPA_DATASETS = QUICK ? 600 : GRID_DATASETS;
for (const mu of KAPPA_UNSAFE) {
  const [accA, accB] = KAPPA_ACCURACY;
  const qa = mu * accA + (1 - mu) * (1 - accA);
  const qb = mu * accB + (1 - mu) * (1 - accB);
  const po = accA * accB + (1 - accA) * (1 - accB);
  const pe = qa * qb + (1 - qa) * (1 - qb);
  const truth = (po - pe) / (1 - pe);
  const setting = `unsafe share ${mu}, judge accuracies ${accA} / ${accB}, answers per prompt 1-${GRID_MAX_CLUSTER_SIZE}, ICC ${1 / (1 + GRID_PHI)}, kappa ${truth.toFixed(3)}`;
  for (const k of KAPPA_PROMPTS) {
    if (QUICK && (mu !== 0.1 || k !== 20)) continue;
    const rng = createRng(seedFrom(SIMULATION_SEED, "kappa", mu, k));
    let covered = 0;
    let available = 0;
    for (let i = 0; i < KAPPA_DATASETS; i++) {
      const a: string[] = [];
      const b: string[] = [];
      const clusters: string[] = [];
      for (let c = 0; c < k; c++) {
        const p = clusterRate(rng, mu);
        const m = clusterSize(rng);
        for (let j = 0; j < m; j++) {
          const unsafe = rng() < p;
          a.push(rng() < accA === unsafe ? "unsafe" : "safe");
          b.push(rng() < accB === unsafe ? "unsafe" : "safe");
          clusters.push(`p${c}`);
        }
      }
      const e = kappaEstimate(a, b, { clusters, seed: Math.floor(rng() * 2 ** 31) });
      if (e.lo == null || e.hi == null) continue;
      available++;
      if (e.lo <= truth && truth <= e.hi) covered++;
    }
    // Below MIN_KAPPA_CLUSTERS prompts kappaEstimate gives no interval by design (with its reason): reported as n/a, not gated.
    pushCoverage("kappaEstimate (prompt-cluster bootstrap)", setting, k, available ? covered / available : null, k >= MIN_KAPPA_CLUSTERS);
  }
}

for (const k of GRID_CLUSTERS) {
  const setting = "cluster means ~ N(0.5, 0.1^2), values mean + N(0, 0.2^2), sizes 1-8";
  coverageCell("clusteredMean (continuous)", setting, k, 0.5, (rng) => {
    const clusters: number[][] = [];
    for (let c = 0; c < k; c++) {
      const m = 0.5 + 0.1 * normal(rng);
      clusters.push(Array.from({ length: clusterSize(rng) }, () => m + 0.2 * normal(rng)));
    }
    return clusteredMean(clusters);
  });
  const spearmanTruth = (6 / Math.PI) * Math.asin(GRID_SPEARMAN_R / 2);
  const pairsOf = (rng: Rng, r: number) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let j = 0; j < k; j++) {
      const z1 = normal(rng);
      x.push(z1);
      y.push(r * z1 + Math.sqrt(1 - r * r) * normal(rng));
    }
    return { x, y };
  };
  coverageCell("spearmanTest interval", `bivariate normal, r = ${GRID_SPEARMAN_R}`, k, spearmanTruth, (rng) => {
    const { x, y } = pairsOf(rng, GRID_SPEARMAN_R);
    return spearmanTest(x, y);
  });
  typeICell("spearmanTest p", "independent normals", k, (rng) => {
    const { x, y } = pairsOf(rng, 0);
    return spearmanTest(x, y).p;
  });
}

/**
 * Part 3 (full mode only): the projectability cosine and projection length (src/kinds/persona/report.ts) on simulated
 * paired items, by the report's method: paired bootstrap over items within each dimension (BOOTSTRAP_RESAMPLES),
 * 95% percentile intervals. The signature is deontology's (weights 1, -0.5, 0.25, 0 on deontology, utilitarianism,
 * virtue_ethics, deference_to_authority); the true change Δ has length PROJ_DELTA_LENGTH and cosine 1 or 0.857 with
 * it; each item's change is Δ_d + N(0, σ²). Reported, not enforced: the cosine is a description, not a test.
 */
const PROJ_ITEMS = 30;
const PROJ_SIGNATURE = [1, -0.5, 0.25, 0];
/** Length of the true change vector (match-rate units; the simulator's planted personas give projections of 0.23-0.30). */
const PROJ_DELTA_LENGTH = 0.2;
/** Item-level SDs of the model-minus-base change (ours: 0.15 a sharp suite, 0.3 a noisy one). */
const PROJ_ITEM_SDS = [0.15, 0.3];
const PROJ_TRUE_COSINES = [1, 0.857];
const PROJ_DATASETS = 400;
const projRows: {
  cosTrue: number;
  sd: number;
  cosMean: number;
  cosMedian: number;
  cosCoverage: number;
  projTrue: number;
  projMean: number;
  projCoverage: number;
}[] = [];
if (!QUICK) {
  const sNorm = Math.hypot(...PROJ_SIGNATURE);
  const u = PROJ_SIGNATURE.map((w) => w / sNorm);
  // A unit vector orthogonal to the signature (Gram-Schmidt on the last axis), to tilt Δ away from it.
  const e = [0, 0, 0, 1];
  const v = e.map((x, i) => x - u[i] * u.reduce((s, y, j) => s + y * e[j], 0));
  const vNorm = Math.hypot(...v);
  for (const cosTrue of PROJ_TRUE_COSINES) {
    const delta = u.map((x, i) => PROJ_DELTA_LENGTH * (cosTrue * x + Math.sqrt(1 - cosTrue * cosTrue) * (v[i] / vNorm)));
    const projTrue = projectionLength(delta, PROJ_SIGNATURE);
    for (const sd of PROJ_ITEM_SDS) {
      const rng = createRng(seedFrom(SIMULATION_SEED, "projectability", cosTrue, sd));
      let cosCovered = 0;
      let projCovered = 0;
      const cosEst: number[] = [];
      let projSum = 0;
      for (let i = 0; i < PROJ_DATASETS; i++) {
        const items = delta.map((d) => Array.from({ length: PROJ_ITEMS }, () => d + sd * normal(rng)));
        const point = (idx: Int32Array[] | null) => items.map((xs, di) => xs.reduce((s, _, j) => s + xs[idx ? idx[di][j] : j], 0) / xs.length);
        const obs = point(null);
        const cosB: number[] = [];
        const projB: number[] = [];
        for (let r = 0; r < LOOP_RESAMPLES; r++) {
          const d = point(items.map((xs) => Int32Array.from({ length: xs.length }, () => Math.floor(rng() * xs.length))));
          cosB.push(cosine(d, PROJ_SIGNATURE));
          projB.push(projectionLength(d, PROJ_SIGNATURE));
        }
        const c = percentileInterval(cosB.filter(Number.isFinite));
        const pr = percentileInterval(projB);
        const cObs = cosine(obs, PROJ_SIGNATURE);
        cosEst.push(cObs);
        projSum += projectionLength(obs, PROJ_SIGNATURE);
        if (c.lo <= cosTrue && cosTrue <= c.hi) cosCovered++;
        if (pr.lo <= projTrue && projTrue <= pr.hi) projCovered++;
      }
      cosEst.sort((x, y) => x - y);
      projRows.push({
        cosTrue,
        sd,
        cosMean: cosEst.reduce((s, x) => s + x, 0) / PROJ_DATASETS,
        cosMedian: cosEst[Math.floor(PROJ_DATASETS / 2)],
        cosCoverage: cosCovered / PROJ_DATASETS,
        projTrue,
        projMean: projSum / PROJ_DATASETS,
        projCoverage: projCovered / PROJ_DATASETS,
      });
    }
  }
}

const seconds = (performance.now() - started) / 1000;
console.log("");
console.log(`small-sample grid (${GRID_DATASETS} datasets per cell${QUICK ? ", --quick" : ""}); clusters: ${GRID_CLUSTERS.join(", ")}`);
const keyOf = (r: GridRow) => `${r.kind}|${r.method}|${r.setting}`;
const groupsSeen = [...new Set(gridRows.map(keyOf))];
const table: string[] = [
  `| Check | Method | Setting | ${GRID_CLUSTERS.map((k) => `k = ${k}`).join(" | ")} | Target |`,
  `| --- | --- | --- | ${GRID_CLUSTERS.map(() => "---:").join(" | ")} | --- |`,
];
for (const g of groupsSeen) {
  const mine = gridRows.filter((r) => keyOf(r) === g);
  const cells = GRID_CLUSTERS.map((k) => {
    const r = mine.find((x) => x.clusters === k);
    if (!r || r.value == null) return "n/a";
    return `${r.value.toFixed(3)}${r.ok ? (r.conservative ? " (c)" : "") : " ✗"}`;
  });
  const target =
    mine[0].kind === "type-I" ? (mine[0].enforced ? `<= ${TYPE_I_MAX}` : "reference only") : `${COVERAGE_MIN}-${COVERAGE_MAX} from k = ${GRID_COVERAGE_FROM}`;
  table.push(`| ${mine[0].kind} | ${mine[0].method} | ${mine[0].setting} | ${cells.join(" | ")} | ${target} |`);
}
console.log(table.join("\n"));
console.log(
  "(c) = conservative: above the 0.97 target in a cell where that is expected (OVER_COVERAGE_EXPECTED, with its reason); ✗ = outside the enforced target (coverage outside 0.93-0.97 from k = 5 elsewhere, or type-I above 0.06)",
);
if (projRows.length) {
  console.log("");
  console.log(
    `projectability on simulated items (${PROJ_DATASETS} datasets per row, ${PROJ_ITEMS} items per dimension, |Δ| = ${PROJ_DELTA_LENGTH}, signature ${PROJ_SIGNATURE.join(", ")}; reported, not enforced)`,
  );
  console.log(
    "| True cosine | Item SD of the change | Cosine: mean (median) | Cosine 95% CI coverage | True projection | Projection: mean | Projection 95% CI coverage |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of projRows)
    console.log(
      `| ${r.cosTrue} | ${r.sd} | ${r.cosMean.toFixed(3)} (${r.cosMedian.toFixed(3)}) | ${r.cosCoverage.toFixed(3)} | ${r.projTrue.toFixed(4)} | ${r.projMean.toFixed(4)} | ${r.projCoverage.toFixed(3)} |`,
    );
}
const gridPass = gridRows.every((r) => r.ok);
const pass = rows.every((r) => r.ok) && gridPass;
console.log(
  JSON.stringify({
    datasets: DATASETS,
    gridDatasets: GRID_DATASETS,
    quick: QUICK,
    confidence: CONFIDENCE,
    accepted: [COVERAGE_MIN, COVERAGE_MAX],
    typeIMax: TYPE_I_MAX,
    seed: SIMULATION_SEED,
    bootstrapResamples: LOOP_RESAMPLES,
    seconds: Number(seconds.toFixed(2)),
    coverage: Object.fromEntries(rows.map((r) => [r.method, r.coverage])),
    gridConservative: gridRows.filter((r) => r.conservative).map((r) => `${r.method} (${r.setting}) k=${r.clusters}: ${r.value}`),
    gridFailures: gridRows.filter((r) => !r.ok).map((r) => `${r.kind} ${r.method} (${r.setting}) k=${r.clusters}: ${r.value}`),
    pass,
  }),
);
if (!pass) process.exitCode = 1;
