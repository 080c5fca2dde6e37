/**
 * The privacy walk: every public GET route (from the OpenAPI document, which also lists the HTML pages), read
 * anonymously, with a private base, a private judge and a private experiment member in the data. No response may
 * carry their ids, names, models, run ids or figures.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { PrivacyView } from "../../src/reports/privacy";
import { ExperimentReport } from "../../src/reports/schemas/experiment";
import { RunReport } from "../../src/reports/schemas/run";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";
import { declaredJson, responseMismatches } from "../support/declared";

const CONSISTENCY = { suites: ["persona-consistency"], limit: 20, samplesPerItem: 1, seed: 5 };
const PERSONA = { suites: ["persona-diagnostic"], limit: 8, seed: 5 };
const SAFETY = { suites: ["safety"], limit: 10, seed: 5 };

let secrets: { what: string; text: string }[] = [];
const ids = {
  endpoints: [] as string[],
  runs: [] as string[],
  experiments: [] as string[],
  metrics: ["persona.deontology", "projectability.cosine", "safety.macro"],
};
let judgeId = "";
let privateBaseRuns: string[] = [];

beforeAll(async () => {
  const tag = uniqueTag("pw");
  // Private models get their own simulator tag, so their model strings are not shared with the public ones.
  const judge = await registerSim(`secret-judge-${tag}`, `judge:tag=${tag}s`, { logprobs: false, private: true });
  const base = await registerSim(`secret-base-${tag}`, `base:tag=${tag}s`, { logprobs: false, private: true });
  const model = await registerSim(`public-model-${tag}`, `inverted:tag=${tag}`, { logprobs: false, baseEndpointId: base.id, constitution: "deontology" });
  const sibling = await registerSim(`public-sibling-${tag}`, `deontology:tag=${tag}`, {
    logprobs: false,
    baseEndpointId: model.id,
    constitution: "deontology",
  });
  const member = await registerSim(`secret-member-${tag}`, `coherent_misaligned:tag=${tag}s`, { logprobs: false, baseEndpointId: model.id, private: true });
  judgeId = judge.id;

  const judgeRef = { judge: { endpointId: judge.id } };
  const baseRuns = [
    await startRun({ endpointId: base.id, ...CONSISTENCY, ...judgeRef }),
    await startRun({ endpointId: base.id, ...PERSONA }),
    await startRun({ endpointId: base.id, ...SAFETY, ...judgeRef }),
  ];
  const modelRuns = [
    await startRun({ endpointId: model.id, ...CONSISTENCY, ...judgeRef }),
    await startRun({ endpointId: model.id, ...PERSONA }),
    await startRun({ endpointId: model.id, ...SAFETY, ...judgeRef }),
  ];
  const siblingRuns = [await startRun({ endpointId: sibling.id, ...PERSONA }), await startRun({ endpointId: sibling.id, ...SAFETY, ...judgeRef })];
  const memberRuns = [await startRun({ endpointId: member.id, ...PERSONA }), await startRun({ endpointId: member.id, ...SAFETY, ...judgeRef })];
  for (const r of [...baseRuns, ...modelRuns, ...siblingRuns, ...memberRuns]) await waitForRun(r.id, 55_000);

  // A public experiment (judged by the private judge), one with a private member, one with a private base.
  const experiment = async (name: string, baseEndpointId: string, members: string[]) => {
    const res = await api("POST", "/v1/experiments", { name, baseEndpointId, members: members.map((endpointId) => ({ endpointId, scope: "narrow" })) });
    expect(res.status, res.text).toBe(201);
    return res.json.id as string;
  };
  const publicExp = await experiment(`public-exp-${tag}`, model.id, [sibling.id]);
  const memberExp = await experiment(`secret-member-exp-${tag}`, model.id, [member.id]);
  const baseExp = await experiment(`secret-base-exp-${tag}`, base.id, [model.id]);
  const expRuns = await api("POST", `/v1/experiments/${publicExp}/runs`, { ...judgeRef, suites: ["safety"], limit: 10, seed: 5 });
  expect(expRuns.status, expRuns.text).toBeLessThan(300);
  for (const r of (expRuns.json.runs ?? []) as { id?: string; runId?: string }[]) await waitForRun((r.id ?? r.runId)!, 55_000);

  // The private base's own figures, read by the admin: none of them may show up anonymously.
  const baseConsistency = (await api("GET", `/v1/runs/${baseRuns[0].id}/report`)).json.consistency;
  const basePersona = (await api("GET", `/v1/runs/${baseRuns[1].id}/report`)).json.persona;
  expect(baseConsistency.harm, "the base's consistency report").toBeTruthy();
  privateBaseRuns = baseRuns.map((r) => r.id);

  secrets = [
    ...[judge, base, member].flatMap((e) => [
      { what: "private endpoint id", text: e.id },
      { what: "private endpoint name", text: e.name },
    ]),
    { what: "private judge model", text: `judge:tag=${tag}s` },
    { what: "private base model", text: `base:tag=${tag}s` },
    { what: "private member model", text: `coherent_misaligned:tag=${tag}s` },
    ...[...baseRuns, ...memberRuns].map((r) => ({ what: "private run id", text: r.id })),
    { what: "private experiment name", text: `secret-member-exp-${tag}` },
    { what: "private experiment name", text: `secret-base-exp-${tag}` },
    { what: "the private base's harm figures", text: JSON.stringify(baseConsistency.harm.harmfulRate) },
    { what: "the private base's persona figures", text: JSON.stringify(basePersona.dimensions) },
  ];
  ids.endpoints = [model.id, sibling.id, base.id, member.id, judge.id];
  ids.runs = [...modelRuns, ...siblingRuns, ...baseRuns, ...memberRuns].map((r) => r.id);
  ids.experiments = [publicExp, memberExp, baseExp];
}, 240_000);

/** Every GET path of the OpenAPI document with each of its parameters filled in every way we know. */
async function publicPaths(): Promise<string[]> {
  const doc = (await api("GET", "/openapi.json", undefined, { admin: false })).json as { paths: Record<string, Record<string, unknown>> };
  const paths: string[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    if (!ops.get) continue;
    let filled = [template.replace(/\{(\w+)\}/g, ":$1")];
    const fill = (param: string, values: string[]) =>
      (filled = filled.flatMap((p) => (p.includes(`:${param}`) ? values.map((v) => p.replace(`:${param}`, encodeURIComponent(v))) : [p])));
    const family =
      template.startsWith("/v1/runs") || template.startsWith("/reports/runs") ? ids.runs : template.includes("experiments") ? ids.experiments : ids.endpoints;
    fill("id", family);
    fill("metric", ids.metrics);
    paths.push(...filled);
  }
  // Query parameters that name other runs, judges or filters.
  for (const run of ids.runs.slice(0, 3)) {
    for (const q of [`base=${privateBaseRuns[1]}`, `judge=${judgeId}`, `compareJudge=${judgeId}`])
      paths.push(`/v1/runs/${run}/report?${q}`, `/reports/runs/${run}?${q}`);
  }
  for (const q of ["metric=safety.macro", "metric=persona.deontology", "suite=safety", "suite=persona-consistency"])
    paths.push(`/v1/leaderboard?${q}`, `/leaderboard?${q}`);
  return paths;
}

describe("privacy walk", () => {
  it("finds no private id, name or figure on any public route read anonymously", async () => {
    const paths = await publicPaths();
    expect(paths.length).toBeGreaterThan(40);
    const leaks: string[] = [];
    const mismatches: string[] = [];
    let ok = 0;
    let validated = 0;
    for (const path of paths) {
      const res = await api("GET", path, undefined, { admin: false });
      if (res.status === 200) ok++;
      // Scrubbed reports (a private judge, a hidden base) still match their declared OpenAPI schemas, strictly.
      const schema = /^\/v1\/(runs|endpoints)\/[^/]+\/report(\?|$)/.test(path)
        ? RunReport
        : /^\/v1\/experiments\/[^/]+\/report(\?(?!.*format=text)|$)/.test(path)
          ? ExperimentReport
          : null;
      if (schema && res.status === 200) {
        const parsed = schema.safeParse(res.json);
        if (!parsed.success) mismatches.push(`${path}: ${parsed.error.message.slice(0, 400)}`);
      }
      // Every other JSON answer matches the schema its route declares (test/support/declared.ts).
      if (res.status === 200 && res.json !== undefined && declaredJson("GET", path, 200)) {
        validated++;
        mismatches.push(...responseMismatches("GET", path, 200, res.json));
      }
      // An id the caller put in the path or query (echoed by a 404) is not a leak.
      for (const s of secrets)
        if (!path.includes(encodeURIComponent(s.text)) && res.text.includes(s.text)) leaks.push(`${path} (${res.status}) shows ${s.what} ${s.text}`);
    }
    expect(leaks).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(validated).toBeGreaterThan(20);
    // The walk read real content, not only 404s.
    expect(ok).toBeGreaterThan(25);
  });

  it("shows anonymous readers the host of an endpoint's base URL only", async () => {
    const tag = uniqueTag("pu");
    const ep = await registerSim(`url-${tag}`, `base:tag=${tag}`);
    const anon = await api("GET", `/v1/endpoints/${ep.id}`, undefined, { admin: false });
    const admin = await api("GET", `/v1/endpoints/${ep.id}`);
    expect(admin.json.baseUrl).toMatch(/\/v1$/);
    expect(anon.json.baseUrl).toBe(new URL(admin.json.baseUrl).origin);
    const listed = (await api("GET", "/v1/endpoints", undefined, { admin: false })).json.endpoints.find((e: any) => e.id === ep.id);
    expect(listed.baseUrl).toBe(new URL(admin.json.baseUrl).origin);
  });

  it("scrubs a hidden judge's identity from any body, its model name from free text too, and leaves the admin's view whole", async () => {
    const tag = uniqueTag("ps");
    const judge = await registerSim(`scrub-judge-${tag}`, `judge-model-${tag}`, { private: true });
    const body = {
      judge: { endpointId: judge.id, revision: "r1", model: `judge-model-${tag}`, rubricVersion: "safety-v1" },
      notes: [`the file names judge gpt-4o but judge-model-${tag} was used`],
      endpoint: { id: "ep_public", model: `judge-model-${tag}`, baseEndpointId: judge.id },
      key: `metric|${judge.id}@r1|safety-v1`,
    };
    const anon = (await PrivacyView.of(getDb(env.DB), false)).scrub(body);
    expect(anon.judge).toEqual({ endpointId: "private", revision: null, model: null, rubricVersion: "safety-v1", private: true });
    expect(anon.notes[0]).toBe("the file names judge gpt-4o but a private model was used");
    // A visible model that shares the name keeps it; a hidden base is not named.
    expect(anon.endpoint).toEqual({ id: "ep_public", model: `judge-model-${tag}`, baseEndpointId: null });
    expect(anon.key).toBe("metric|private@r1|safety-v1");
    expect((await PrivacyView.of(getDb(env.DB), true)).scrub(body)).toBe(body);
  });
});
