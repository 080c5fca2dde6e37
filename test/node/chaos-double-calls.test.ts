/**
 * The chaos script's double-call count (scripts/lib/double-calls.ts): two answered calls for one unit are a re-ask when
 * a worker restart lies between them (the killed worker's answer died with it), else a double call. Times are those
 * of one failing CI-like run (chaos --quick, 2026-12-06), in ms since the runs were posted.
 */
import { describe, expect, it } from "vitest";
import { classifyAnsweredTwice } from "../../scripts/lib/double-calls.ts";

const restart = { killedAt: 1125, restartedAt: 6300 };

describe("chaos double-call classification", () => {
  it("a call the simulator read 2 ms after the kill, sent by the killed worker, and its re-ask after the restart are a re-ask", () => {
    // The simulator shares chaos's event loop: a request already in its socket when the worker was killed is read after.
    const out = classifyAnsweredTwice({ unit: [1127, 56988] }, [restart]);
    expect(out).toEqual({ reasked: ["unit"], doubleCalled: [] });
  });

  it("two answered calls from one worker's life are a double call, wherever they fall", () => {
    const out = classifyAnsweredTwice({ beforeKill: [500, 1100], aroundKill: [1100, 1130], afterRestart: [52743, 56988] }, [restart]);
    expect(out).toEqual({ reasked: [], doubleCalled: ["beforeKill", "aroundKill", "afterRestart"] });
  });

  it("three answered calls need a restart between each pair; arrival order does not matter", () => {
    const two = { killedAt: 30_000, restartedAt: 35_000 };
    expect(classifyAnsweredTwice({ u: [40_000, 1000, 20_000] }, [restart, two])).toEqual({ reasked: ["u"], doubleCalled: [] });
    expect(classifyAnsweredTwice({ u: [40_000, 7000, 20_000] }, [restart, two])).toEqual({ reasked: [], doubleCalled: ["u"] });
  });
});
