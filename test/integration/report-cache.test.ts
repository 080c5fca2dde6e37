/**
 * Cached heavy reads: run and experiment reports are served from the cache while their data, the privacy view and
 * the declared query are unchanged; extra query parameters do not bypass the report or leaderboard caches.
 */
import { describe, expect, it } from "vitest";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const anon = (path: string) => api("GET", path, undefined, { admin: false });

describe("cached reports", () => {
  it("serves an unchanged run report from the cache, whatever extra parameters come with it, and rebuilds it when the data or privacy change", async () => {
    const tag = uniqueTag("rc");
    const base = await registerSim(`rc-base-${tag}`, `base:tag=${tag}`);
    const model = await registerSim(`rc-model-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    const baseRun = await startRun({ endpointId: base.id, seed: 3, limit: 8 });
    const run = await startRun({ endpointId: model.id, seed: 3, limit: 8 });
    await waitForRun(baseRun.id);
    await waitForRun(run.id);

    const first = await anon(`/v1/runs/${run.id}/report`);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("miss");
    expect(first.json.comparison.available).toBe(true);
    for (const extra of ["", "?utm=1", "?x=2&y=3", "?base="]) {
      const again = await anon(`/v1/runs/${run.id}/report${extra}`);
      expect([again.status, again.headers.get("x-cache")], extra).toEqual([200, "hit"]);
      expect(again.text).toBe(first.text);
    }
    // A declared parameter is part of the key.
    expect((await anon(`/v1/runs/${run.id}/report?base=${baseRun.id}`)).headers.get("x-cache")).toBe("miss");
    expect((await anon(`/v1/runs/${run.id}/report?base=${baseRun.id}&z=1`)).headers.get("x-cache")).toBe("hit");
    // The endpoint report is cached too.
    expect((await anon(`/v1/endpoints/${model.id}/report`)).headers.get("x-cache")).toBe("miss");
    expect((await anon(`/v1/endpoints/${model.id}/report?q=1`)).headers.get("x-cache")).toBe("hit");
    // Run metrics come from the report and are cached the same way.
    expect((await anon(`/v1/runs/${run.id}/metrics`)).headers.get("x-cache")).toBe("miss");
    expect((await anon(`/v1/runs/${run.id}/metrics?cb=1`)).headers.get("x-cache")).toBe("hit");
    // Admin reads are built fresh and never stored in the shared cache.
    expect((await api("GET", `/v1/runs/${run.id}/report`)).headers.get("x-cache")).toBe("miss");

    // The data changes (the endpoint is renamed): a new version, rebuilt.
    expect((await api("PATCH", `/v1/endpoints/${model.id}`, { name: `rc-renamed-${tag}` })).status).toBe(200);
    const renamed = await anon(`/v1/runs/${run.id}/report`);
    expect(renamed.headers.get("x-cache")).toBe("miss");
    expect(renamed.json.endpoint.name).toBe(`rc-renamed-${tag}`);

    // The base turns private: the cached comparison is not served any more.
    expect((await api("PATCH", `/v1/endpoints/${base.id}`, { private: true })).status).toBe(200);
    const hidden = await anon(`/v1/runs/${run.id}/report`);
    expect(hidden.headers.get("x-cache")).toBe("miss");
    expect(hidden.json.comparison).toMatchObject({ available: false, reason: "the base endpoint is private" });
    expect(hidden.text).not.toContain(baseRun.id);
  });

  it("caches experiment reports per format", async () => {
    const tag = uniqueTag("re");
    const judge = await registerSim(`re-judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`re-base-${tag}`, `base:tag=${tag}`);
    const member = await registerSim(`re-member-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id });
    const exp = await api("POST", "/v1/experiments", { name: `re-${tag}`, baseEndpointId: base.id, members: [{ endpointId: member.id, scope: "narrow" }] });
    expect(exp.status).toBe(201);
    const started = await api("POST", `/v1/experiments/${exp.json.id}/runs`, { judge: { endpointId: judge.id }, limit: 10, seed: 2 });
    expect(started.status, started.text).toBe(202);
    for (const r of started.json.runs) await waitForRun(r.runId);
    const path = `/v1/experiments/${exp.json.id}/report`;
    const first = await anon(path);
    expect([first.status, first.headers.get("x-cache")]).toEqual([200, "miss"]);
    const again = await anon(`${path}?other=1`);
    expect([again.headers.get("x-cache"), again.text]).toEqual(["hit", first.text]);
    const text = await anon(`${path}?format=text`);
    expect([text.headers.get("x-cache"), text.headers.get("content-type")]).toEqual(["miss", "text/plain; charset=utf-8"]);
    expect((await anon(`${path}?format=text&x=1`)).headers.get("x-cache")).toBe("hit");
  });

  it("extra query parameters do not bypass the leaderboard cache", async () => {
    const first = await anon(`/v1/leaderboard?metric=safety.macro&a=${uniqueTag()}`);
    expect(first.status).toBe(200);
    const second = await anon(`/v1/leaderboard?b=${uniqueTag()}&metric=safety.macro`);
    expect([second.headers.get("x-cache"), second.text]).toEqual(["hit", first.text]);
  });
});
