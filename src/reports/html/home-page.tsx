/** @module reports/html/home-page: the start page: endpoints, experiments and where to go next. */
import { Page, renderHtml } from "./layout";
import { pretty, Table } from "./parts";

export function homePage(d: {
  endpoints: { id: string; name: string; model: string; constitution: string | null; tags: string[]; private: boolean }[];
  experiments: { id: string; name: string; createdAt: string }[];
}): string {
  return renderHtml(
    <Page title="Reports" description="How language models' ethical personas project: reports, leaderboard and API">
      <h1>projectability</h1>
      <p class="lead">
        How a language model's ethical persona projects: persona profiles against the base model and the constitution's expected signature, safety rates by
        category, and emergent alignment, each with its n and 95% confidence interval.
      </p>
      <ul>
        <li>
          <a href="/leaderboard">Leaderboard</a> with rank intervals
        </li>
        <li>
          <a href="/docs">API reference</a> (<a href="/openapi.json">OpenAPI</a>)
        </li>
      </ul>
      <h2 id="endpoints">Endpoints</h2>
      {d.endpoints.length ? (
        <Table
          label="Endpoints"
          head={["Name", "Model", "Constitution", "Tags"]}
          rows={d.endpoints.map((e) => [
            <>
              <a href={`/reports/endpoints/${e.id}`}>{e.name}</a>
              {e.private ? (
                <>
                  {" "}
                  <span class="pill admin">private</span>
                </>
              ) : null}
            </>,
            <code>{e.model}</code>,
            e.constitution ? pretty(e.constitution) : "—",
            e.tags.join(", ") || "—",
          ])}
        />
      ) : (
        <p class="muted">No endpoints yet.</p>
      )}
      <h2 id="experiments">Experiments</h2>
      {d.experiments.length ? (
        <ul>
          {d.experiments.map((x) => (
            <li>
              <a href={`/reports/experiments/${x.id}`}>{x.name}</a> <span class="muted">({x.createdAt.slice(0, 10)})</span>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No experiments yet.</p>
      )}
    </Page>,
  );
}

export function errorPage(status: number, message: string): string {
  return renderHtml(
    <Page title={status === 404 ? "Not found" : "Cannot show this report"}>
      <h1>{status === 404 ? "Not found" : "Cannot show this report"}</h1>
      <p>{message}</p>
      <p>
        <a href="/">Back to the start page</a>
      </p>
    </Page>,
  );
}
