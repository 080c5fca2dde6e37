/** @module stats — the project's statistics toolkit (see docs/statistics.md for which method is used where). */

export * from "./rng.ts";
export * from "./descriptive.ts";
export * from "./distributions.ts";
export * from "./intervals.ts";
export * from "./bootstrap.ts";
export * from "./tests.ts";
export * from "./vector.ts";
export * from "./inference.ts";
