/** @module stats/rng — seeded pseudo-random numbers (sfc32) and string hashing (FNV-1a) so every resampled statistic is reproducible. */

/** FNV-1a 32-bit offset basis (Fowler, Noll & Vo; http://www.isthe.com/chongo/tech/comp/fnv/). */
const FNV_OFFSET_BASIS = 0x811c9dc5;
/** FNV-1a 32-bit prime (same source as FNV_OFFSET_BASIS). */
const FNV_PRIME = 0x01000193;
/** 2^32, turns a 32-bit unsigned integer into a uniform number in [0, 1). */
const UINT32_RANGE = 4294967296;
/** sfc32 initial state words (golden ratio, pi, e fractions); the seed is mixed into a and d (Doty-Humphrey, PractRand sfc32). */
const SFC32_INIT_A = 0x9e3779b9;
const SFC32_INIT_B = 0x243f6a88;
const SFC32_INIT_C = 0xb7e15162;
/** MurmurHash3 fmix32 multipliers (Appleby, SMHasher), used to scramble the seed into the state. */
const FMIX32_MUL_1 = 0x85ebca6b;
const FMIX32_MUL_2 = 0xc2b2ae35;
/** Rounds discarded after seeding so that nearby seeds give unrelated streams (PractRand recommends 12 or more for sfc32). */
const SFC32_WARMUP_ROUNDS = 15;
/** Separator placed between the parts given to seedFrom (ASCII unit separator, absent from ordinary identifiers). */
const SEED_PART_SEPARATOR = "\u001f";

const encoder = new TextEncoder();

/** MurmurHash3 32-bit finaliser: a bijective avalanche so that nearby seeds start from unrelated states. */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, FMIX32_MUL_1);
  h ^= h >>> 13;
  h = Math.imul(h, FMIX32_MUL_2);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Seeded uniform generator on [0, 1) using sfc32 (Small Fast Counting, 128-bit state, period at least 2^32 and
 * typically about 2^127; passes PractRand and BigCrush). The same seed always yields the same stream; the seed is
 * reduced to 32 bits.
 */
export function createRng(seed: number): () => number {
  let a = SFC32_INIT_A ^ fmix32(seed);
  let b = SFC32_INIT_B | 0;
  let c = SFC32_INIT_C | 0;
  let d = seed | 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / UINT32_RANGE;
  };
  for (let i = 0; i < SFC32_WARMUP_ROUNDS; i++) next();
  return next;
}

/** 32-bit FNV-1a hash of the UTF-8 bytes of `s`, as an unsigned integer. */
export function hashString(s: string): number {
  let h = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(s)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * Derives a 32-bit seed from any mix of strings and numbers (e.g. `seedFrom("run", runId, "dimension", dim)`).
 * Parts are stringified, so `1` and `"1"` give the same seed.
 */
export function seedFrom(...parts: (string | number)[]): number {
  return hashString(parts.map((p) => String(p)).join(SEED_PART_SEPARATOR));
}
