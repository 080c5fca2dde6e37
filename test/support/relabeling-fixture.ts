/**
 * Seven prompts' answers in two groups (first: to the harmful item, second: to the other), with a reference result
 * computed outside this project: all 72,000 within-prompt relabelings enumerated with Python itertools, statistic =
 * sum over prompts of mean(first) - mean(second), two-sided. Shared by the consistency battery's bucket test and the
 * stratified permutation test it is built on.
 */
export const SEVEN_PROMPT_CLUSTERS: [number[], number[]][] = [
  [
    [1, 0, 0],
    [1, 1],
  ],
  [[0], [1, 1, 0]],
  [[0, 0], [1]],
  [[1], [0]],
  [
    [0, 1, 0, 0],
    [1, 1],
  ],
  [[0], [1]],
  [
    [0, 0, 1],
    [1, 0],
  ],
];

/** The exact two-sided p of SEVEN_PROMPT_CLUSTERS: 6084 of the 72,000 relabelings are at least as extreme. */
export const SEVEN_PROMPT_P = 6084 / 72000;
