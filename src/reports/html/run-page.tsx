/** @module reports/html/run-page: the page of one run: settings, progress and every section of its report. */
import type { Constitution } from "../../suites/constitutions";
import { Page, renderHtml } from "./layout";
import { Facts, Table } from "./parts";
import { RunSections } from "./run-sections";
import type { RunReport } from "../schemas/run";

type Json = Record<string, any>;

export interface RunPageData {
  /** The run report (GET /v1/runs/{id}/report), typed by its OpenAPI schema. */
  report: RunReport;
  endpoint: { id: string; name: string; model: string; private: boolean; deleted: boolean };
  baseName: string | null;
  constitution?: Constitution;
  /** Whether the reader may download the judgments (false hides the links). */
  exports: boolean;
}

export function runFacts(run: Json) {
  const c = run.counts ?? {};
  const judge = run.judge
    ? run.judge.private
      ? `a private judge (rubric ${run.judge.rubricVersion})`
      : `${run.judge.model} (revision ${run.judge.revision}, rubric ${run.judge.rubricVersion})`
    : null;
  return [
    ["Status", run.status],
    [
      "Progress",
      `${c.done ?? 0} done, ${c.failed ?? 0} failed, ${c.pending ?? 0} pending of ${c.planned ?? 0} units (${c.expectedFirstStage ?? c.expected ?? 0} prompts planned)`,
    ],
    ["Suites", (run.suiteVersionIds ?? []).join(", ")],
    ["Scoring", run.scoringMode],
    ["Samples per item", String(run.samplesPerItem)],
    ["Temperature", String(run.temperature)],
    ["Seed", String(run.seed)],
    ["Items per suite", run.limit == null ? "all" : String(run.limit)],
    ["Judge", judge],
    ["Started", run.createdAt],
    ["Completed", run.completedAt],
  ] as [string, string | null][];
}

/** Seconds between reloads of the page of a run that is still working (ours). */
export const RUN_PAGE_REFRESH_SECONDS = 5;

const fmtCost = (x: number | null) => (x == null ? "no price" : `$${x < 0.01 && x > 0 ? x.toPrecision(2) : x.toFixed(2)}`);

/** Tokens and cost per endpoint and role (the report's `usage`). */
function Usage({ usage }: { usage: Json | undefined }) {
  if (!usage?.rows?.length) return null;
  return (
    <section aria-labelledby="run-usage">
      <h2 id="run-usage">Tokens and cost</h2>
      <Table
        label="Tokens as each provider reported them, and cost at the prices pinned when the run started (USD)"
        head={["Role", "Model", "Calls", "Input tokens", "Output tokens", "Cost"]}
        rows={(usage.rows as Json[]).map((r) => [r.role, <code>{r.model}</code>, r.calls, r.inputTokens, r.outputTokens, fmtCost(r.cost)])}
        numeric={[2, 3, 4]}
      />
      <p>Total: {fmtCost(usage.total?.cost ?? null)}</p>
    </section>
  );
}

export function runPage(d: RunPageData): string {
  const run = d.report.run;
  const source = `/v1/runs/${run.id}/report`;
  const working = run.status === "running" || run.status === "planning";
  return renderHtml(
    <Page title={`Run ${run.id}`} description={`Report of run ${run.id} of ${d.endpoint.name}`} refreshSeconds={working ? RUN_PAGE_REFRESH_SECONDS : undefined}>
      <h1>
        Run <code>{run.id}</code>
      </h1>
      <p class="lead">
        <a href={`/reports/endpoints/${d.endpoint.id}`}>{d.endpoint.name}</a> · model <code>{d.endpoint.model}</code> · revision {d.report.endpoint?.revision}
        {d.endpoint.private ? (
          <>
            {" "}
            · <span class="pill admin">private</span>
          </>
        ) : null}
        {d.endpoint.deleted ? (
          <>
            {" "}
            · <span class="pill">deleted</span>
          </>
        ) : null}
      </p>
      <Facts items={runFacts(run)} />
      {working ? (
        <p class="note" role="status">
          This run is still working: the page reloads every {RUN_PAGE_REFRESH_SECONDS} s. Live progress as server-sent events:{" "}
          <a href={`/v1/runs/${run.id}/events`}>/v1/runs/{run.id}/events</a>.
        </p>
      ) : null}
      <p>
        Data: <a href={source}>JSON report</a> · <a href={`/v1/runs/${run.id}/export?format=inspect`}>Inspect eval log</a>
        {d.exports ? (
          <>
            {" · "}judgments as <a href={`/v1/runs/${run.id}/judgments.csv`}>CSV</a> or <a href={`/v1/runs/${run.id}/judgments.jsonl`}>JSONL</a>
          </>
        ) : null}
      </p>
      <div data-source={source}>
        <RunSections
          report={d.report}
          source={source}
          idPrefix="run"
          modelLabel={d.endpoint.name}
          baseLabel={d.baseName}
          constitution={d.constitution}
          endpointId={d.endpoint.id}
          level={2}
        />
      </div>
      <Usage usage={d.report.usage} />
    </Page>,
  );
}
