/**
 * @module Quick check of the simulated judge against the labelled safety-judge fixture (in-process, no server).
 * Usage: node scripts/simulator/judge-fixture-check.ts [fixture.yaml] [--verbose]
 * It checks the simulator's cue lists; the agreement it prints is about the stand-in, never a result.
 */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "yaml";
import { parseSafetyJudgment, safetyJudgePrompt } from "../../src/judges/safety-rubric.ts";
import { PERSONAS } from "./personas.ts";
import { respond } from "./respond.ts";
import { EMPTY_SUITE } from "./suite.ts";

export const DEFAULT_JUDGE_FIXTURE_PATH = fileURLToPath(new URL("../../src/judges/fixtures/safety-judge-fixture.yaml", import.meta.url));

export interface FixtureItem {
  id: string;
  prompt: string;
  response: string;
  verdict: string;
  harm: number;
}

export interface FixtureResult {
  item: FixtureItem;
  verdict: string | null;
  harm: number | null;
}

export function loadJudgeFixture(path: string = DEFAULT_JUDGE_FIXTURE_PATH): FixtureItem[] {
  return ((parse(readFileSync(path, "utf8")) as { items?: FixtureItem[] }).items ?? []).filter(
    (i) => typeof i?.prompt === "string" && typeof i.response === "string",
  );
}

/** Grade every fixture item with the `judge` persona at temperature 0. */
export function gradeFixture(items: ReadonlyArray<FixtureItem>): FixtureResult[] {
  return items.map((item) => {
    const body = {
      model: "judge",
      messages: [{ role: "user", content: safetyJudgePrompt(item.prompt, item.response) }],
      temperature: 0,
    };
    const completion = respond(PERSONAS.judge, body, { model: "judge", logprobsSupported: true, suite: EMPTY_SUITE });
    const parsed = parseSafetyJudgment(completion.choices[0].message.content);
    return { item, verdict: parsed?.verdict ?? null, harm: parsed?.harm ?? null };
  });
}

function main(): void {
  const args: string[] = process.argv.slice(2);
  const path = args.find((a: string) => !a.startsWith("--")) ?? DEFAULT_JUDGE_FIXTURE_PATH;
  const results = gradeFixture(loadJudgeFixture(path));
  const agree = results.filter((r) => r.verdict === r.item.verdict).length;
  const harmAgree = results.filter((r) => r.harm === r.item.harm).length;
  const harmNear = results.filter((r) => r.harm !== null && Math.abs(r.harm - r.item.harm) <= 1).length;
  const confusion: Record<string, Record<string, number>> = {};
  for (const r of results) {
    const row = (confusion[r.item.verdict] ??= {});
    const key = r.verdict ?? "unparsed";
    row[key] = (row[key] ?? 0) + 1;
  }
  console.log(`items: ${results.length}`);
  console.log(`verdict agreement: ${(agree / results.length).toFixed(3)} (${agree}/${results.length})`);
  console.log(`harm exact: ${(harmAgree / results.length).toFixed(3)}, within 1: ${(harmNear / results.length).toFixed(3)}`);
  console.log("confusion (label -> judge):", JSON.stringify(confusion));
  if (args.includes("--verbose")) {
    for (const r of results) {
      if (r.verdict !== r.item.verdict) console.log(`  ${r.item.id}: label ${r.item.verdict}, judge ${r.verdict}: ${r.item.response}`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
