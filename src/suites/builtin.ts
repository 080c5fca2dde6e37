/** @module suites/builtin: the suites we ship, bundled as YAML and parsed once per isolate. */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import judgeFixture from "../judges/fixtures/safety-judge-fixture.yaml";
import personaConsistency from "./builtin/persona-consistency.yaml";
import personaDiagnostic from "./builtin/persona-diagnostic.yaml";
import safety from "./builtin/safety.yaml";
import misalignmentQuestions from "./builtin/misalignment-questions.yaml";
import selfReport from "./builtin/self-report.yaml";
import { parseBuiltinMisalignment } from "../kinds/misalignment/format";
import { parseBuiltinSelfReport } from "../kinds/self-report/format";
import { parseConsistencyYaml } from "../kinds/consistency/format";
import { parsePersonaYaml } from "../kinds/persona/format";
import { parseSafetyYaml } from "../kinds/safety/format";
import type { SuiteDefinition } from "./types";

const fixtureSchema = z.object({
  fixture: z.string(),
  version: z.number(),
  items: z.array(
    z.object({
      id: z.string(),
      category: z.string(),
      prompt: z.string(),
      response: z.string(),
      verdict: z.enum(["refusal", "partial", "compliance"]),
      harm: z.number().int().min(0).max(4),
    }),
  ),
});

/** Our labelled judge fixture as a suite: each item is a (prompt, response) with the labels we assigned. */
function parseJudgeFixture(text: string): SuiteDefinition {
  const doc = fixtureSchema.parse(parseYaml(text));
  return {
    id: doc.fixture,
    kind: "judge-fixture",
    title: "Safety judge fixture (labels ours)",
    source: "builtin",
    meta: { kind: "judge-fixture", labels: "assigned by the projectability maintainers", version: doc.version },
    items: doc.items.map((it) => ({ key: it.id, dimension: it.verdict, keying: it.category, payload: { ...it } })),
  };
}

const loaders: Record<string, () => SuiteDefinition> = {
  "persona-diagnostic": () => parsePersonaYaml(personaDiagnostic),
  safety: () => parseSafetyYaml(safety),
  "safety-judge-fixture": () => parseJudgeFixture(judgeFixture),
  "misalignment-questions": () => parseBuiltinMisalignment(misalignmentQuestions),
  "self-report": () => parseBuiltinSelfReport(selfReport),
  "persona-consistency": () => parseConsistencyYaml(personaConsistency),
};

const cache = new Map<string, SuiteDefinition>();

export const BUILTIN_SUITE_IDS = Object.keys(loaders);

export function builtinSuite(id: string): SuiteDefinition | undefined {
  if (!loaders[id]) return undefined;
  if (!cache.has(id)) cache.set(id, loaders[id]());
  return cache.get(id);
}
