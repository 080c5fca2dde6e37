import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";

const data = inject("personaData" as never) as Record<string, string> | null;
const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

/** Imports a file; a stored version's answer is checked against the declared SuiteImported schema. */
const importFile = async (suite: string, body: string, query = "") => {
  const res = await api("POST", `/v1/suites/import?suite=${suite}${query}`, body, { headers: { "content-type": "text/plain" } });
  if (res.status === 200 || res.status === 201) expect(responseMismatches("POST", "/v1/suites/import", res.status, res.json)).toEqual([]);
  return res;
};

describe("suite import (generic checks)", () => {
  it("reports every bad line with its line number and imports nothing", async () => {
    const good = JSON.stringify({
      question: 'Is the following statement something you would say?\n"A"',
      statement: "A",
      answer_matching_behavior: " Yes",
      answer_not_matching_behavior: " No",
      label_confidence: 0.9,
    });
    const file = [
      good,
      "{oops",
      JSON.stringify({ question: "Q", answer_matching_behavior: " Maybe", answer_not_matching_behavior: " No" }),
      "",
      JSON.stringify({ statement: "no question" }),
    ].join("\n");
    const before = [await count("suite_versions"), await count("suite_items")];
    const res = await importFile("bad-file", file, "&dimension=deontology");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_request");
    expect(res.json.error.details.lines.map((l: any) => l.line)).toEqual([2, 3, 5]);
    expect([await count("suite_versions"), await count("suite_items")]).toEqual(before);
    expect((await importFile("x", good, "&dimension=deontology")).status).toBe(201);
    expect((await api("POST", "/v1/suites/import?suite=y&dimension=deontology", good, { admin: false })).status).toBe(401);
    expect((await importFile("persona-diagnostic", good, "&dimension=deontology")).status).toBe(409);
    expect((await importFile("z", good, "&dimension=Not A Slug")).status).toBe(400);
  });

  it("refuses a body over the size limit with a 413", async () => {
    const res = await importFile("huge", "x".repeat(5_000_001), "&dimension=deontology");
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe("payload_too_large");
  });

  it("editing the content makes a new version; the same content keeps its version", async () => {
    const line = (s: string) => JSON.stringify({ question: `Q ${s}`, answer_matching_behavior: " No", answer_not_matching_behavior: " Yes" });
    const v1 = await importFile("edited", [line("a"), line("b")].join("\n"), "&dimension=virtue_ethics");
    const again = await importFile("edited", [line("a"), line("b")].join("\n"), "&dimension=virtue_ethics");
    const v2 = await importFile("edited", [line("a"), line("c")].join("\n"), "&dimension=virtue_ethics");
    expect(v1.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.version).toBe(v1.json.version);
    expect(v2.status).toBe(201);
    expect(v2.json.version).not.toBe(v1.json.version);
    const suite = (await api("GET", "/v1/suites/edited")).json;
    expect(responseMismatches("GET", "/v1/suites/edited", 200, suite)).toEqual([]);
    const list = (await api("GET", "/v1/suites")).json;
    expect(responseMismatches("GET", "/v1/suites", 200, list)).toEqual([]);
    expect(suite.versions.map((v: any) => v.id).sort()).toEqual([v1.json.version, v2.json.version].sort());
  });
});

describe.skipIf(!data)(`public persona-eval files${data ? "" : " (skipped: ../shared/data/anthropic-persona is absent)"}`, () => {
  it("imports the public JSONL, maps file names to canonical dimensions, and runs it", async () => {
    const deon = await importFile(
      "anthropic-deontology",
      data!["anthropic-persona/subscribes-to-deontology.jsonl"],
      "&filename=subscribes-to-deontology.jsonl",
    );
    expect(deon.status, deon.text).toBe(201);
    expect(deon.json).toMatchObject({ items: 1000, dimension: "deontology", canonical: true });
    const defer = await importFile(
      "anthropic-defer",
      data!["anthropic-persona/willingness-to-defer-to-authorities.jsonl"],
      "&filename=willingness-to-defer-to-authorities.jsonl",
    );
    expect(defer.json).toMatchObject({ items: 1000, dimension: "deference_to_authority", canonical: true });
    const other = await importFile(
      "anthropic-power",
      data!["anthropic-persona/desire-for-acquiring-power.jsonl"],
      "&filename=desire-for-acquiring-power.jsonl",
    );
    expect(other.json).toMatchObject({ dimension: "desire_for_acquiring_power", canonical: false });

    // The five public fields are kept, and half the items are keyed to each answer.
    const keyed = await env.DB.prepare("SELECT keying, count(*) AS n FROM suite_items WHERE suite_version_id = ? GROUP BY keying")
      .bind(deon.json.version)
      .all();
    expect(keyed.results).toEqual([
      { keying: "no", n: 500 },
      { keying: "yes", n: 500 },
    ]);
    const item = await env.DB.prepare("SELECT payload FROM suite_items WHERE suite_version_id = ? LIMIT 1")
      .bind(deon.json.version)
      .first<{ payload: string }>();
    expect(Object.keys(JSON.parse(item!.payload)).sort()).toEqual([
      "answer_matching_behavior",
      "answer_not_matching_behavior",
      "label_confidence",
      "question",
      "statement",
    ]);

    const ep = await registerSim(uniqueTag("imp"), `base:tag=${uniqueTag()}`);
    const run = await startRun({ endpointId: ep.id, suites: ["anthropic-deontology", "anthropic-defer"], seed: 3, limit: 20 });
    expect((await waitForRun(run.id)).counts.done).toBe(40);
    const report = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    expect(report.persona.dimensions.map((d: any) => d.dimension)).toEqual(["deontology", "deference_to_authority"]);
  });
});
