/**
 * @module reports/html/run-sections: the sections of a run report (persona profile and change against the base,
 * safety rates, judge agreement, persona-consistency evidence), shared by the run and endpoint pages. Each
 * section names the JSON it draws (data-source), and every plotted value is carried as a data attribute.
 */
import type { Constitution } from "../../suites/constitutions";
import { forestPlot } from "../svg/forest";
import { heatmap } from "../svg/heatmap";
import { profileChart, profileSummary, type ProfileRow } from "../svg/profile";
import { pNote, pointer } from "../svg/text";
import { ConsistencySection, MisalignmentSections } from "../../kinds/consistency/html";
import { Facts, Figure, f2, Note, pFmt, pretty, rateText, signed2, Table, withCi } from "./parts";

type AnyReport = Record<string, any>;
type Dimension = NonNullable<RunReport["persona"]>["dimensions"][number];
import type { RunReport } from "../schemas/run";

const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

export interface SectionContext {
  /** The run report, typed by its OpenAPI schema (reports/schemas/run.ts). */
  report: RunReport;
  /** The JSON this section draws, e.g. /v1/runs/run_x/report. */
  source: string;
  /** Prefix for element ids, unique on the page. */
  idPrefix: string;
  modelLabel: string;
  baseLabel?: string | null;
  constitution?: Constitution;
  /** Heading level of the section titles (2 on a run page, 3 inside an endpoint page). */
  level?: 2 | 3;
}

function H(p: { level: 2 | 3; id?: string; children?: unknown }) {
  return p.level === 2 ? <h2 id={p.id}>{p.children as never}</h2> : <h3 id={p.id}>{p.children as never}</h3>;
}

/** The share of "yes" answers with its 95% CI and n (kinds/persona acquiescenceInterval). */
const acquiescenceText = (d: Dimension) =>
  rateText({
    estimate: num(d.acquiescenceInterval?.estimate),
    lo: num(d.acquiescenceInterval?.lo),
    hi: num(d.acquiescenceInterval?.hi),
    n: d.acquiescenceInterval?.n,
  });

export function PersonaSection(ctx: SectionContext) {
  const dims: Dimension[] = ctx.report.persona?.dimensions ?? [];
  if (!dims.length) return null;
  const level = ctx.level ?? 2;
  const cmp: NonNullable<RunReport["comparison"]> = ctx.report.comparison ?? { available: false, reason: "no comparison" };
  const baseDims: Dimension[] = cmp.available ? cmp.base : [];
  const weights = (ctx.constitution?.signature.weights ?? {}) as Record<string, number>;
  const rows: ProfileRow[] = dims.map((d, i) => {
    const j = baseDims.findIndex((x) => x.dimension === d.dimension);
    const b = baseDims[j];
    const expected = ctx.constitution && d.dimension in weights ? weights[d.dimension] : null;
    return {
      key: d.dimension,
      label: pretty(d.dimension),
      model: { estimate: num(d.matchRate), lo: num(d.lo), hi: num(d.hi), n: d.n, ref: { pointer: pointer("persona", "dimensions", i), field: "matchRate" } },
      base: cmp.available
        ? b
          ? { estimate: num(b.matchRate), lo: num(b.lo), hi: num(b.hi), n: b.n, ref: { pointer: pointer("comparison", "base", j), field: "matchRate" } }
          : null
        : undefined,
      expected,
      expectedRef:
        expected == null
          ? undefined
          : { source: `/v1/constitutions/${ctx.constitution!.id}`, pointer: pointer("signature", "weights", d.dimension), field: "" },
    };
  });
  const baseLabel = cmp.available ? (ctx.baseLabel ?? "base model") : null;
  const svg = profileChart({
    id: `${ctx.idPrefix}-profile`,
    title: `Persona profile of ${ctx.modelLabel}`,
    description: profileSummary(rows, ctx.modelLabel, baseLabel),
    modelLabel: ctx.modelLabel,
    baseLabel,
    constitutionLabel: ctx.constitution ? pretty(ctx.constitution.id) : null,
    rows,
  });
  const deltas = cmp.available ? cmp.deltas : [];
  const proj = cmp.available ? cmp.projectability : null;
  return (
    <section data-section="persona" data-source={ctx.source}>
      <H level={level} id={`${ctx.idPrefix}-persona`}>
        Persona profile
      </H>
      <p>
        Match rate per dimension: the probability that the model answers like a holder of that view, averaged over the suite's statements (half keyed to
        agreement, half to disagreement). Whiskers are 95% confidence intervals.
      </p>
      <Figure
        svg={svg}
        source={ctx.source}
        caption={
          <>
            {ctx.modelLabel} (filled) {baseLabel ? <>beside its base {baseLabel} (hollow)</> : null}
            {ctx.constitution ? (
              <>
                ; arrows give the change the {pretty(ctx.constitution.id)} signature (version {ctx.constitution.signature.version}) expects from the base.
              </>
            ) : (
              "."
            )}
          </>
        }
      >
        <Table
          label={`Persona match rates of ${ctx.modelLabel}`}
          head={[
            "Dimension",
            "Match rate [95% CI]",
            "n",
            "Items",
            "Unparseable",
            "Acquiescence [95% CI]",
            ...(baseLabel ? ["Base [95% CI]", "Base n", "Base acquiescence [95% CI]"] : []),
            ...(ctx.constitution ? ["Expected change"] : []),
          ]}
          numeric={[1, 2, 3, 4, 5, 6, 7, 8, 9]}
          rows={rows.map((r, i) => {
            const d = dims[i];
            const b = baseDims.find((x) => x.dimension === d.dimension);
            return [
              pretty(d.dimension),
              withCi(num(d.matchRate), num(d.lo), num(d.hi)),
              String(d.n),
              String(d.items),
              String(d.unparseable),
              acquiescenceText(d),
              ...(baseLabel
                ? [r.base ? withCi(r.base.estimate, r.base.lo, r.base.hi) : "—", r.base ? String(r.base.n) : "—", b ? acquiescenceText(b) : "—"]
                : []),
              ...(ctx.constitution
                ? [r.expected == null ? "—" : r.expected > 0 ? `rise (+${r.expected})` : r.expected < 0 ? `fall (${r.expected})` : "none (0)"]
                : []),
            ];
          })}
        />
      </Figure>
      {!cmp.available ? (
        <Note>No comparison with a base model: {cmp.reason || "none available"}.</Note>
      ) : (
        <>
          <H level={level === 2 ? 3 : 3} id={`${ctx.idPrefix}-deltas`}>
            Change against the base
          </H>
          <p>
            Difference from the base run <a href={`/reports/runs/${cmp.baseRunId}`}>{cmp.baseRunId}</a> on the same items: {cmp.test}. p-values are
            Holm-adjusted across the dimensions.
          </p>
          {deltas.length ? (
            <Figure
              source={ctx.source}
              svg={forestPlot({
                id: `${ctx.idPrefix}-deltas-chart`,
                chart: "persona-deltas",
                title: `Change of ${ctx.modelLabel} against its base, per dimension`,
                description: deltas
                  .map((d) => `${pretty(d.dimension)}: ${withCi(num(d.delta), num(d.lo), num(d.hi), true)}, Holm p ${pFmt(num(d.pHolm))}.`)
                  .join(" "),
                rows: deltas.map((d, i) => ({
                  ref: { pointer: pointer("comparison", "deltas", i), field: "delta", nField: "pairedItems" },
                  key: d.dimension,
                  series: "delta",
                  label: pretty(d.dimension),
                  estimate: num(d.delta),
                  lo: num(d.lo),
                  hi: num(d.hi),
                  n: d.pairedItems,
                  note: pNote(num(d.pHolm), "Holm p"),
                  emphasis: (num(d.pHolm) ?? 1) < 0.05,
                })),
                axisLabel: "model − base, match rate (95% CI)",
                signed: true,
              })}
              caption="Filled squares: Holm-adjusted p < 0.05. The dashed line is no change."
            >
              <Table
                label="Differences against the base"
                head={["Dimension", "Difference [95% CI]", "Paired items", "p (sign-flip)", "p (Holm)", "p (paired t)"]}
                numeric={[1, 2, 3, 4, 5]}
                rows={deltas.map((d) => [
                  pretty(d.dimension),
                  withCi(num(d.delta), num(d.lo), num(d.hi), true),
                  String(d.pairedItems),
                  pFmt(num(d.pValue)),
                  pFmt(num(d.pHolm)),
                  pFmt(num(d.tPValue)),
                ])}
              />
            </Figure>
          ) : (
            <Note>Too few paired items for a difference.</Note>
          )}
          <ProjectabilityPart proj={proj} level={level} idPrefix={ctx.idPrefix} />
        </>
      )}
    </section>
  );
}

function ProjectabilityPart(p: {
  proj: Extract<NonNullable<RunReport["comparison"]>, { available: true }>["projectability"] | null;
  level: 2 | 3;
  idPrefix: string;
}) {
  if (!p.proj) return null;
  if ("unavailable" in p.proj) return <Note>Projectability: {p.proj.unavailable}.</Note>;
  const x = p.proj;
  return (
    <div data-part="projectability">
      <h3 id={`${p.idPrefix}-projectability`}>Projectability onto {pretty(x.constitution)}</h3>
      <p class="muted">{x.label}</p>
      <Facts
        items={[
          ["Cosine with the signature", withCi(num(x.cosine.estimate), num(x.cosine.lo), num(x.cosine.hi))],
          ["Projection length", withCi(num(x.projectionLength.estimate), num(x.projectionLength.lo), num(x.projectionLength.hi))],
          ["Expectations held", `${x.expectations.held} of ${x.expectations.n}`],
          [
            "Own constitution ranks first",
            `${f2(num(x.identification.ownRanksFirst))} of ${x.resamples} bootstrap resamples (chance under no effect: ${f2(num(x.identification.ownRanksFirstNull))})`,
          ],
        ]}
      />
      <Table
        label="Expected signs and contrasts"
        head={["Expectation", "Estimate [95% CI]", "Holds"]}
        numeric={[1]}
        rows={x.expectations.checks.map((c) => [c.description, withCi(num(c.estimate), num(c.lo), num(c.hi), true), c.holds ? "yes" : "no"])}
      />
      <Table
        label="Cosine with each constitution's signature"
        head={["Constitution", "Cosine"]}
        numeric={[1]}
        rows={x.identification.ranking.map((r) => [pretty(r.constitution), signed2(num(r.cosine))])}
      />
    </div>
  );
}

export function SafetySection(ctx: SectionContext & { endpointId: string }) {
  const s = ctx.report.safety;
  if (!s) return null;
  const level = ctx.level ?? 2;
  const cats = s.categories;
  const summaryRows = [
    { key: "macro", label: "Macro average over categories", r: { rate: s.macro?.rate, lo: s.macro?.lo, hi: s.macro?.hi, n: null } as AnyReport },
    { key: "heldOut", label: "Held-out subcategories", r: s.heldOut as AnyReport },
    { key: "overRefusal", label: "Over-refusal (borderline set)", r: s.overRefusal as AnyReport },
  ];
  const summarySvg = forestPlot({
    id: `${ctx.idPrefix}-safety-summary`,
    chart: "safety-summary",
    title: `Safety summary of ${ctx.modelLabel}`,
    description: summaryRows.map((x) => `${x.label}: ${rateText(x.r)}.`).join(" "),
    rows: summaryRows.map((x) => ({
      key: x.key,
      series: x.key,
      label: x.label,
      estimate: num(x.r?.rate),
      lo: num(x.r?.lo),
      hi: num(x.r?.hi),
      n: x.r?.n ?? undefined,
      ref: { pointer: pointer("safety", x.key), field: "rate" },
    })),
    domain: [0, 1],
    reference: null,
    axisLabel: "rate (95% CI)",
  });
  const matrixSvg = heatmap({
    id: `${ctx.idPrefix}-safety-matrix`,
    title: `Safe-response rate of ${ctx.modelLabel} by category`,
    description: cats.map((c) => `${pretty(c.category)}: ${rateText(c)}.`).join(" "),
    rows: cats.map((c) => ({ key: c.category, label: pretty(c.category) })),
    cols: [{ key: ctx.endpointId, label: ctx.modelLabel }],
    cell: (row) => {
      const i = cats.findIndex((x) => x.category === row);
      const c = cats[i];
      return c ? { estimate: num(c.rate), lo: num(c.lo), hi: num(c.hi), n: c.n, ref: { pointer: pointer("safety", "categories", i), field: "rate" } } : null;
    },
    valueLabel: "safe-response rate",
  });
  const judge = s.judge;
  return (
    <section data-section="safety" data-source={ctx.source}>
      <H level={level} id={`${ctx.idPrefix}-safety`}>
        Safety
      </H>
      <p>
        {s.definition}. Judged by{" "}
        {judge?.private ? (
          "a private judge"
        ) : (
          <>
            <code>{judge?.model}</code> (revision {judge?.revision})
          </>
        )}{" "}
        with rubric <code>{judge?.rubricVersion}</code>.
      </p>
      <Figure svg={summarySvg} source={ctx.source} caption="Over-refusal is the share of benign look-alike prompts answered with a refusal: lower is better.">
        <Table
          label="Safety summary"
          head={["Measure", "Rate [95% CI]", "n", "Prompts", "Method"]}
          numeric={[1, 2, 3]}
          rows={summaryRows.map((x) => [
            x.label,
            withCi(num(x.r?.rate), num(x.r?.lo), num(x.r?.hi)),
            x.r?.n == null ? "—" : String(x.r.n),
            x.r?.prompts == null ? `${s.macro?.categories ?? 0} categories` : String(x.r.prompts),
            x.r?.method ?? "bootstrap over prompts within categories",
          ])}
        />
      </Figure>
      <Figure svg={matrixSvg} source={ctx.source} caption="Safe-response rate per category; darker is safer. Each cell gives the rate and its 95% CI.">
        <Table
          label="Safe-response rate per category"
          head={["Category", "Safe rate [95% CI]", "n", "Prompts", "Pending", "Failed", "Unparseable"]}
          numeric={[1, 2, 3, 4, 5, 6]}
          rows={cats.map((c) => [
            pretty(c.category),
            withCi(num(c.rate), num(c.lo), num(c.hi)),
            String(c.n),
            String(c.prompts),
            String(c.pending),
            String(c.failed),
            String(c.unparseable),
          ])}
        />
      </Figure>
      <details>
        <summary>Subcategories ({cats.reduce((a, c) => a + (c.subcategories?.length ?? 0), 0)})</summary>
        <Table
          label="Safe-response rate per subcategory"
          head={["Subcategory", "Category", "Held out", "Safe rate [95% CI]", "n"]}
          numeric={[3, 4]}
          rows={cats.flatMap((c) =>
            c.subcategories.map((sc) => [
              pretty(sc.subcategory),
              pretty(c.category),
              sc.heldOut ? "yes" : "no",
              withCi(num(sc.rate), num(sc.lo), num(sc.hi)),
              String(sc.n),
            ]),
          )}
        />
      </details>
      {s.excluded ? <p class="muted">{s.excluded} prompts flagged as excluded (for example copyright) are left out of the rates.</p> : null}
    </section>
  );
}

export function JudgeAgreementSection(ctx: SectionContext) {
  const a = ctx.report.judgeAgreement;
  if (!a) return null;
  return (
    <section data-section="judge-agreement" data-source={ctx.source}>
      <H level={ctx.level ?? 2} id={`${ctx.idPrefix}-judge`}>
        Judge agreement with our labels
      </H>
      <Facts
        items={[
          ["Items judged", `${a.judged} of ${a.items}`],
          ["Verdict agreement", `${f2(num(a.verdict.agreement))} [${f2(num(a.verdict.lo))}, ${f2(num(a.verdict.hi))}], κ = ${f2(num(a.verdict.kappa))}`],
          ["Safe/unsafe agreement", `${f2(num(a.safeUnsafe.agreement))}, κ = ${f2(num(a.safeUnsafe.kappa))}`],
          ["Harm within one point", f2(num(a.harmWithinOne))],
          ["Labels", a.labels],
        ]}
      />
    </section>
  );
}

/** The metric layer's figures of the run (the report's `metrics`): every named metric of every kind it covers. */
export function MetricsSection(ctx: SectionContext) {
  const metrics = ctx.report.metrics ?? [];
  if (!metrics.length) return null;
  return (
    <section data-section="metrics" data-source={ctx.source}>
      <H level={ctx.level ?? 2} id={`${ctx.idPrefix}-metrics`}>
        Named metrics
      </H>
      <p>
        Every named metric of the kinds this run covers, as the metrics API, the leaderboard and the exports give it: estimate with its 95% CI, n answers and
        the clusters the interval resamples.
      </p>
      <Table
        label="Named metrics (estimate [95% CI], n, clusters)"
        head={["Metric", "Estimate [95% CI]", "n", "Clusters", "Method"]}
        numeric={[1, 2, 3]}
        rows={metrics.map((m) => [
          <>
            {m.label} <code>{m.id}</code>
          </>,
          withCi(num(m.estimate), num(m.lo), num(m.hi)),
          String(m.n),
          String(m.clusters),
          m.reason ? `${m.method} (${m.reason})` : m.method,
        ])}
      />
    </section>
  );
}

/** Every section a run report has, in order. */
export function RunSections(ctx: SectionContext & { endpointId: string }) {
  return (
    <>
      <PersonaSection {...ctx} />
      <SafetySection {...ctx} />
      <JudgeAgreementSection {...ctx} />
      <ConsistencySection report={ctx.report} source={ctx.source} idPrefix={ctx.idPrefix} level={ctx.level ?? 2} />
      <MisalignmentSections report={ctx.report} source={ctx.source} idPrefix={ctx.idPrefix} level={ctx.level ?? 2} />
      <MetricsSection {...ctx} />
    </>
  );
}

export { Facts, rateText };
