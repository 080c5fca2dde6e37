/** @module reports/html/endpoint-page: an endpoint: what it is, its newest results per suite kind, its runs and how to embed its badges. */
import type { Constitution } from "../../suites/constitutions";
import type { MetricValue } from "../metrics";
import { badgeMessage } from "../badges";
import { Page, renderHtml } from "./layout";
import { Facts, Note, pretty, Table } from "./parts";
import { RunSections } from "./run-sections";

type Json = Record<string, any>;
import type { RunReport } from "../schemas/run";

export interface EndpointPageData {
  endpoint: {
    id: string;
    name: string;
    model: string;
    revision: string;
    baseEndpointId: string | null;
    constitution: string | null;
    scope: string | null;
    tags: string[];
    private: boolean;
    createdAt: string;
  };
  base: { id: string; name: string } | null;
  constitution?: Constitution;
  /** Newest completed run per suite kind, with its report (or why it has none). */
  latest: { kind: string; runId: string; report: RunReport | null; problem?: string }[];
  runs: { id: string; status: string; suiteVersionIds: string[]; createdAt: string; completedAt: string | null; counts: Json }[];
  metrics: MetricValue[];
  origin: string;
}

export function endpointPage(d: EndpointPageData): string {
  const ep = d.endpoint;
  const shown = new Set<string>();
  return renderHtml(
    <Page title={ep.name} description={`Persona and safety results of ${ep.name}`}>
      <h1>{ep.name}</h1>
      <p class="lead">
        Model <code>{ep.model}</code>, revision {ep.revision}
        {ep.private ? (
          <>
            {" "}
            · <span class="pill admin">private</span>
          </>
        ) : null}
      </p>
      <Facts
        items={[
          ["Base model", d.base ? <a href={`/reports/endpoints/${d.base.id}`}>{d.base.name}</a> : null],
          ["Constitution", ep.constitution ? pretty(ep.constitution) : null],
          ["Training scope", ep.scope],
          ["Tags", ep.tags.length ? ep.tags.join(", ") : null],
          ["Registered", ep.createdAt],
        ]}
      />
      <p>
        Data: <a href={`/v1/endpoints/${ep.id}/report`}>JSON report of the newest run</a> · <a href={`/v1/endpoints/${ep.id}/metrics`}>metrics</a>
      </p>
      {d.latest.length === 0 ? <Note>No completed run at revision {ep.revision} yet.</Note> : null}
      {d.latest.map((l) => {
        if (shown.has(l.runId)) return null;
        shown.add(l.runId);
        const source = `/v1/runs/${l.runId}/report`;
        return (
          <section data-run={l.runId} data-source={source}>
            <h2 id={`latest-${l.kind}`}>
              Newest {l.kind} results (<a href={`/reports/runs/${l.runId}`}>{l.runId}</a>)
            </h2>
            {l.report ? (
              <RunSections
                report={l.report}
                source={source}
                idPrefix={`r-${l.runId}`}
                modelLabel={ep.name}
                baseLabel={d.base?.name}
                constitution={d.constitution}
                endpointId={ep.id}
                level={3}
              />
            ) : (
              <Note>{l.problem}</Note>
            )}
          </section>
        );
      })}
      <h2 id="embed">Badges and embeds</h2>
      {ep.private ? <Note>This endpoint is private: its badges and widgets answer only with the admin key, so they cannot be embedded publicly.</Note> : null}
      {d.metrics.length ? (
        <>
          <p>Each badge shows the metric's value and its 95% CI from the newest completed run; it updates as new runs finish.</p>
          <div class="badges">
            {d.metrics.map((m) => (
              <img src={`/v1/endpoints/${ep.id}/metrics/${m.id}/badge.svg`} alt={`${m.label}: ${badgeMessage(m)}`} height="20" />
            ))}
          </div>
          <EmbedSnippets origin={d.origin} endpointId={ep.id} metric={d.metrics.find((m) => m.id === "safety.macro") ?? d.metrics[0]} />
        </>
      ) : (
        <p class="muted">No metrics yet.</p>
      )}
      <h2 id="runs">Runs</h2>
      {d.runs.length ? (
        <Table
          label={`Runs of ${ep.name}`}
          head={["Run", "Status", "Suites", "Done / planned", "Started", "Completed"]}
          numeric={[3]}
          rows={d.runs.map((r) => [
            <a href={`/reports/runs/${r.id}`}>{r.id}</a>,
            r.status,
            r.suiteVersionIds.map((v) => v.split("@")[0]).join(", "),
            `${r.counts.done} / ${r.counts.planned}`,
            r.createdAt,
            r.completedAt ?? "—",
          ])}
        />
      ) : (
        <p class="muted">No runs yet.</p>
      )}
    </Page>,
  );
}

function EmbedSnippets(p: { origin: string; endpointId: string; metric: MetricValue }) {
  const base = `${p.origin}/v1/endpoints/${p.endpointId}/metrics/${p.metric.id}`;
  const shields = `https://img.shields.io/endpoint?url=${encodeURIComponent(`${base}/shields.json`)}`;
  const widget = `${p.origin}/embed/endpoints/${p.endpointId}/metrics/${p.metric.id}`;
  return (
    <>
      <h3>Embed {p.metric.label}</h3>
      <p>Markdown (README, paper repository):</p>
      <pre>
        <code>{`[![${p.metric.label}](${base}/badge.svg)](${p.origin}/reports/endpoints/${p.endpointId})`}</code>
      </pre>
      <p>Through shields.io (its styles and caching):</p>
      <pre>
        <code>{`![${p.metric.label}](${shields})`}</code>
      </pre>
      <p>An HTML widget with the value, its CI and n:</p>
      <pre>
        <code>{`<iframe src="${widget}" title="${p.metric.label}" width="320" height="150" style="border:0"></iframe>`}</code>
      </pre>
    </>
  );
}
