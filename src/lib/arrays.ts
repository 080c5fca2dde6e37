/**
 * @module lib/arrays: array helpers safe at any size. `target.push(...items)` and `Math.max(...items)` pass every item
 * as a call argument and overflow the stack past about 100,000 items, which a large run's observations reach.
 */

/** Appends every item to `target` (in place) and returns it. */
export function appendAll<T>(target: T[], items: readonly T[]): T[] {
  for (const item of items) target.push(item);
  return target;
}

/** The largest value, or -Infinity for an empty list (as Math.max()). */
export function maxOf(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** Groups in one pass (appending in place: copying the group per element was quadratic, seconds at 100,000 units). */
export function groupBy<T>(list: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of list) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return m;
}
