/** @module reports/html/leaderboard-page: the leaderboard as a page: per group an interval chart and a table with rank intervals and ties. */
import type { Leaderboard } from "../leaderboard";
import { forestPlot } from "../svg/forest";
import { pointer } from "../svg/text";
import { Page, renderHtml } from "./layout";
import { Figure, Note, pretty, Table, withCi } from "./parts";

export function leaderboardPage(lb: Leaderboard, query: string): string {
  const source = `/v1/leaderboard${query ? `?${query}` : ""}`;
  const nameOf = new Map(lb.groups.flatMap((g) => g.rows.map((r) => [r.endpointId, r.name] as const)));
  return renderHtml(
    <Page title="Leaderboard" description="Models ranked per metric with 95% CIs and bootstrap rank intervals">
      <h1>Leaderboard</h1>
      <p class="lead">
        Each endpoint's newest completed run at its current revision. Rows are compared only within a group: the same suite version, scoring mode, judge and
        rubric version, and temperature. A rank interval is a 95% bootstrap interval; rows whose rank intervals overlap are statistically tied.
      </p>
      <form class="filters" method="get" action="/leaderboard">
        <label>
          Suite
          <input name="suite" value={lb.filters.suite ?? ""} placeholder="safety" />
        </label>
        <label>
          Metric
          <input name="metric" value={lb.filters.metric ?? ""} placeholder="safety.macro" />
        </label>
        <label>
          Tag
          <input name="tag" value={lb.filters.tag ?? ""} placeholder="any" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <p>
        Data:{" "}
        <a href={source}>
          JSON (schema {lb.schema}, version {lb.schemaVersion})
        </a>
      </p>
      {lb.groups.length === 0 ? <Note>No completed runs match these filters.</Note> : null}
      {lb.overview && lb.overview.cells.length ? (
        <section data-section="leaderboard-overview" data-source={source}>
          <h2 id="overview">Overview</h2>
          <p class="muted">
            {lb.overview.note}. Each cell: estimate [95% CI], n, and the tie group (1 = best; {lb.overview.tieRule}).
          </p>
          <Table
            label="Models by headline metrics"
            head={["Model", ...lb.overview.metrics.map((m) => m.label)]}
            numeric={lb.overview.metrics.map((_, i) => i + 1)}
            rows={lb.overview.models.map((mod) => [
              <a href={`/reports/endpoints/${mod.endpointId}`}>{mod.name}</a>,
              ...lb.overview!.metrics.map((m) => {
                const c = lb.overview!.cells.find((x) => x.endpointId === mod.endpointId && x.column === m.id);
                return c ? `${withCi(c.value, c.lo, c.hi)} n=${c.n}${c.tieGroup != null ? ` · group ${c.tieGroup}` : ""}` : "—";
              }),
            ])}
          />
        </section>
      ) : null}
      <div data-source={source}>
        {lb.groups.map((g, gi) => {
          const c = g.comparability;
          const ranked = g.rows.filter((r) => r.rank != null);
          return (
            <section data-section="leaderboard-group" data-group={g.key} data-source={source}>
              <h2 id={`g${gi}`}>{g.metric.label}</h2>
              <p class="muted">
                <code>{g.metric.id}</code> · suite version <code>{c.suiteVersionId}</code>
                {c.scoringMode ? <> · scoring {c.scoringMode}</> : null}
                {c.judge ? (
                  <>
                    {" "}
                    · judge{" "}
                    {c.judge.private ? (
                      "(private)"
                    ) : (
                      <>
                        <code>{c.judge.model}</code> (revision {c.judge.revision})
                      </>
                    )}
                    , rubric {c.judge.rubricVersion}
                  </>
                ) : null}{" "}
                · temperature {c.temperature} ·{" "}
                {g.metric.better === "lower" ? "lower is better" : g.metric.better === "higher" ? "higher is better" : "ordered from highest"}
              </p>
              {ranked.length ? (
                <Figure
                  source={source}
                  caption="Hollow squares: tied with another row (overlapping rank intervals)."
                  svg={forestPlot({
                    id: `lb-${gi}`,
                    chart: "leaderboard",
                    title: `${g.metric.label}: leaderboard`,
                    description: ranked
                      .map((r) => `${r.name}: ${withCi(r.value, r.lo, r.hi)}, rank ${r.rankInterval!.lo}–${r.rankInterval!.hi}${r.tied ? ", tied" : ""}.`)
                      .join(" "),
                    rows: ranked.map((r) => ({
                      key: r.endpointId,
                      series: "row",
                      label: `${r.rank}. ${r.name}`,
                      estimate: r.value,
                      lo: r.lo,
                      hi: r.hi,
                      n: r.n,
                      note: `rank ${r.rankInterval!.lo}–${r.rankInterval!.hi}${r.tied ? " · tied" : ""}`,
                      emphasis: !r.tied,
                      ref: { pointer: pointer("groups", gi, "rows", g.rows.indexOf(r)), field: "value" },
                    })),
                    domain: [0, 1],
                    reference: null,
                    axisLabel: `${g.metric.label} (95% CI)`,
                  })}
                />
              ) : null}
              <Table
                label={`${g.metric.label}: rows`}
                head={["Rank", "Model", "Value [95% CI]", "n", "Rank interval", "Tier", "Tied with"]}
                numeric={[0, 2, 3, 4, 5]}
                rows={g.rows.map((r) => [
                  r.rank == null ? "—" : String(r.rank),
                  <a href={`/reports/endpoints/${r.endpointId}`}>{r.name}</a>,
                  withCi(r.value, r.lo, r.hi),
                  String(r.n),
                  r.rankInterval ? `${r.rankInterval.lo}–${r.rankInterval.hi}` : "—",
                  r.tier == null ? "—" : String(r.tier),
                  r.tiedWith.map((id) => nameOf.get(id) ?? id).join(", ") || "—",
                ])}
              />
            </section>
          );
        })}
      </div>
      <p class="muted">
        Tags: {pretty(lb.filters.tag ?? "all")} · as of {lb.asOf ?? "—"} · rank method: {lb.rankMethod.description} ({lb.rankMethod.resamples} resamples).
      </p>
    </Page>,
  );
}
