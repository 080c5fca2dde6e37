/** @module stats/vector — dot product, Euclidean norm, cosine similarity and scalar projection for embedding-style vectors. */

function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length: ${a.length} vs ${b.length}`);
}

/** Dot product of two equal-length vectors. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertSameLength(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Euclidean (L2) norm. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Cosine similarity dot(a, b) / (|a|·|b|); NaN when either norm is 0. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = dot(a, b);
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return NaN;
  return Math.max(-1, Math.min(1, d / (na * nb)));
}

/** Signed length of the projection of `v` onto the direction of `onto`: dot(v, onto) / |onto|; NaN when |onto| = 0. */
export function projectionLength(v: ArrayLike<number>, onto: ArrayLike<number>): number {
  const d = dot(v, onto);
  const n = norm(onto);
  return n === 0 ? NaN : d / n;
}
