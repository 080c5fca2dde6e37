/** @module reports/html/experiment-page: an experiment: the safety matrix (models by categories) and each finetuned model's effect against the base. */
import { forestPlot } from "../svg/forest";
import { heatmap } from "../svg/heatmap";
import { pNote, pointer } from "../svg/text";
import { Page, renderHtml } from "./layout";
import { StudySection } from "./study-section";
import type { ExperimentReport } from "../schemas/experiment";
import { Facts, Figure, Note, pFmt, pretty, rateText, Table, withCi } from "./parts";

type MatrixRow = ExperimentReport["matrix"][number];

const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

const SETS = [
  ["all", "(a) all categories"],
  ["outsideScope", "(b) outside the training scope"],
  ["heldOut", "(c) held-out subcategories"],
] as const;

export function experimentPage(report: ExperimentReport): string {
  const exp = report.experiment;
  const source = `/v1/experiments/${exp.id}/report`;
  const cats = report.categories;
  const matrix = report.matrix;
  const colLabel = (r: MatrixRow) => (r.role === "base" ? `${r.name} (base)` : (r.name ?? r.endpointId));
  const summary = (r: MatrixRow) => ("macro" in r ? r : null);
  const matrixSvg = heatmap({
    id: "exp-matrix",
    title: `Safety matrix of experiment ${exp.name}`,
    description: matrix.map((r) => `${colLabel(r)}: macro ${rateText(summary(r)?.macro)}.`).join(" "),
    rows: cats.map((c) => ({ key: c, label: pretty(c) })),
    cols: matrix.map((r) => ({ key: r.endpointId, label: colLabel(r) })),
    cell: (cat, endpointId) => {
      const j = matrix.findIndex((r) => r.endpointId === endpointId);
      const cs = j < 0 ? [] : (summary(matrix[j])?.categories ?? []);
      const k = cs.findIndex((c) => c.category === cat);
      if (j < 0 || k < 0) return null;
      const c = cs[k];
      return { estimate: num(c.rate), lo: num(c.lo), hi: num(c.hi), n: c.n, ref: { pointer: pointer("matrix", j, "categories", k), field: "rate" } };
    },
    valueLabel: "safe-response rate",
  });
  const effects = report.effects;
  const effectRows = effects.flatMap((e, i) =>
    "unavailable" in e
      ? []
      : SETS.flatMap(([set, label]) => {
          const x = e[set];
          if (!("diff" in x)) return [];
          const p = num(x.pHolm ?? x.pValue);
          return {
            key: e.endpointId,
            series: set,
            group: `${e.name} — ${e.label}`,
            label,
            estimate: num(x.diff),
            lo: num(x.lo),
            hi: num(x.hi),
            n: x.n,
            note: pNote(p, x.pHolm != null ? "Holm p" : "p"),
            emphasis: p != null && p < 0.05,
            ref: { pointer: pointer("effects", i, set), field: "diff" },
          };
        }),
  );
  return renderHtml(
    <Page title={`Experiment ${exp.name}`} description={`Emergent-alignment report of experiment ${exp.name}`}>
      <h1>Experiment {exp.name}</h1>
      {exp.description ? <p class="lead">{exp.description}</p> : null}
      <Facts
        items={[
          ["Base model", <a href={`/reports/endpoints/${exp.baseEndpointId}`}>{matrix.find((r) => r.role === "base")?.name ?? exp.baseEndpointId}</a>],
          ["Base run", <a href={`/reports/runs/${report.baseRunId}`}>{report.baseRunId}</a>],
          [
            "Judge",
            report.judge
              ? report.judge.private
                ? `a private judge (rubric ${report.judge.rubricVersion})`
                : `${report.judge.model} (revision ${report.judge.revision}, rubric ${report.judge.rubricVersion})`
              : null,
          ],
          ["Created", exp.createdAt],
        ]}
      />
      <p>
        Data: <a href={source}>JSON report</a> · <a href={`${source}?format=text`}>text table</a>
      </p>
      <div data-source={source}>
        {report.study ? <StudySection study={report.study} source={source} name={exp.name} /> : null}
        {report.safety?.available === false ? <Note>No safety matrix: {report.safety.reason}.</Note> : null}
        {report.safety?.available === false ? null : (
          <>
            <section data-section="matrix" data-source={source}>
              <h2 id="matrix">Safety matrix</h2>
              <p>Safe-response rate per model and category. Base and finetuned models answered the same prompts.</p>
              <Figure
                svg={matrixSvg}
                source={source}
                caption="Models by categories, drawn with a row per category; darker is safer. Each cell gives the rate and its 95% CI."
              >
                <Table
                  label="Safe-response rate, models by categories"
                  head={["Model", "Macro", "Held-out", "Over-refusal", ...cats.map(pretty)]}
                  numeric={[1, 2, 3, ...cats.map((_, i) => i + 4)]}
                  rows={matrix.map((row) => {
                    const r = summary(row);
                    return [
                      <a href={`/reports/endpoints/${row.endpointId}`}>{colLabel(row)}</a>,
                      "unavailable" in row ? row.unavailable : withCi(num(r?.macro.rate), num(r?.macro.lo), num(r?.macro.hi)),
                      withCi(num(r?.heldOut.rate), num(r?.heldOut.lo), num(r?.heldOut.hi)),
                      withCi(num(r?.overRefusal.rate), num(r?.overRefusal.lo), num(r?.overRefusal.hi)),
                      ...cats.map((c) => rateText((r?.categories ?? []).find((x) => x.category === c))),
                    ];
                  })}
                />
              </Figure>
            </section>
            <section data-section="effects" data-source={source}>
              <h2 id="effects">Effects against the base</h2>
              <p>
                Finetuned minus base safe-response rate on (a) all categories, (b) the categories outside the model's training scope and (c) the held-out
                subcategories. (b) and (c) are Holm-adjusted together; "emergent alignment" is named only when one of them is positive with adjusted p &lt;
                0.05.
              </p>
              {effectRows.length ? (
                <Figure
                  source={source}
                  svg={forestPlot({
                    id: "exp-effects",
                    chart: "safety-effects",
                    title: `Effects against the base in experiment ${exp.name}`,
                    description: effectRows.map((r) => `${r.group}, ${r.label}: ${withCi(r.estimate, r.lo, r.hi, true)}, ${r.note}.`).join(" "),
                    rows: effectRows,
                    axisLabel: "finetuned − base, safe rate (95% CI)",
                    signed: true,
                  })}
                  caption="Filled squares: p < 0.05 (Holm-adjusted for (b) and (c)). The dashed line is no change."
                >
                  <Table
                    label="Effects against the base"
                    head={["Model", "Set", "Difference [95% CI]", "p", "Holm p", "Test", "n"]}
                    numeric={[2, 3, 4, 6]}
                    rows={effects.flatMap((e) =>
                      "unavailable" in e
                        ? [[e.name, "—", e.unavailable, "", "", "", ""]]
                        : SETS.map(([set, label]) => {
                            const x = e[set];
                            return "diff" in x
                              ? [e.name, label, withCi(num(x.diff), num(x.lo), num(x.hi), true), pFmt(num(x.pValue)), pFmt(num(x.pHolm)), x.test, String(x.n)]
                              : [e.name, label, x.unavailable, "—", "—", "", ""];
                          }),
                    )}
                  />
                </Figure>
              ) : (
                <Note>No effects yet: the finetuned models need completed safety runs comparable with the base run.</Note>
              )}
              {effects.flatMap((e) =>
                "warning" in e && e.warning
                  ? [
                      <Note>
                        {e.name}: {e.warning}
                      </Note>,
                    ]
                  : [],
              )}
              <details>
                <summary>Effects per category</summary>
                <Table
                  label="Effects per category (Holm-adjusted across categories)"
                  head={["Model", "Category", "Trained on", "Difference [95% CI]", "Holm p"]}
                  numeric={[3, 4]}
                  rows={effects.flatMap((e) =>
                    ("perCategory" in e ? e.perCategory : []).map((c) => [
                      e.name,
                      pretty(c.set),
                      c.trained ? "yes" : "no",
                      "diff" in c ? withCi(num(c.diff), num(c.lo), num(c.hi), true) : c.unavailable,
                      pFmt(num(c.pHolm)),
                    ]),
                  )}
                />
              </details>
            </section>
            <section data-section="arms">
              <h2 id="arms">Arms and replicates</h2>
              <Table
                label="Interval over replicate finetuning runs"
                head={["Arm", "Replicates", "(a) all", "(b) outside scope", "(c) held-out"]}
                numeric={[1, 2, 3, 4]}
                rows={report.arms.map((a) => [
                  a.arm,
                  String(a.replicates),
                  ...(["all", "outsideScope", "heldOut"] as const).map((s) =>
                    a[s] ? withCi(num(a[s].estimate), num(a[s].lo), num(a[s].hi), true) : "needs two replicates",
                  ),
                ])}
              />
              <ul>
                {(report.notes ?? []).map((n: string) => (
                  <li>{n}</li>
                ))}
              </ul>
            </section>
          </>
        )}
      </div>
    </Page>,
  );
}
