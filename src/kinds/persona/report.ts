/**
 * @module kinds/persona/report: the persona-diagnostic report of a run: per-dimension match rates with CIs, the
 * deltas against the base model, and projectability against the endpoint's constitution (our
 * operationalisation; see docs/projectability.md).
 */
import { BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, percentileInterval } from "../../stats/bootstrap";
import { clusteredMeanOfSums, type Estimate, holmAvailable, LABEL_ALPHA, pairedClusterComparison } from "../../stats/inference";
import { tQuantile, tSf } from "../../stats/distributions";
import { mean, variance } from "../../stats/descriptive";
import { tMeanInterval } from "../../stats/intervals";
import { createRng } from "../../stats/rng";
import { pairedTTest } from "../../stats/tests";
import { cosine, projectionLength } from "../../stats/vector";
import { type Constitution, constitutions, signatureSimilarity, signatureVector } from "../../suites/constitutions";
import { CANONICAL_DIMENSIONS } from "./format";

import type { PersonaItemStats, PersonaSample } from "../../db/queries/reports";

export type { PersonaItemStats, PersonaSample };

export interface DimensionSummary {
  dimension: string;
  matchRate: number;
  lo: number;
  hi: number;
  /** Scored samples. */
  n: number;
  items: number;
  unparseable: number;
  failed: number;
  pending: number;
  /** Mean normalised P(yes): a yes-biased model shows up here, not as principle (Perez et al. 2022 balance keys). */
  acquiescence: number | null;
  /** The acquiescence mean with n, items and its 95% CI over items (t over item means), or the reason it has none. */
  acquiescenceInterval: Estimate;
  ciMethod: string;
}

/** Per dimension and item (`<suite version>|<item>`): the count and sum of the item's scores. */
function itemSums(items: PersonaItemStats[]): Map<string, Map<string, { n: number; sum: number }>> {
  const byDim = new Map<string, Map<string, { n: number; sum: number }>>();
  for (const it of items) {
    if (!it.scored) continue;
    if (!byDim.has(it.dimension)) byDim.set(it.dimension, new Map());
    byDim.get(it.dimension)!.set(`${it.suiteVersionId}|${it.itemKey}`, { n: it.scored, sum: it.scoreSum });
  }
  return byDim;
}

/** Per-dimension match rates from the run's items (personaItemStats: per-item sums, one row per item). */
export function summarizeDimensions(items: PersonaItemStats[], samplesPerItem: number): DimensionSummary[] {
  const byDim = itemSums(items);
  const dims = [...new Set(items.map((s) => s.dimension))];
  const order = (d: string) => {
    const i = (CANONICAL_DIMENSIONS as readonly string[]).indexOf(d);
    return i < 0 ? 99 : i;
  };
  dims.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return dims.map((dimension) => {
    const mine = items.filter((s) => s.dimension === dimension);
    const clusters = [...(byDim.get(dimension)?.values() ?? [])];
    const means = clusters.map((c) => c.sum / c.n);
    const t = tMeanInterval(means);
    let ci = clusters.length ? { estimate: t.estimate, lo: t.lo, hi: t.hi } : { estimate: NaN, lo: NaN, hi: NaN };
    // Every item at the same value (typically 0 or 1): the t-interval has zero width; use the boundary-aware
    // clustered-rate interval there instead (issue 11: never zero width when n is finite).
    const degenerate = clusters.length >= 1 && ci.lo === ci.hi;
    if (degenerate) {
      const e = clusteredMeanOfSums(clusters, { rate: true });
      ci = { ...ci, lo: e.lo ?? NaN, hi: e.hi ?? NaN };
    }
    const total = (f: (s: PersonaItemStats) => number) => mine.reduce((a, s) => a + f(s), 0);
    const scored = total((s) => s.scored);
    return {
      dimension,
      matchRate: ci.estimate,
      // A rate's interval cannot leave [0, 1]; the t-interval can with few items, so it is clipped.
      lo: Math.max(0, ci.lo),
      hi: Math.min(1, ci.hi),
      n: scored,
      items: clusters.length,
      unparseable: total((s) => s.unparseable),
      failed: total((s) => s.failed),
      pending: total((s) => s.pending),
      acquiescence: scored ? total((s) => s.yesSum) / scored : null,
      // A mean P(yes): the t-interval over few items is clipped to [0, 1].
      acquiescenceInterval: clusteredMeanOfSums(
        mine.map((s) => ({ n: s.scored, sum: s.yesSum })),
        { bounds: [0, 1] },
      ),
      ciMethod: degenerate
        ? "every item at the same value: Wilson / Korn-Graubard interval over items (boundary-aware)"
        : samplesPerItem > 1
          ? "t-interval over item means (clustered by item)"
          : "t-interval over items",
    };
  });
}

export interface DimensionDelta {
  dimension: string;
  delta: number;
  lo: number;
  hi: number;
  /** Exact sign-flip permutation test over paired items (src/stats/inference.ts; docs/statistics.md). */
  pValue: number;
  /** The paired t-test on the same per-item differences, for comparison. */
  tPValue: number;
  /** `pValue` Holm-adjusted across the report's dimensions. */
  pHolm?: number;
  pairedItems: number;
  /** Scored items of either run without a partner in the other. */
  dropped: number;
  /** Whether the test may carry a label at this number of items (at least MIN_LABEL_CLUSTERS). */
  valid: boolean;
  test: string;
  ciMethod: string;
  reason?: string;
}

/** Items of one dimension present in both runs, as aligned arrays of item means. */
function pairedItems(model: Map<string, { n: number; sum: number }>, base: Map<string, { n: number; sum: number }>) {
  const keys = [...model.keys()].filter((k) => base.has(k)).sort();
  const meanOf = (c: { n: number; sum: number }) => c.sum / c.n;
  return { keys, a: keys.map((k) => meanOf(model.get(k)!)), b: keys.map((k) => meanOf(base.get(k)!)) };
}

export function dimensionDeltas(model: PersonaItemStats[], base: PersonaItemStats[]): DimensionDelta[] {
  const m = itemSums(model);
  const b = itemSums(base);
  const out: DimensionDelta[] = [];
  for (const dimension of [...m.keys()].filter((d) => b.has(d))) {
    const p = pairedItems(m.get(dimension)!, b.get(dimension)!);
    if (p.keys.length < 2) continue;
    const dropped = m.get(dimension)!.size + b.get(dimension)!.size - 2 * p.keys.length;
    const c = pairedClusterComparison(
      p.keys.map((k, i) => ({ cluster: k, a: p.a[i], b: p.b[i] })),
      { rate: true, dropped },
    );
    const t = pairedTTest(p.a.map((x, i) => x - p.b[i]));
    out.push({
      dimension,
      delta: c.estimate!,
      lo: c.lo!,
      hi: c.hi!,
      pValue: c.p!,
      tPValue: t.pValue,
      pairedItems: p.keys.length,
      dropped,
      valid: c.valid,
      test: c.test,
      ciMethod: c.method,
      ...(c.reason ? { reason: c.reason } : {}),
    });
  }
  out.sort((x, y) => CANONICAL_DIMENSIONS.indexOf(x.dimension as never) - CANONICAL_DIMENSIONS.indexOf(y.dimension as never));
  // Several dimensions are tested in one report: Holm-adjust across them (docs/statistics.md).
  const adjusted = holmAvailable(out.map((d) => d.pValue));
  return out.map((d, i) => ({ ...d, pHolm: adjusted[i] ?? undefined }));
}

/** "No change" on a zero-weight dimension: the 90% interval of its change lies within ±0.05 match rate (ours; TOST, Schuirmann 1987). */
export const UNCHANGED_BOUND = 0.05;

/** Welch-Satterthwaite degrees of freedom of the difference of two means. */
function welchDf(x: number[], y: number[]): number {
  const a = variance(x) / x.length;
  const b = variance(y) / y.length;
  const df = (a + b) ** 2 / ((a * a) / (x.length - 1) + (b * b) / (y.length - 1));
  return Number.isFinite(df) && df > 0 ? df : Math.min(x.length, y.length) - 1;
}

export interface Projectability {
  constitution: string;
  signatureVersion: number;
  label: string;
  /** The headline figure: the projection length (signed change along the signature) with its CI. */
  headline: "projectionLength";
  /** A description, not an inference: biased toward 0 with few items and its percentile interval under-covers (docs/projectability.md). */
  cosine: { estimate: number; lo: number; hi: number; role: "description"; note: string };
  projectionLength: { estimate: number; lo: number; hi: number; items: number[]; method: string };
  expectations: {
    held: number;
    n: number;
    /** held / n; no interval: the checks are not independent samples. */
    share: number;
    shareReason: string;
    checks: {
      kind: "sign" | "contrast" | "unchanged";
      description: string;
      estimate: number;
      lo: number;
      hi: number;
      holds: boolean;
      p?: number | null;
      pHolm?: number | null;
      test: string;
    }[];
    family: string;
  };
  identification: {
    /** Share of bootstrap resamples in which the model's own constitution has the highest cosine. */
    ownRanksFirst: number;
    /** The same share under the permutation null (item differences sign-flipped at random: no training effect). */
    ownRanksFirstNull: number;
    nullDraws: number;
    /** Point-estimate cosine with every constitution's signature, best first. */
    ranking: { constitution: string; cosine: number }[];
    similarity: { ids: string[]; matrix: number[][] };
  };
  resamples: number;
  seed: number;
}

/**
 * Projectability of a model onto its constitution's signature (ours; Del Pinal et al. 2026 name the idea but
 * publish no formula). Paired bootstrap over items within each dimension; one shared resample drives every
 * statistic so the cosine, projection, contrasts and identification agree with one another.
 */
export function projectability(
  model: PersonaItemStats[],
  base: PersonaItemStats[],
  own: Constitution,
  candidates: Constitution[] = [...constitutions().values()],
): Projectability | { unavailable: string } {
  const m = itemSums(model);
  const b = itemSums(base);
  const dims = CANONICAL_DIMENSIONS as readonly string[];
  const missing = dims.filter((d) => !m.has(d) || !b.has(d));
  if (missing.length) return { unavailable: `needs all four canonical dimensions in both runs; missing ${missing.join(", ")}` };
  const pairs = dims.map((d) => pairedItems(m.get(d)!, b.get(d)!));
  if (pairs.some((p) => p.keys.length < 2)) return { unavailable: "needs at least two paired items per dimension" };
  // Every constitution the service knows (built-in and custom) competes in the identification; the own one always does.
  const all = candidates.some((c) => c.id === own.id) ? candidates : [...candidates, own];
  const sigs = all.map(signatureVector);
  const ownIdx = all.findIndex((c) => c.id === own.id);
  const ownSig = sigs[ownIdx];

  const point = (idx: (number[] | Int32Array)[] | null) => {
    const delta: number[] = [];
    const level: number[] = [];
    pairs.forEach((p, di) => {
      const n = p.a.length;
      let sa = 0;
      let sb = 0;
      for (let i = 0; i < n; i++) {
        const j = idx ? idx[di][i] : i;
        sa += p.a[j];
        sb += p.b[j];
      }
      delta.push((sa - sb) / n);
      level.push(sa / n);
    });
    return { delta, level };
  };

  const obs = point(null);
  const rng = createRng(BOOTSTRAP_SEED);
  const boot = { cos: [] as number[], proj: [] as number[], deltas: dims.map(() => [] as number[]) };
  let ownFirst = 0;
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    const idx = pairs.map((p) => Int32Array.from({ length: p.a.length }, () => Math.floor(rng() * p.a.length)));
    const s = point(idx);
    const cosines = sigs.map((sig) => cosine(s.delta, sig));
    boot.cos.push(cosines[ownIdx]);
    boot.proj.push(projectionLength(s.delta, ownSig));
    s.delta.forEach((d, i) => boot.deltas[i].push(d));
    if (cosines.every((cv, i) => i === ownIdx || cv < cosines[ownIdx])) ownFirst++;
  }
  const ci = (samples: number[], estimate: number) => ({ estimate, ...percentileInterval(samples.filter(Number.isFinite)) });
  // Chance level of "ranks first" under no training effect: flip the sign of each item's difference at random.
  const nullRng = createRng(BOOTSTRAP_SEED + 1);
  let nullFirst = 0;
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    const delta = pairs.map((p) => {
      let s = 0;
      for (let i = 0; i < p.a.length; i++) s += (nullRng() < 0.5 ? -1 : 1) * (p.a[i] - p.b[i]);
      return s / p.a.length;
    });
    const cosines = sigs.map((sig) => cosine(delta, sig));
    if (cosines.every((cv, i) => i === ownIdx || cv < cosines[ownIdx])) nullFirst++;
  }

  // Expected signs and base-relative contrasts are one Holm family of sign-flip tests over items; a check holds when
  // its Holm-adjusted p < LABEL_ALPHA in the expected direction. Zero-weight dimensions are checked for "no change"
  // by equivalence: the 90% interval (TOST at 0.05) inside ±UNCHANGED_BOUND.
  const checks: Projectability["expectations"]["checks"] = [];
  const tested: { check: Projectability["expectations"]["checks"][number]; p: number | null; direction: 1 | -1 }[] = [];
  const diffsOf = (i: number) => pairs[i].keys.map((k, j) => ({ cluster: k, a: pairs[i].a[j], b: pairs[i].b[j] }));
  dims.forEach((d, i) => {
    const w = own.signature.weights[d as keyof Constitution["signature"]["weights"]];
    const c = pairedClusterComparison(diffsOf(i), { rate: true });
    if (!w) {
      const c90 = pairedClusterComparison(diffsOf(i), { rate: true, level: 0.9 });
      const holds = c90.lo != null && c90.hi != null && c90.lo > -UNCHANGED_BOUND && c90.hi < UNCHANGED_BOUND;
      checks.push({
        kind: "unchanged",
        description: `${d} stays within ±${UNCHANGED_BOUND} of the base`,
        estimate: c.estimate ?? NaN,
        lo: c90.lo ?? NaN,
        hi: c90.hi ?? NaN,
        holds,
        test: `equivalence: 90% ${c90.method} inside ±${UNCHANGED_BOUND} (TOST at 0.05)`,
      });
      return;
    }
    const check = {
      kind: "sign" as const,
      description: `${d} ${w > 0 ? "rises" : "falls"} against the base`,
      estimate: c.estimate ?? NaN,
      lo: c.lo ?? NaN,
      hi: c.hi ?? NaN,
      holds: false,
      p: c.p,
      test: `${c.test}; 95% CI: ${c.method}`,
    };
    checks.push(check);
    tested.push({ check, p: c.p, direction: w > 0 ? 1 : -1 });
  });
  own.signature.contrasts.forEach((con) => {
    // Base-relative: change in `higher` minus change in `lower` (the item sets differ, so this is unpaired across
    // dimensions: Welch-style t-interval on the two mean changes, and a z test on it).
    const hi = pairs[dims.indexOf(con.higher)];
    const lo = pairs[dims.indexOf(con.lower)];
    const dh = hi.a.map((x, j) => x - hi.b[j]);
    const dl = lo.a.map((x, j) => x - lo.b[j]);
    const est = mean(dh) - mean(dl);
    const se = Math.sqrt(variance(dh) / dh.length + variance(dl) / dl.length);
    const df = welchDf(dh, dl);
    const half = tQuantile(0.975, df) * se;
    const p = se > 0 ? Math.min(1, 2 * tSf(Math.abs(est / se), df)) : est === 0 ? 1 : 0;
    const check = {
      kind: "contrast" as const,
      description: `${con.higher} rises more than ${con.lower} against the base`,
      estimate: est,
      lo: est - half,
      hi: est + half,
      holds: false,
      p,
      test: `Welch t on the difference of mean item changes (df ${df.toFixed(1)})`,
    };
    checks.push(check);
    tested.push({ check, p, direction: 1 });
  });
  const adjusted = holmAvailable(tested.map((t) => t.p));
  tested.forEach((t, i) => {
    t.check.pHolm = adjusted[i];
    t.check.holds = adjusted[i] != null && adjusted[i]! < LABEL_ALPHA && Math.sign(t.check.estimate) === t.direction;
  });
  const held = checks.filter((c) => c.holds).length;
  const ranking = all.map((c, i) => ({ constitution: c.id, cosine: cosine(obs.delta, sigs[i]) })).sort((x, y) => y.cosine - x.cosine);
  return {
    constitution: own.id,
    signatureVersion: own.signature.version,
    label: "ours: projectability operationalisation (docs/projectability.md); not a published formula",
    headline: "projectionLength",
    cosine: {
      ...ci(boot.cos, cosine(obs.delta, ownSig)),
      role: "description",
      note: "a description of direction, not a test: biased toward 0 with few items per dimension and its percentile interval under-covers (issue 11); read projectionLength and the checks",
    },
    projectionLength: {
      ...ci(boot.proj, projectionLength(obs.delta, ownSig)),
      items: pairs.map((p) => p.keys.length),
      method: "95% percentile interval, paired bootstrap over items within each dimension",
    },
    expectations: {
      held,
      n: checks.length,
      share: checks.length ? held / checks.length : NaN,
      shareReason: "no interval: the checks are not independent samples",
      checks,
      family: `signs and contrasts: one Holm family (alpha ${LABEL_ALPHA}); zero-weight dimensions: equivalence within ±${UNCHANGED_BOUND}`,
    },
    identification: {
      ownRanksFirst: ownFirst / BOOTSTRAP_RESAMPLES,
      ownRanksFirstNull: nullFirst / BOOTSTRAP_RESAMPLES,
      nullDraws: BOOTSTRAP_RESAMPLES,
      ranking,
      similarity: signatureSimilarity(all),
    },
    resamples: BOOTSTRAP_RESAMPLES,
    seed: BOOTSTRAP_SEED,
  };
}
