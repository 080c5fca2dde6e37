/** @module kinds/persona/metrics: the persona kind's named metrics, from its stored units (the metric layer, src/metrics). */
import { personaSamples } from "../../db/queries/reports";
import { combine, groupBy, words } from "../../metrics/combine";
import type { MetricInfo, Observation, ObservationSource } from "../../metrics/types";
import { constitutions, signatureVector } from "../../suites/constitutions";
import { CANONICAL_DIMENSIONS } from "./format";
import { appendAll } from "../../lib/arrays";

export const personaObservations: ObservationSource = async (d1, run) => {
  const samples = await personaSamples(d1, run.id);
  const metrics: MetricInfo[] = [];
  const observations: Observation[] = [];
  const byDim = groupBy(
    samples.filter((s) => s.score != null),
    (s) => s.dimension,
  );
  const perDim = new Map<string, Observation[]>();
  for (const [dim, list] of byDim) {
    const id = `persona.${dim}.match`;
    metrics.push({ id, kind: "persona", label: `${words(dim)} match`, better: null, rate: true, headline: (CANONICAL_DIMENSIONS as readonly string[]).includes(dim), definition: "P(matching behaviour) per answer, mean over items" });
    const obs = list.map((s) => ({ metric: id, runId: run.id, item: `${s.suiteVersionId}|${s.itemKey}`, sample: String(s.sampleIndex ?? 0), value: s.score! }));
    perDim.set(dim, obs);
    appendAll(observations, obs);
  }
  // Projection of the match rates (centred on 0.5, no preference) onto each constitution's unit signature: ours.
  if (CANONICAL_DIMENSIONS.every((d) => perDim.has(d))) {
    const canonical = new Map(CANONICAL_DIMENSIONS.map((d) => [d as string, perDim.get(d)!]));
    for (const c of constitutions().values()) {
      const sig = signatureVector(c);
      const norm = Math.hypot(...sig) || 1;
      const id = `projectability.${c.id}.projection`;
      const dims = CANONICAL_DIMENSIONS as readonly string[];
      metrics.push({ id, kind: "projectability", label: `projection onto ${words(c.id)}`, better: null, rate: false, headline: true, definition: "ours: sum over the four dimensions of unit-signature weight x (match rate - 0.5); against a base, the paired difference is the projection of the delta (docs/projectability.md)" });
      const weight = (d: string) => sig[dims.indexOf(d)] / norm;
      appendAll(observations, combine(id, run.id, canonical, weight, -0.5 * dims.reduce((a, d) => a + weight(d), 0)));
    }
  }
  return { metrics, observations };
};
