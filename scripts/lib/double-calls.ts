/** @module double-calls: the chaos script's rule for a unit whose model answered more than once. */

/** One kill of the worker and the start of its successor (epoch ms). */
export interface Restart {
  killedAt: number;
  restartedAt: number;
}

/**
 * Two answered calls for one unit with a restart between their arrivals: the first was sent by the killed worker and
 * its answer died in that worker's memory before its flush (a re-ask). Two answered calls with no restart between
 * them: a double call. The boundary is the successor's start, not the kill: the simulator shares the chaos script's
 * event loop, so a request the killed worker sent just before the kill may be read (and answered into the dead
 * socket) a few ms after it. Between the kill and the restart no worker runs, so such a call is the killed worker's.
 */
export function classifyAnsweredTwice(answeredAt: Record<string, number[]>, restarts: Restart[]): { reasked: string[]; doubleCalled: string[] } {
  const restartBetween = (a: number, b: number) => restarts.some((r) => a < r.restartedAt && r.restartedAt <= b);
  const reasked: string[] = [];
  const doubleCalled: string[] = [];
  for (const [id, at] of Object.entries(answeredAt)) {
    const sorted = [...at].sort((x, y) => x - y);
    (sorted.slice(1).every((t, i) => restartBetween(sorted[i], t)) ? reasked : doubleCalled).push(id);
  }
  return { reasked, doubleCalled };
}
