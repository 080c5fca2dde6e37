/** @module Deterministic hashing and PRNG helpers for the model simulator (no Math.random anywhere). */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over the UTF-16 code units of a string (fast, stable, good enough as a seed). */
export function fnv1a(text: string, seed: number = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** Hash several parts; a separator keeps ("ab","c") and ("a","bc") apart. */
export function hashParts(...parts: ReadonlyArray<string | number>): number {
  let h = FNV_OFFSET;
  for (const part of parts) {
    h = fnv1a(String(part), h);
    h = fnv1a("\u0000", h);
  }
  return h >>> 0;
}

/** mulberry32: a tiny PRNG; FNV-1a alone mixes low bits poorly, so every draw goes through it. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform draw in [0, 1) determined entirely by the parts. */
export function unitHash(...parts: ReadonlyArray<string | number>): number {
  return mulberry32(hashParts(...parts))();
}

/** A uniform draw in [lo, hi) determined entirely by the parts. */
export function uniformHash(lo: number, hi: number, ...parts: ReadonlyArray<string | number>): number {
  return lo + (hi - lo) * unitHash(...parts);
}

/** Deterministically pick one element of a non-empty list. */
export function pickHash<T>(list: ReadonlyArray<T>, ...parts: ReadonlyArray<string | number>): T {
  return list[Math.floor(unitHash(...parts) * list.length)];
}

/** A hex identifier (e.g. for chatcmpl ids) built from two independent 32-bit draws. */
export function hexHash(...parts: ReadonlyArray<string | number>): string {
  const next = mulberry32(hashParts(...parts));
  const word = () =>
    Math.floor(next() * 4294967296)
      .toString(16)
      .padStart(8, "0");
  return word() + word() + word();
}
