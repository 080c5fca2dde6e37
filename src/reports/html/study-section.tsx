/** @module reports/html/study-section: an experiment's study for every suite kind: the metric matrix as a heat map with CIs, forest plots of each metric against the base, arms, member pairs and the persona matrix. */
import { forestPlot } from "../svg/forest";
import { heatmap } from "../svg/heatmap";
import { pNote, pointer } from "../svg/text";
import { Figure, Note, pFmt, pretty, Table, withCi } from "./parts";
import type { StudyReport } from "../schemas/experiment";

const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

export function StudySection(p: { study: StudyReport; source: string; name: string }) {
  const s = p.study;
  const { models, metrics, cells, vsBase } = s;
  const label = (m: StudyReport["models"][number]) => (m.role === "base" ? `${m.name} (base)` : (m.name ?? m.endpointId));
  const cellIndex = (endpointId: string, metric: string) => cells.findIndex((c) => c.endpointId === endpointId && c.id === metric);
  const rates = metrics.filter((m) => m.rate);
  const matrixSvg = rates.length
    ? heatmap({
        id: "study-matrix",
        title: `Metrics of experiment ${p.name}`,
        description: `${rates.length} rate metrics for ${models.length} models; the table below gives every cell with n and its 95% CI.`,
        rows: rates.map((m) => ({ key: m.id, label: m.label })),
        cols: models.map((m) => ({ key: m.endpointId, label: label(m) })),
        cell: (metric, endpointId) => {
          const i = cellIndex(endpointId, metric);
          if (i < 0) return null;
          const c = cells[i];
          return { estimate: num(c.estimate), lo: num(c.lo), hi: num(c.hi), n: c.n, ref: { pointer: pointer("study", "cells", i), field: "estimate" } };
        },
        valueLabel: "rate",
      })
    : null;
  const forests = metrics
    .map((m) => {
      const rows = vsBase
        .map((c, i) => ({ c, i }))
        .filter(({ c }) => c.id === m.id && c.estimate != null)
        .map(({ c, i }) => ({
          key: c.endpointId,
          label: models.find((x) => x.endpointId === c.endpointId)?.name ?? c.endpointId,
          estimate: num(c.estimate),
          lo: num(c.lo),
          hi: num(c.hi),
          n: c.n,
          note: pNote(num(c.pHolm), "Holm p"),
          emphasis: c.pHolm != null && c.pHolm < 0.05,
          ref: { pointer: pointer("study", "vsBase", i), field: "estimate" },
        }));
      return { m, rows };
    })
    .filter((f) => f.rows.length);
  return (
    <section data-section="study" data-source={p.source}>
      <h2 id="study">Every metric, every model</h2>
      <p>
        Each figure comes from the metric layer: estimate, n (scored samples), clusters (items) and a 95% CI. Kinds measured:{" "}
        {(s.kinds ?? []).join(", ") || "none yet"}.
      </p>
      {matrixSvg ? (
        <Figure svg={matrixSvg} source={p.source} caption="Rate metrics by models; darker is higher. Each cell gives the estimate and its 95% CI.">
          {null}
        </Figure>
      ) : null}
      <Table
        label="Models by metrics (estimate [95% CI], n)"
        head={["Metric", ...models.map(label)]}
        numeric={models.map((_, i) => i + 1)}
        rows={metrics.map((m) => [
          m.label,
          ...models.map((x) => {
            const c = cells[cellIndex(x.endpointId, m.id)];
            return c ? `${withCi(num(c.estimate), num(c.lo), num(c.hi))} n=${c.n}` : "—";
          }),
        ])}
      />
      <h3 id="study-vs-base">Against the base</h3>
      <p>Member minus base, paired on the (item, sample) pairs both runs have; p-values Holm-adjusted across each member's metrics.</p>
      {forests.length ? (
        forests.map(({ m, rows }) => (
          <Figure
            source={p.source}
            svg={forestPlot({
              id: `study-${m.id.replace(/[^a-z0-9]/gi, "-")}`,
              chart: "study-vs-base",
              title: `${m.label}: members against the base`,
              description: rows.map((r) => `${r.label}: ${withCi(r.estimate, r.lo, r.hi, true)}, ${r.note}.`).join(" "),
              rows,
              axisLabel: `member − base, ${m.label} (95% CI)`,
              signed: true,
            })}
            caption={`${m.label}. Filled squares: Holm p < 0.05. The dashed line is no change.`}
          >
            {null}
          </Figure>
        ))
      ) : (
        <Note>No paired comparisons yet: the members and the base need runs of the same suites.</Note>
      )}
      <Table
        label="Members against the base"
        head={["Model", "Metric", "Difference [95% CI]", "p", "Holm p", "Test", "Pairs", "Dropped"]}
        numeric={[2, 3, 4, 6, 7]}
        rows={vsBase.map((c) => [
          models.find((x) => x.endpointId === c.endpointId)?.name ?? c.endpointId,
          c.label,
          c.estimate == null ? (c.reason ?? "—") : withCi(num(c.estimate), num(c.lo), num(c.hi), true),
          pFmt(num(c.p)),
          pFmt(num(c.pHolm)),
          c.test,
          String(c.n),
          String(c.dropped),
        ])}
      />
      {s.compare && "pairs" in s.compare ? (
        <>
          <h3 id="study-compare">Members against each other: {s.compare.metric}</h3>
          <Table
            label={`Member pairs on ${s.compare.metric} (Holm across pairs)`}
            head={["Model", "Against", "Difference [95% CI]", "Holm p", "Pairs"]}
            numeric={[2, 3, 4]}
            rows={s.compare.pairs.map((c) => [
              models.find((x) => x.endpointId === c.endpointId)?.name,
              models.find((x) => x.endpointId === c.baseEndpointId)?.name,
              c.estimate == null ? (c.reason ?? "—") : withCi(num(c.estimate), num(c.lo), num(c.hi), true),
              pFmt(num(c.pHolm)),
              String(c.n),
            ])}
          />
        </>
      ) : s.compare ? (
        <Note>
          No member pairs on {s.compare.metric}: {s.compare.reason}.
        </Note>
      ) : null}
      <h3 id="study-arms">Arms</h3>
      <Table
        label="Per arm (replicates are the unit when there are two or more)"
        head={["Arm", "Metric", "Estimate [95% CI]", "Replicates", "Method"]}
        numeric={[2, 3]}
        rows={s.arms.map((a) => [
          a.arm,
          metrics.find((m) => m.id === a.metric)?.label ?? a.metric,
          withCi(num(a.estimate), num(a.lo), num(a.hi)),
          String(a.replicates),
          a.method,
        ])}
      />
      {(s.persona?.dimensions ?? []).length ? (
        <>
          <h3 id="study-persona">Persona matrix and signatures</h3>
          <Table
            label="Arms by persona dimensions (match rate [95% CI]), the base, and each constitution's signature weights"
            head={["Row", ...s.persona.dimensions.map(pretty)]}
            numeric={s.persona.dimensions.map((_: string, i: number) => i + 1)}
            rows={[
              ...s.persona.arms.map((a) => [a.arm, ...a.dimensions.map((d) => withCi(num(d.estimate), num(d.lo), num(d.hi)))]),
              ["base", ...s.persona.base.map((d) => withCi(num(d.estimate), num(d.lo), num(d.hi)))],
              ...s.persona.signatures.map((g) => [
                `signature: ${pretty(g.constitution)}`,
                ...s.persona.dimensions.map((d) => (g.weights[d] == null ? "—" : String(g.weights[d]))),
              ]),
            ]}
          />
          <Table
            label="Projectability per arm (cosine with the own constitution's signature; ours)"
            head={["Arm", "Cosine [95% CI]", "Replicates", "Method"]}
            numeric={[1, 2]}
            rows={s.projectability.arms.map((a) => [
              a.arm,
              a.estimate == null ? (a.reason ?? "—") : withCi(num(a.estimate), num(a.lo), num(a.hi), true),
              String(a.replicates),
              a.method,
            ])}
          />
        </>
      ) : null}
    </section>
  );
}
