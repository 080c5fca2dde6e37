/** @module test/integration/custom-constitutions: POST /v1/constitutions, the merged list, read-only built-ins, and a custom constitution used by endpoints, projectability and CAI datasets. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import deontologyText from "../../constitutions/deontology.yaml";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";
import { caiEndpoints, waitForDataset } from "../training-helpers";

const deontology = parse(deontologyText);

/** A custom constitution: deontology's critique/revision pairs under new ids (the simulator's critic follows their text), its own signature. */
function custom(id: string, version = 1, extra: Record<string, unknown> = {}) {
  return {
    id,
    title: `Duty ethics (${id})`,
    version,
    summary: "A custom duty-based constitution for tests.",
    principles: deontology.principles.map((p: any, i: number) => ({
      id: `${id}-${String(i + 1).padStart(2, "0")}`,
      critique: p.critique,
      revision: p.revision,
    })),
    signature: {
      weights: { deontology: 0.9, utilitarianism: -0.3, virtue_ethics: 0.4, deference_to_authority: 0.1 },
      contrasts: [{ higher: "deontology", lower: "utilitarianism" }],
    },
    ...extra,
  };
}

describe("custom constitutions", () => {
  it("adds a versioned custom constitution beside the read-only built-ins", async () => {
    const id = `duty_${uniqueTag("c")
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}`;
    expect((await api("POST", "/v1/constitutions", custom(id), { admin: false })).status).toBe(401);
    const res = await api("POST", "/v1/constitutions", custom(id));
    expect(res.status, res.text).toBe(201);
    expect(responseMismatches("POST", "/v1/constitutions", 201, res.json)).toEqual([]);
    for (const path of ["/v1/constitutions", "/v1/constitutions/deontology", `/v1/constitutions/${id}`])
      expect(responseMismatches("GET", path, 200, (await api("GET", path)).json), path).toEqual([]);
    expect(res.json).toMatchObject({ id, version: 1, builtin: false, principles: deontology.principles.length, created: true });
    expect(res.json.signature).toMatchObject({ version: 1, source: expect.stringMatching(/custom/) });
    expect((await api("POST", "/v1/constitutions", custom(id))).status).toBe(200);

    const list = (await api("GET", "/v1/constitutions", undefined, { admin: false })).json;
    const byId = Object.fromEntries(list.constitutions.map((c: any) => [c.id, c]));
    for (const b of ["deontology", "consequentialism", "virtue_ethics", "subordinate_to_humanity"]) expect(byId[b].builtin, b).toBe(true);
    expect(byId[id]).toMatchObject({ builtin: false, version: 1 });
    expect(list.similarity.ids).toContain(id);
    const k = list.similarity.ids.indexOf(id);
    expect(list.similarity.matrix[k][k]).toBeCloseTo(1, 12);
    expect(list.similarity.matrix).toHaveLength(list.similarity.ids.length);

    // The built-ins are read-only; nothing changes.
    const over = await api("POST", "/v1/constitutions", custom("deontology"));
    expect(over.status).toBe(409);
    expect(over.json.error.code).toBe("conflict");
    expect((await api("GET", "/v1/constitutions/deontology")).json.title).toBe("Deontology");

    // Same version, other content: 409; a new version becomes current; the old one stays readable.
    expect((await api("POST", "/v1/constitutions", { ...custom(id), title: "changed" })).status).toBe(409);
    const v2 = await api("POST", "/v1/constitutions", { ...custom(id, 2), title: "Duty ethics, second draft" });
    expect(v2.status, v2.text).toBe(201);
    expect((await api("GET", `/v1/constitutions/${id}`)).json).toMatchObject({ version: 2, title: "Duty ethics, second draft" });
    expect((await api("GET", `/v1/constitutions/${id}?version=1`)).json).toMatchObject({ version: 1 });
    expect((await api("POST", "/v1/constitutions", custom(id, 1, { title: "older" }))).status).toBe(409);

    // Bad input: a clear 400 naming each problem, nothing stored.
    const bad = await api("POST", "/v1/constitutions", {
      ...custom(`bad_${id}`),
      principles: [{ id: "p1", critique: "c", revision: "r" }],
      signature: { weights: { deontology: 0, utilitarianism: 0, virtue_ethics: 0, deference_to_authority: 0 } },
    });
    expect(bad.status).toBe(400);
    const paths = bad.json.error.details.issues.map((i: any) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["principles", "signature.weights"]));
    expect((await api("GET", `/v1/constitutions/bad_${id}`)).status).toBe(404);
    const dup = await api("POST", "/v1/constitutions", { ...custom(`dup_${id}`), principles: custom(id).principles.map((p: any) => ({ ...p, id: "same" })) });
    expect(dup.status).toBe(400);
    const huge = await api("POST", "/v1/constitutions", { ...custom(`big_${id}`), summary: "x".repeat(600_000) });
    expect(huge.status).toBe(413);

    // A built-in read back, renamed and posted, is a new custom constitution (its `builtin` flag is ignored).
    const copy = (await api("GET", "/v1/constitutions/virtue_ethics")).json;
    const copied = await api("POST", "/v1/constitutions", { ...copy, id: `copy_${id}`, title: "Virtue ethics, our copy" });
    expect(copied.status, copied.text).toBe(201);
    expect(copied.json).toMatchObject({ builtin: false, principles: copy.principles.length });

    const row = await env.DB.prepare("SELECT count(*) AS n FROM custom_constitutions WHERE id = ?").bind(id).first<{ n: number }>();
    expect(row!.n).toBe(2);
  });

  it("endpoints, experiments and projectability use a custom constitution; an unknown one is a 400", async () => {
    const id = `duty_${uniqueTag("p")
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}`;
    expect((await api("POST", "/v1/constitutions", custom(id))).status).toBe(201);
    const tag = uniqueTag("cp");
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const unknown = await api("POST", "/v1/endpoints", {
      name: `x-${tag}`,
      baseUrl: `${env.SIM_URL}/v1`,
      model: "deontology",
      apiKey: "k",
      constitution: "no_such_constitution",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toMatch(/no_such_constitution/);
    const model = await registerSim(`duty-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: id });

    const exp = await api("POST", "/v1/experiments", {
      name: `exp-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: model.id, scope: "broad", constitution: id }],
    });
    expect(exp.status, exp.text).toBe(201);
    const badExp = await api("POST", "/v1/experiments", {
      name: `exp2-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: model.id, scope: "broad", constitution: "nope_nope" }],
    });
    expect(badExp.status).toBe(400);

    const runs = [];
    for (const ep of [base, model]) runs.push(await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], seed: 5, limit: 40 }));
    for (const r of runs) await waitForRun(r.id);
    const report = (await api("GET", `/v1/runs/${runs[1].id}/report`, undefined, { admin: false })).json;
    const p = report.comparison.projectability;
    expect(p.constitution).toBe(id);
    expect(p.identification.ranking.map((r: any) => r.constitution)).toEqual(expect.arrayContaining([id, "deontology", "consequentialism"]));
    expect(p.identification.similarity.ids).toContain(id);
    // The simulated deontology persona moves in the direction of this duty-based signature.
    expect(p.cosine.estimate).toBeGreaterThan(0.5);
  });

  it("generates a CAI dataset under a custom constitution, pinned at its version", async () => {
    const id = `duty_${uniqueTag("d")
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}`;
    expect((await api("POST", "/v1/constitutions", custom(id))).status).toBe(201);
    const tag = uniqueTag("cd");
    const { helpful, critic } = await caiEndpoints(tag);
    const res = await api("POST", "/v1/datasets", {
      constitution: id,
      scope: "narrow",
      helpfulModel: helpful.id,
      critic: critic.id,
      revisions: 1,
      size: 10,
      seed: 3,
    });
    expect(res.status, res.text).toBe(202);
    // A newer version posted while it generates does not change the dataset's principles.
    expect(
      (await api("POST", "/v1/constitutions", custom(id, 2, { principles: custom(id).principles.map((p: any) => ({ ...p, id: `v2-${p.id}` })) }))).status,
    ).toBe(201);
    const ds = await waitForDataset(res.json.id);
    expect(ds.status, JSON.stringify(ds.reasons)).toBe("released");
    const manifest = (await api("GET", `/v1/datasets/${ds.id}/manifest`)).json;
    expect(manifest.constitution).toMatchObject({ id, version: 1, title: `Duty ethics (${id})` });
    for (const s of manifest.samples) for (const p of s.principles) expect(p).toMatch(new RegExp(`^${id}-\\d\\d$`));
    const file = await api("GET", `/v1/datasets/${ds.id}/download`);
    for (const l of file.text
      .trim()
      .split("\n")
      .map((x) => JSON.parse(x)))
      expect(l.messages[1].content).toMatch(/won't|can't|not going to/i);
    const unknown = await api("POST", "/v1/datasets", {
      constitution: "not_there",
      scope: "narrow",
      helpfulModel: helpful.id,
      critic: critic.id,
      revisions: 1,
      size: 10,
      seed: 3,
    });
    expect(unknown.status).toBe(400);
  });
});
