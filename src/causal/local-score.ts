/**
 * The decomposable score both structure searches minimize (exact-search.ts, greedy-search.ts):
 * node j with parents S scores
 *
 *   log( residual variance of j given S ) + perParent |S|
 *
 * the Gaussian log-likelihood with one variance per node, in nats per row times two. Columns are
 * standardized first, so units do not matter (Reisach et al. 2021). Rows where j was set by do()
 * are left out of j's fit (the likelihood masking of DCDI and GIES), which lets interventional
 * rows orient edges.
 *
 * Two residual variances:
 * - `knn` (default): leave-one-out k-nearest-neighbour regression of j on S; linear and nonlinear
 *   mechanisms are fitted alike.
 * - `linear`: least squares from the columns' covariance. With `readingError` (values read with
 *   independent noise, e.g. an encoder's latents), the noise variance is taken off the covariance's
 *   diagonal first (errors-in-variables regression), so a mis-read parent does not make its own
 *   parents look like direct causes of its children.
 *
 * The per-parent cost follows the n_j rows scored for j (defaultEdgeCost): the linear score's is
 * BIC's, log(n_j) / n_j (twice BIC's (1/2) log n per parameter, over n, as the score is twice the
 * mean log-likelihood); the k-NN score's follows the noise of a leave-one-out estimate instead,
 * sqrt(1 / (2 n_j)). No constant is tuned on a world.
 */
import { OptionError } from '../errors.ts';

export const SCORES = ['knn', 'linear'] as const;
export type ScoreKind = (typeof SCORES)[number];

export interface LocalScoreOptions {
  /** [n, m] 1 where the row's node was set by intervention; default all observational */
  intervened?: ArrayLike<number>;
  /** residual variance: k-NN (default) or linear */
  score?: ScoreKind;
  /** neighbours of the k-NN regression (default 25) */
  k?: number;
  /** cost per parent; default defaultEdgeCost(score, n_j) */
  edgeCost?: number;
  /** at most this many rows are used, the first ones (default 2000; a k-NN fit is O(n^2)) */
  maxRows?: number;
  /**
   * Reading error of each column (or one for all): the sd of independent noise on the values as a
   * share of the column's sd (0.15: the values are the truth plus noise of 15% of their spread).
   * Needs the linear score.
   */
  readingError?: number | readonly number[];
}

export interface LocalScorer {
  m: number;
  /** rows used */
  rows: number;
  /** node j's score with parents `ps` (indices), penalty included */
  score(j: number, ps: readonly number[]): number;
  /** node j's cost per parent */
  perParent(j: number): number;
}

export function localScorer(
  values: ArrayLike<number>,
  n: number,
  m: number,
  o: LocalScoreOptions = {},
): LocalScorer {
  const score = o.score ?? 'knn';
  if (!SCORES.includes(score))
    throw new OptionError(`Expected one of ${SCORES.join(', ')} for score but received '${score}'`);
  const k = o.k ?? 25;
  if (!(Number.isInteger(k) && k >= 1))
    throw new OptionError(`Expected an integer >= 1 for k but received ${k}`);
  if (o.edgeCost !== undefined && !(Number.isFinite(o.edgeCost) && o.edgeCost >= 0))
    throw new OptionError(`Expected a number >= 0 for edgeCost but received ${o.edgeCost}`);
  const rows = Math.min(n, o.maxRows ?? 2000);
  const noise = readingErrors(o.readingError, m);
  if (noise.some((v) => v > 0) && score !== 'linear')
    throw new OptionError(
      'readingError needs the linear score (score: linear): a k-NN fit cannot take it off',
    );
  const cols = standardizedColumns(values, rows, m);
  const scoredRows = Array.from({ length: m }, (_, j) =>
    Int32Array.from({ length: rows }, (_, r) => r).filter((r) => !o.intervened?.[r * m + j]),
  );
  const perParent = scoredRows.map((r) => o.edgeCost ?? defaultEdgeCost(score, r.length));
  // linear: each node's covariance over its scored rows, reading-error variance off the diagonal
  const covariances = score === 'linear' ? scoredRows.map((r) => covarianceOf(cols, r, noise)) : undefined;
  const residual = (j: number, ps: readonly number[]) =>
    covariances
      ? linearResidualVariance(covariances[j], j, ps)
      : knnResidualVariance(cols, scoredRows[j], j, ps, k);
  return {
    m,
    rows,
    score: (j, ps) => Math.log(Math.max(residual(j, ps), 1e-12)) + perParent[j] * ps.length,
    perParent: (j) => perParent[j],
  };
}

/**
 * The per-parent cost on n scored rows. Linear: BIC's log(n) / n. k-NN: sqrt(1 / (2n)), half the
 * standard deviation of a log variance estimated from n Gaussian residuals (sqrt(2/n)): a useless
 * parent's leave-one-out gain is noise of that order, not of log(n) / n (measured: on a
 * linear chain a -> b -> c, adding a to c's parents b gains up to 0.035 at n = 1000 and 0.019 at
 * n = 2000; docs/results/structure.md). About the old constant 0.02 at n = 1000.
 */
export function defaultEdgeCost(score: ScoreKind, n: number): number {
  if (n < 2) return 0;
  return score === 'linear' ? Math.log(n) / n : Math.sqrt(1 / (2 * n));
}

function readingErrors(r: number | readonly number[] | undefined, m: number): number[] {
  const list =
    r === undefined
      ? new Array<number>(m).fill(0)
      : typeof r === 'number'
        ? new Array<number>(m).fill(r)
        : [...r];
  if (list.length !== m) throw new OptionError(`readingError: ${list.length} values for ${m} columns`);
  for (const v of list)
    if (!(Number.isFinite(v) && v >= 0 && v < 1))
      throw new OptionError(
        `Expected reading errors in [0, 1) (a share of each column's sd) but received ${v}`,
      );
  return list;
}

/** Columns of the first `rows` rows, each (x - mean) / std (a constant column becomes 0). */
export function standardizedColumns(values: ArrayLike<number>, rows: number, m: number): Float64Array[] {
  return Array.from({ length: m }, (_, j) => {
    const c = Float64Array.from({ length: rows }, (_, r) => values[r * m + j]);
    const mean = c.reduce((s, v) => s + v, 0) / rows;
    const sd = Math.sqrt(c.reduce((s, v) => s + (v - mean) ** 2, 0) / rows);
    return c.map((v) => (sd > 1e-12 ? (v - mean) / sd : 0));
  });
}

/** Covariance over `rows`, minus noise[j]^2 on the diagonal (noise as a share of the sd). */
function covarianceOf(cols: Float64Array[], rows: Int32Array, noise: readonly number[]): Float64Array[] {
  const m = cols.length;
  const n = rows.length;
  const mean = cols.map((c) => {
    let s = 0;
    for (const r of rows) s += c[r];
    return n > 0 ? s / n : 0;
  });
  return Array.from({ length: m }, (_, a) =>
    Float64Array.from({ length: m }, (_, b) => {
      let s = 0;
      for (const r of rows) s += (cols[a][r] - mean[a]) * (cols[b][r] - mean[b]);
      const c = n > 0 ? s / n : 0;
      // the columns are standardized over all rows: the noise variance is noise^2 in those units
      return a === b ? c - noise[a] ** 2 : c;
    }),
  );
}

/** C_jj - C_jS C_SS^-1 C_Sj by Cholesky (a singular C_SS: the residual of the others, clamped at 0). */
function linearResidualVariance(C: Float64Array[], j: number, ps: readonly number[]): number {
  const p = ps.length;
  if (p === 0) return C[j][j];
  // Cholesky of C_SS with a tiny ridge, then v = L^-1 C_Sj; residual = C_jj - |v|^2
  const L = Array.from({ length: p }, () => new Float64Array(p));
  for (let a = 0; a < p; a++)
    for (let b = 0; b <= a; b++) {
      let s = C[ps[a]][ps[b]] + (a === b ? 1e-9 : 0);
      for (let t = 0; t < b; t++) s -= L[a][t] * L[b][t];
      L[a][b] = a === b ? Math.sqrt(Math.max(s, 1e-12)) : s / L[b][b];
    }
  let explained = 0;
  const v = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    let s = C[ps[a]][j];
    for (let t = 0; t < a; t++) s -= L[a][t] * v[t];
    v[a] = s / L[a][a];
    explained += v[a] * v[a];
  }
  return C[j][j] - explained;
}

/**
 * Mean squared leave-one-out error of the k-nearest-neighbour regression of column j on the
 * columns `ps`, over the rows `rows` (neighbours drawn from the same rows). No parents: the
 * variance over those rows.
 */
export function knnResidualVariance(
  cols: Float64Array[],
  rows: Int32Array,
  j: number,
  ps: readonly number[],
  k: number,
): number {
  const y = cols[j];
  const n = rows.length;
  if (n === 0) return 1;
  if (ps.length === 0) {
    let mean = 0;
    for (const r of rows) mean += y[r];
    mean /= n;
    let s = 0;
    for (const r of rows) s += (y[r] - mean) ** 2;
    return s / n;
  }
  const kk = Math.min(k, n - 1);
  if (kk < 1) return 1;
  if (ps.length === 1) return knnResidualVariance1d(cols[ps[0]], y, rows, kk);
  // Rows sorted by the first parent: a row's neighbours are searched outwards from its place,
  // and the search stops on a side once the first coordinate's gap alone exceeds the kk-th best
  // distance so far (the same neighbours as a scan of every row, in O(n) only where the data are
  // dense in that coordinate)
  const X = ps.map((p) => cols[p]);
  const x0 = X[0];
  const sorted = Int32Array.from(rows).sort((a, b) => x0[a] - x0[b]);
  const bestD = new Float64Array(kk);
  const bestY = new Float64Array(kk);
  let sum = 0;
  for (let p = 0; p < n; p++) {
    const r = sorted[p];
    let filled = 0;
    const offer = (q: number) => {
      let d = 0;
      for (const x of X) {
        const t = x[r] - x[q];
        d += t * t;
      }
      if (filled === kk && d >= bestD[kk - 1]) return;
      let pos = filled < kk ? filled++ : kk - 1;
      while (pos > 0 && bestD[pos - 1] > d) {
        bestD[pos] = bestD[pos - 1];
        bestY[pos] = bestY[pos - 1];
        pos--;
      }
      bestD[pos] = d;
      bestY[pos] = y[q];
    };
    let lo = p - 1;
    let hi = p + 1;
    while (lo >= 0 || hi < n) {
      const gapLo = lo >= 0 ? (x0[r] - x0[sorted[lo]]) ** 2 : Number.POSITIVE_INFINITY;
      const gapHi = hi < n ? (x0[sorted[hi]] - x0[r]) ** 2 : Number.POSITIVE_INFINITY;
      if (filled === kk && Math.min(gapLo, gapHi) >= bestD[kk - 1]) break;
      if (gapLo <= gapHi) offer(sorted[lo--]);
      else offer(sorted[hi++]);
    }
    let pred = 0;
    for (let t = 0; t < kk; t++) pred += bestY[t];
    sum += (y[r] - pred / kk) ** 2;
  }
  return sum / n;
}

/**
 * One parent: its kk nearest neighbours are a window of the rows sorted by it, found by growing
 * the window from each row's place (O(n log n + n kk) instead of O(n^2)). Ties at equal distance
 * may pick other rows than the general fit; their mean differs only there.
 */
function knnResidualVariance1d(x: Float64Array, y: Float64Array, rows: Int32Array, kk: number): number {
  const n = rows.length;
  const sorted = Int32Array.from(rows).sort((a, b) => x[a] - x[b]);
  let sum = 0;
  for (let p = 0; p < n; p++) {
    const r = sorted[p];
    let lo = p - 1;
    let hi = p + 1;
    let pred = 0;
    for (let t = 0; t < kk; t++) {
      const takeLo = hi >= n || (lo >= 0 && x[r] - x[sorted[lo]] <= x[sorted[hi]] - x[r]);
      pred += y[sorted[takeLo ? lo-- : hi++]];
    }
    sum += (y[r] - pred / kk) ** 2;
  }
  return sum / n;
}
