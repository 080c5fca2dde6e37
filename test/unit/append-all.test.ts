/**
 * Large runs hold hundreds of thousands of observations: appending them with `push(...items)` passes every item as
 * an argument and overflows the call stack ("Maximum call stack size exceeded", seen on a 100,000-unit run report).
 */
import { describe, expect, it } from "vitest";
import { appendAll, maxOf } from "../../src/lib/arrays";

describe("appendAll and maxOf", () => {
  it("append and take the maximum of 500,000 items, where spreading them as arguments overflows the stack", () => {
    const big = Array.from({ length: 500_000 }, (_, i) => i);
    expect(() => [].push(...(big as never[]))).toThrow(RangeError);
    const target = [-1];
    expect(appendAll(target, big)).toBe(target);
    expect(target).toHaveLength(500_001);
    expect(target[500_000]).toBe(499_999);
    expect(maxOf(big)).toBe(499_999);
    expect(maxOf([])).toBe(-Infinity);
  });
});
