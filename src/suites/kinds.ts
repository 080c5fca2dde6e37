/**
 * @module suites/kinds: the registry of suite kinds. The queue consumer is generic: a kind's stages (in
 * `src/kinds/<kind>/stages.ts`) name their target (the run's model or its judge), build the request, score the
 * completion and may start the next stage (answer, then judge, then follow-ups) without touching the consumer.
 */
import { caiKind } from "../kinds/cai/stages";
import { consistency } from "../kinds/consistency/stages";
import { judgeFixtureKind } from "../kinds/judge-fixture/stages";
import { misalignmentKind } from "../kinds/misalignment/stages";
import { personaKind } from "../kinds/persona/stages";
import { safetyKind } from "../kinds/safety/stages";
import { selfReportKind } from "../kinds/self-report/stages";
import type { SuiteKind } from "../kinds/types";

/** Every suite kind the consumer can run. A new kind lives in its own folder and is registered here with one line. */
export const SUITE_KINDS: Record<string, SuiteKind> = {
  persona: personaKind,
  safety: safetyKind,
  "judge-fixture": judgeFixtureKind,
  consistency,
  misalignment: misalignmentKind,
  "self-report": selfReportKind,
  cai: caiKind,
};
