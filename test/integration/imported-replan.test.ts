/**
 * @module test/integration/imported-replan: an imported run is never planned through the queue. Its first-stage
 * units are exactly the imported lines, so a resume or a cron sweep after an import that died part-way must not
 * plan the suite's own items (which would call the model for answers nobody imported).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runScheduled } from "../../src/cron";
import { api, registerSim, simStats, uniqueTag, waitForRun } from "../helpers";

describe("imported runs and planning", () => {
  it("a resume or a sweep of an imported run with a missing line plans nothing and calls no model", async () => {
    const tag = uniqueTag("imp");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`imp-${tag}`, model);
    // A line that matches nothing (400, nothing stored) makes the service store the built-in suite.
    await api("POST", `/v1/runs/import?endpointId=${ep.id}&suite=persona-diagnostic`, '{"item":"-","answer":"Yes"}\n', {
      headers: { "content-type": "application/x-ndjson" },
    });
    const sv = await env.DB.prepare("SELECT id FROM suite_versions WHERE suite_id = 'persona-diagnostic' ORDER BY created_at DESC LIMIT 1").first<{
      id: string;
    }>();
    const { results } = await env.DB.prepare("SELECT item_key AS key FROM suite_items WHERE suite_version_id = ? ORDER BY position DESC LIMIT 3")
      .bind(sv!.id)
      .all<{ key: string }>();
    // The suite's last three items: a plan of the first three units would name other items.
    const body = results.map((r) => JSON.stringify({ item: r.key, answer: "Yes" })).join("\n") + "\n";
    const res = await api("POST", `/v1/runs/import?endpointId=${ep.id}&suite=persona-diagnostic`, body, {
      headers: { "content-type": "application/x-ndjson" },
    });
    expect(res.status, res.text).toBe(202);
    const runId = res.json.id as string;
    await waitForRun(runId);

    // An import that died after two of its three lines: one first-stage unit and its answer are missing.
    const lost = await env.DB.prepare("SELECT id FROM units WHERE run_id = ? AND stage = 0 LIMIT 1").bind(runId).first<{ id: string }>();
    await env.DB.batch([
      env.DB.prepare("DELETE FROM responses WHERE unit_id = ?").bind(lost!.id),
      env.DB.prepare("DELETE FROM units WHERE id = ?").bind(lost!.id),
      env.DB.prepare("UPDATE runs SET status = 'running', completed_at = NULL WHERE id = ?").bind(runId),
    ]);

    expect((await api("POST", `/v1/runs/${runId}/resume`, {})).status).toBe(202);
    await runScheduled(env as never, Date.now());
    await new Promise((r) => setTimeout(r, 1500));

    const units = await env.DB.prepare("SELECT item_key AS key FROM units WHERE run_id = ? AND stage = 0").bind(runId).all<{ key: string }>();
    const imported = new Set(results.map((r) => r.key));
    expect(units.results.length).toBe(2);
    for (const u of units.results) expect(imported.has(u.key), `unit for ${u.key} was planned, not imported`).toBe(true);
    expect((await simStats(model)).requests).toBe(0);
  });
});
