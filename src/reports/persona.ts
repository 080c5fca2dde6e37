/**
 * @module reports/persona: the persona-diagnostic report of a run: per-dimension match rates with CIs, the
 * deltas against the base model, and projectability against the endpoint's constitution (our
 * operationalisation; see docs/projectability.md).
 */
import { BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, percentileInterval } from "../stats/bootstrap";
import { holmAvailable, pairedClusterComparison } from "../stats/inference";
import { mean } from "../stats/descriptive";
import { clusterMeanInterval } from "../stats/intervals";
import { createRng } from "../stats/rng";
import { pairedTTest } from "../stats/tests";
import { cosine, projectionLength } from "../stats/vector";
import { type Constitution, constitutions, signatureSimilarity, signatureVector } from "../suites/constitutions";
import { CANONICAL_DIMENSIONS } from "../suites/persona";

/** One scored (or unparseable) sample of a persona item. */
export interface PersonaSample {
  suiteVersionId: string;
  itemKey: string;
  dimension: string;
  status: string;
  /** P(matching behaviour); null when the answer could not be parsed. */
  score: number | null;
  pYes: number | null;
}

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
  ciMethod: string;
}

/** Per item: the mean score over its scored samples. */
function itemMeans(samples: PersonaSample[]): Map<string, Map<string, number[]>> {
  const byDim = new Map<string, Map<string, number[]>>();
  for (const s of samples) {
    if (s.score == null) continue;
    if (!byDim.has(s.dimension)) byDim.set(s.dimension, new Map());
    const items = byDim.get(s.dimension)!;
    const k = `${s.suiteVersionId}|${s.itemKey}`;
    if (!items.has(k)) items.set(k, []);
    items.get(k)!.push(s.score);
  }
  return byDim;
}

export function summarizeDimensions(samples: PersonaSample[], samplesPerItem: number): DimensionSummary[] {
  const byDim = itemMeans(samples);
  const dims = [...new Set(samples.map((s) => s.dimension))];
  const order = (d: string) => {
    const i = (CANONICAL_DIMENSIONS as readonly string[]).indexOf(d);
    return i < 0 ? 99 : i;
  };
  dims.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return dims.map((dimension) => {
    const mine = samples.filter((s) => s.dimension === dimension);
    const clusters = [...(byDim.get(dimension)?.values() ?? [])];
    const ci = clusters.length ? clusterMeanInterval(clusters) : { estimate: NaN, lo: NaN, hi: NaN, n: 0 };
    const scored = mine.filter((s) => s.score != null);
    const yes = scored.map((s) => s.pYes).filter((p): p is number => p != null);
    return {
      dimension,
      matchRate: ci.estimate,
      // A rate's interval cannot leave [0, 1]; the t-interval can with few items, so it is clipped.
      lo: Math.max(0, ci.lo),
      hi: Math.min(1, ci.hi),
      n: scored.length,
      items: clusters.length,
      unparseable: mine.filter((s) => s.status === "done" && s.score == null).length,
      failed: mine.filter((s) => s.status === "failed").length,
      pending: mine.filter((s) => s.status === "pending").length,
      acquiescence: yes.length ? mean(yes) : null,
      ciMethod: samplesPerItem > 1 ? "t-interval over item means (clustered by item)" : "t-interval over items",
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
function pairedItems(model: Map<string, number[]>, base: Map<string, number[]>) {
  const keys = [...model.keys()].filter((k) => base.has(k)).sort();
  return { keys, a: keys.map((k) => mean(model.get(k)!)), b: keys.map((k) => mean(base.get(k)!)) };
}

export function dimensionDeltas(model: PersonaSample[], base: PersonaSample[]): DimensionDelta[] {
  const m = itemMeans(model);
  const b = itemMeans(base);
  const out: DimensionDelta[] = [];
  for (const dimension of [...m.keys()].filter((d) => b.has(d))) {
    const p = pairedItems(m.get(dimension)!, b.get(dimension)!);
    if (p.keys.length < 2) continue;
    const dropped = m.get(dimension)!.size + b.get(dimension)!.size - 2 * p.keys.length;
    const c = pairedClusterComparison(p.keys.map((k, i) => ({ cluster: k, a: p.a[i], b: p.b[i] })), { rate: true, dropped });
    const t = pairedTTest(p.a.map((x, i) => x - p.b[i]));
    out.push({ dimension, delta: c.estimate!, lo: c.lo!, hi: c.hi!, pValue: c.p!, tPValue: t.pValue, pairedItems: p.keys.length, dropped, valid: c.valid, test: c.test, ciMethod: c.method, ...(c.reason ? { reason: c.reason } : {}) });
  }
  out.sort((x, y) => CANONICAL_DIMENSIONS.indexOf(x.dimension as never) - CANONICAL_DIMENSIONS.indexOf(y.dimension as never));
  // Several dimensions are tested in one report: Holm-adjust across them (docs/statistics.md).
  const adjusted = holmAvailable(out.map((d) => d.pValue));
  return out.map((d, i) => ({ ...d, pHolm: adjusted[i] ?? undefined }));
}

export interface Projectability {
  constitution: string;
  signatureVersion: number;
  label: string;
  cosine: { estimate: number; lo: number; hi: number };
  projectionLength: { estimate: number; lo: number; hi: number };
  expectations: {
    held: number;
    n: number;
    share: number;
    checks: { kind: "sign" | "contrast"; description: string; estimate: number; lo: number; hi: number; holds: boolean }[];
  };
  identification: {
    /** Share of bootstrap resamples in which the model's own constitution has the highest cosine. */
    ownRanksFirst: number;
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
export function projectability(model: PersonaSample[], base: PersonaSample[], own: Constitution): Projectability | { unavailable: string } {
  const m = itemMeans(model);
  const b = itemMeans(base);
  const dims = CANONICAL_DIMENSIONS as readonly string[];
  const missing = dims.filter((d) => !m.has(d) || !b.has(d));
  if (missing.length) return { unavailable: `needs all four canonical dimensions in both runs; missing ${missing.join(", ")}` };
  const pairs = dims.map((d) => pairedItems(m.get(d)!, b.get(d)!));
  if (pairs.some((p) => p.keys.length < 2)) return { unavailable: "needs at least two paired items per dimension" };
  const all = [...constitutions().values()];
  const sigs = all.map(signatureVector);
  const ownIdx = all.findIndex((c) => c.id === own.id);
  const ownSig = sigs[ownIdx];
  const levelOf = (d: string, levels: number[]) => levels[dims.indexOf(d)];

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
  const boot = { cos: [] as number[], proj: [] as number[], deltas: dims.map(() => [] as number[]), contrasts: own.signature.contrasts.map(() => [] as number[]) };
  let ownFirst = 0;
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    const idx = pairs.map((p) => Int32Array.from({ length: p.a.length }, () => Math.floor(rng() * p.a.length)));
    const s = point(idx);
    const cosines = sigs.map((sig) => cosine(s.delta, sig));
    boot.cos.push(cosines[ownIdx]);
    boot.proj.push(projectionLength(s.delta, ownSig));
    s.delta.forEach((d, i) => boot.deltas[i].push(d));
    own.signature.contrasts.forEach((c, i) => boot.contrasts[i].push(levelOf(c.higher, s.level) - levelOf(c.lower, s.level)));
    if (cosines.every((cv, i) => i === ownIdx || cv < cosines[ownIdx])) ownFirst++;
  }
  const ci = (samples: number[], estimate: number) => ({ estimate, ...percentileInterval(samples.filter(Number.isFinite)) });

  const checks: Projectability["expectations"]["checks"] = [];
  dims.forEach((d, i) => {
    const w = own.signature.weights[d as keyof Constitution["signature"]["weights"]];
    if (!w) return;
    const c = ci(boot.deltas[i], obs.delta[i]);
    const holds = w > 0 ? c.lo > 0 : c.hi < 0;
    checks.push({ kind: "sign", description: `${d} ${w > 0 ? "rises" : "falls"} against the base`, ...c, holds });
  });
  own.signature.contrasts.forEach((con, i) => {
    const c = ci(boot.contrasts[i], levelOf(con.higher, obs.level) - levelOf(con.lower, obs.level));
    checks.push({ kind: "contrast", description: `${con.higher} above ${con.lower}`, ...c, holds: c.lo > 0 });
  });
  const held = checks.filter((c) => c.holds).length;
  const ranking = all.map((c, i) => ({ constitution: c.id, cosine: cosine(obs.delta, sigs[i]) })).sort((x, y) => y.cosine - x.cosine);
  return {
    constitution: own.id,
    signatureVersion: own.signature.version,
    label: "ours: projectability operationalisation (docs/projectability.md); not a published formula",
    cosine: ci(boot.cos, cosine(obs.delta, ownSig)),
    projectionLength: ci(boot.proj, projectionLength(obs.delta, ownSig)),
    expectations: { held, n: checks.length, share: checks.length ? held / checks.length : NaN, checks },
    identification: { ownRanksFirst: ownFirst / BOOTSTRAP_RESAMPLES, ranking, similarity: signatureSimilarity() },
    resamples: BOOTSTRAP_RESAMPLES,
    seed: BOOTSTRAP_SEED,
  };
}
