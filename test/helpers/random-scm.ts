/**
 * A small random linear-Gaussian SCM for structure tests and measurements: a random DAG over m
 * nodes (each pair i < j joined with probability `density`, in index order), weights of magnitude
 * U(0.5, 1.5) with random signs, unit-variance noise. With `readingError`, every column is read
 * with independent Gaussian noise of that share of its sd (as an encoder reads its latents).
 */
import { Rng } from '../../src/data/rng.ts';

export interface RandomScm {
  m: number;
  /** 0/1, A[i][j] = 1 for i -> j */
  adjacency: number[][];
  values: Float64Array;
  /** the values before the reading error */
  truth: Float64Array;
}

export function randomLinearScm(
  m: number,
  n: number,
  o: { density?: number; seed?: number; readingError?: number } = {},
): RandomScm {
  const rng = new Rng(o.seed ?? 0);
  const density = o.density ?? 0.3;
  const W = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < m; i++)
    for (let j = i + 1; j < m; j++)
      if (rng.float() < density) W[i][j] = (rng.float() < 0.5 ? -1 : 1) * (0.5 + rng.float());
  const truth = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < m; j++) {
      let v = rng.normal();
      for (let i = 0; i < j; i++) if (W[i][j]) v += W[i][j] * truth[r * m + i];
      truth[r * m + j] = v;
    }
  const values = Float64Array.from(truth);
  const e = o.readingError ?? 0;
  if (e > 0)
    for (let j = 0; j < m; j++) {
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < n; r++) {
        s += truth[r * m + j];
        s2 += truth[r * m + j] ** 2;
      }
      const sd = Math.sqrt(s2 / n - (s / n) ** 2);
      for (let r = 0; r < n; r++) values[r * m + j] += e * sd * rng.normal();
    }
  return { m, adjacency: W.map((row) => row.map((w) => (w ? 1 : 0))), values, truth };
}
