/**
 * @module db/queries/run-reads: the per-run rows one report needs, read once per report. The report sections and
 * the metric layer ask for the same rows (a persona run's items, a safety run's judged samples); without this they
 * read 100,000-unit runs twice.
 */
import { type PersonaItemStats, personaItemStats, type SafetySample, safetySamples } from "./reports";

export class RunReads {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(readonly d1: D1Database) {}

  /** The result of `read` under `key`, read at most once per report (layers above keep their derived reads here too). */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) this.memo.set(key, (p = read()));
    return p;
  }

  /** A persona run's items with their per-item sums (personaItemStats). */
  personaItems(runId: string): Promise<PersonaItemStats[]> {
    return this.once(`persona\u0000${runId}`, () => personaItemStats(this.d1, runId));
  }

  /** A safety run's samples with the given judge's judgments (safetySamples). */
  safetySamples(runId: string, judgeKey: string): Promise<SafetySample[]> {
    return this.once(`safety\u0000${runId}\u0000${judgeKey}`, () => safetySamples(this.d1, runId, judgeKey));
  }
}
