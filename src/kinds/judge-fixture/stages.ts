/**
 * @module kinds/judge-fixture/stages: our labelled judge fixture (src/judges/fixtures): the run's endpoint is the
 * judge being qualified, so its one stage grades each labelled (prompt, response) with the safety rubric.
 */
import { safetyJudging } from "../safety/stages";
import type { SuiteKind } from "../types";

export const judgeFixtureKind: SuiteKind = {
  stages: {
    ask: {
      target: "model",
      ...safetyJudging((ctx) => ({ prompt: String(ctx.item.payload.prompt), response: String(ctx.item.payload.response) })),
    },
  },
};
