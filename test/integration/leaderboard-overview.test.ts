/**
 * The leaderboard's overview compares like with like: a metric measured on different suite versions, or graded by
 * different judges, gets one column each; by default only the latest version of each suite is shown, and tie groups
 * are formed within a column.
 */
import { describe, expect, it } from "vitest";
import { api, importSuiteFile, personaFile, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const columnsOf = (overview: any, metric: string) => overview.metrics.filter((m: any) => m.metric === metric);
const cellsOf = (overview: any, column: string) => overview.cells.filter((c: any) => c.column === column);

describe("leaderboard overview: one column compares like with like", () => {
  it("a metric on two suite versions: the latest version by default, each version its own column with overviewVersions=all", async () => {
    const tag = uniqueTag("ovv");
    const suite = `persona-${tag}`;
    const a = await registerSim(`a-${tag}`, `deontology:tag=${tag}`, { tags: [tag] });
    const b = await registerSim(`b-${tag}`, `base:tag=${tag}`, { tags: [tag] });
    const c = await registerSim(`c-${tag}`, `deontology:tag=${tag}`, { tags: [tag] });
    expect((await importSuiteFile(suite, personaFile(8), "&dimension=deontology")).status).toBe(201);
    const old = await startRun({ endpointId: a.id, suites: [suite], seed: 3 });
    await waitForRun(old.id);
    expect((await importSuiteFile(suite, personaFile(10), "&dimension=deontology")).status).toBe(201);
    const fresh = [await startRun({ endpointId: b.id, suites: [suite], seed: 3 }), await startRun({ endpointId: c.id, suites: [suite], seed: 3 })];
    for (const r of fresh) await waitForRun(r.id);
    const oldVersion = (await api("GET", `/v1/runs/${old.id}`)).json.suiteVersionIds[0];
    const newVersion = (await api("GET", `/v1/runs/${fresh[0].id}`)).json.suiteVersionIds[0];
    expect(newVersion).not.toBe(oldVersion);

    const lb = (await api("GET", `/v1/leaderboard?tag=${tag}`, undefined, { admin: false })).json;
    expect(lb.overview.suiteVersions).toBe("latest");
    const cols = columnsOf(lb.overview, "persona.deontology.match");
    expect(cols).toHaveLength(1);
    expect(cols[0].comparability).toMatchObject({ suites: [suite], suiteVersionIds: [newVersion], judge: null, scoringMode: "logprobs", temperature: 1 });
    // a's run is on the older version: it is left out of the column, not mixed into it.
    expect(
      cellsOf(lb.overview, cols[0].id)
        .map((x: any) => x.endpointId)
        .sort(),
    ).toEqual([b.id, c.id].sort());
    expect(lb.overview.models.map((m: any) => m.endpointId).sort()).toEqual([b.id, c.id].sort());

    const all = (await api("GET", `/v1/leaderboard?tag=${tag}&overviewVersions=all`, undefined, { admin: false })).json;
    expect(all.overview.suiteVersions).toBe("all");
    const both = columnsOf(all.overview, "persona.deontology.match");
    expect(both.map((x: any) => x.comparability.suiteVersionIds[0]).sort()).toEqual([oldVersion, newVersion].sort());
    expect(new Set(both.map((x: any) => x.id)).size).toBe(2);
    expect(new Set(both.map((x: any) => x.label)).size).toBe(2);
    const oldColumn = both.find((x: any) => x.comparability.suiteVersionIds[0] === oldVersion);
    expect(cellsOf(all.overview, oldColumn.id).map((x: any) => [x.endpointId, x.runId])).toEqual([[a.id, old.id]]);
    expect(cellsOf(all.overview, oldColumn.id)[0].n).toBe(8);
    for (const x of cellsOf(all.overview, both.find((y: any) => y !== oldColumn).id)) expect(x.n).toBe(10);
  });

  it("a judged metric graded by two judges: one column per judge, tie groups within a column; a private judge is not named", async () => {
    const tag = uniqueTag("ovj");
    const j1 = await registerSim(`j1-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const j2 = await registerSim(`j2-${tag}`, `judge:tag=${tag}-2`, { logprobs: false, private: true });
    const x = await registerSim(`x-${tag}`, `deontology:tag=${tag}`, { tags: [tag] });
    const y = await registerSim(`y-${tag}`, `base:tag=${tag}`, { tags: [tag] });
    const z = await registerSim(`z-${tag}`, `deontology:tag=${tag}`, { tags: [tag] });
    const common = { suites: ["safety"], limit: 6, seed: 4 };
    const runs = [
      await startRun({ ...common, endpointId: x.id, judge: { endpointId: j1.id } }),
      await startRun({ ...common, endpointId: y.id, judge: { endpointId: j1.id } }),
      await startRun({ ...common, endpointId: z.id, judge: { endpointId: j2.id } }),
    ];
    for (const r of runs) await waitForRun(r.id);

    const lb = (await api("GET", `/v1/leaderboard?tag=${tag}`)).json;
    const cols = columnsOf(lb.overview, "safety.macro");
    expect(cols).toHaveLength(2);
    const byJudge = (id: string) => cols.find((col: any) => col.comparability.judge?.startsWith(`${id}@`));
    expect(byJudge(j1.id).comparability).toMatchObject({ suites: ["safety"], judge: `${j1.id}@${j1.revision}|safety-v1`, scoringMode: null });
    expect(
      cellsOf(lb.overview, byJudge(j1.id).id)
        .map((c: any) => c.endpointId)
        .sort(),
    ).toEqual([x.id, y.id].sort());
    const alone = cellsOf(lb.overview, byJudge(j2.id).id);
    expect(alone.map((c: any) => c.endpointId)).toEqual([z.id]);
    // Alone in its column, z leads its own tie group whatever x and y scored under the other judge.
    expect(alone[0].tieGroup).toBe(1);
    expect(byJudge(j1.id).label).not.toBe(byJudge(j2.id).label);
    expect(lb.overview.note).toMatch(/like with like/);
    // Without the key the private judge's column stays, under its rubric only.
    const anonymous = await api("GET", `/v1/leaderboard?tag=${tag}`, undefined, { admin: false });
    expect(anonymous.text).not.toContain(j2.id);
    const hidden = columnsOf(anonymous.json.overview, "safety.macro").find((col: any) => !col.comparability.judge.startsWith(`${j1.id}@`));
    expect(hidden.comparability.judge).toBe("private|safety-v1");
    expect(cellsOf(anonymous.json.overview, hidden.id).map((c: any) => c.endpointId)).toEqual([z.id]);
    const page = await api("GET", `/leaderboard?tag=${tag}`, undefined, { admin: false });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(j2.id);
    for (const col of columnsOf(anonymous.json.overview, "safety.macro"))
      expect(page.text).toContain(col.label.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"));
  });
});
