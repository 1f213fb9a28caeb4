/**
 * MIC and TIC, the maximal and total information coefficients of Reshef et al., "Detecting novel
 * associations in large data sets", Science 334 (2011), computed as minepy does (Albanese et al.,
 * "minerva and minepy", Bioinformatics 2013) with its original estimator `mic_approx`
 * (ApproxMaxMI, SOM Algorithms 2, 3 and 5).
 *
 * The characteristic matrix M[i][j] holds, for grids of (i + 2) rows on y and (j + 2) columns on x
 * with (i + 2)(j + 2) <= B(n) = n^alpha, the largest mutual information a grid of that size can
 * find, normalised by log(min(rows, columns)). It is approximated in both directions:
 * 1. equipartition one axis into i + 2 rows (EquipartitionYAxis: equal counts, ties never split);
 * 2. on the other axis, group the points into clumps (maximal runs whose rows agree, ties kept
 *    together), then merge them into at most c (j_max + 1) superclumps of equal size;
 * 3. place the column boundaries on superclump edges by dynamic programming (OptimizeXAxis),
 *    giving the best MI for every number of columns at once;
 * then the entry-wise maximum of the two directions is kept. MIC is the maximum of M, TIC its sum.
 *
 * Cost: O(sum_i (q_i + x_i) k_i^2) for k_i <= c x_i superclumps: on one core, about 15-70 ms for
 * n = 1,000 (more for independent data, whose clumps are many) and under a second for n = 5,000,
 * at alpha 0.6, c 15.
 */

import { OptionError } from '../errors.ts';

/** Parameters of MINE, with minepy's defaults. */
export interface MineOptions {
  /**
   * Grid budget exponent: grids with rows * columns <= B(n) = max(n^alpha, 4) are searched.
   * In (0, 1]; a value >= 4 is taken as B itself (as minepy). Default 0.6.
   */
  alpha?: number;
  /** Clumping factor: at most c times more superclumps than columns. Default 15. */
  c?: number;
}

/** The characteristic matrix and the statistics read from it. */
export interface MineScore {
  /** Maximal information coefficient: max of the characteristic matrix, in [0, 1]. */
  mic: number;
  /** Total information coefficient: sum of the characteristic matrix (minepy `tic(norm=False)`). */
  tic: number;
  /** TIC divided by the number of entries, in [0, 1] (minepy `tic(norm=True)`). */
  ticNormalized: number;
  /** Maximum asymmetry score: max |M[i][j] - M[j][i]|. */
  mas: number;
  /** Maximum edge value: max of M over grids with two rows or two columns. */
  mev: number;
  /** M[i][j] for (i + 2) rows on y and (j + 2) columns on x; row i has floor(B / (i + 2)) - 1 entries. */
  matrix: Float64Array[];
  /** The grid budget B(n) used. */
  B: number;
}

/** Checks one variable and copies it to float64. */
function seriesOf(fn: string, name: string, v: unknown): Float64Array {
  const ok = v != null && typeof v === 'object' && typeof (v as ArrayLike<number>).length === 'number';
  if (!ok) throw new OptionError(`${fn}: Expected an array of numbers for ${name} but received ${typeof v}`);
  const a = v as ArrayLike<number>;
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== 'number' || !Number.isFinite(a[i])) {
      throw new OptionError(`${fn}: Expected a finite number for ${name}[${i}] but received ${a[i]}`);
    }
    out[i] = a[i];
  }
  return out;
}

function optionsOf(fn: string, opts: MineOptions): { alpha: number; c: number } {
  const alpha = opts.alpha ?? 0.6;
  const c = opts.c ?? 15;
  if (typeof alpha !== 'number' || !((alpha > 0 && alpha <= 1) || alpha >= 4) || !Number.isFinite(alpha)) {
    throw new OptionError(`${fn}: Expected a number in (0, 1] or >= 4 for alpha but received ${alpha}`);
  }
  if (typeof c !== 'number' || !(c > 0) || !Number.isFinite(c)) {
    throw new OptionError(`${fn}: Expected a number > 0 for c but received ${c}`);
  }
  return { alpha, c };
}

/** Indices that sort `a` ascending; ties keep their input order. */
function argsort(a: Float64Array): Int32Array {
  const idx = Array.from({ length: a.length }, (_, i) => i);
  idx.sort((i, j) => a[i] - a[j] || i - j);
  return Int32Array.from(idx);
}

/**
 * SOM Algorithm 3: split the sorted values `d` into `rows` rows of (as nearly as ties allow)
 * equal counts; runs of equal values are never split. Writes the row of each point into `out`
 * and returns the number of rows made (fewer than asked when ties are heavy).
 */
function equipartition(d: ArrayLike<number>, n: number, rows: number, out: Int32Array): number {
  let rowsize = n / rows;
  let i = 0;
  let h = 0; // points in the current row
  let curr = 0;
  while (i < n) {
    let s = 1;
    while (i + s < n && d[i + s] === d[i]) s++;
    // Open a new row when adding this run would overshoot the target more than stopping short.
    if (h !== 0 && Math.abs(h + s - rowsize) >= Math.abs(h - rowsize)) {
      curr++;
      h = 0;
      rowsize = (n - i) / (rows - curr);
    }
    for (let j = 0; j < s; j++) out[i + j] = curr;
    i += s;
    h += s;
  }
  return curr + 1;
}

/**
 * Clumps: consecutive points (in x order) with the same row form one clump, and a run of tied x
 * values that spans several rows becomes a clump of its own (a column edge cannot split ties).
 * Writes the clump of each point into `P` and returns the number of clumps.
 */
function clumps(dx: Float64Array, n: number, Q: Int32Array, P: Int32Array, scratch: Int32Array): number {
  const Qt = scratch;
  Qt.set(Q);
  let label = -1; // fresh labels for mixed tie runs, never equal to a row index
  let i = 0;
  while (i < n) {
    let s = 1;
    let mixed = false;
    while (i + s < n && dx[i + s] === dx[i]) {
      if (Qt[i + s] !== Qt[i]) mixed = true;
      s++;
    }
    if (s > 1 && mixed) {
      for (let j = 0; j < s; j++) Qt[i + j] = label;
      label--;
    }
    i += s;
  }
  let p = 0;
  P[0] = 0;
  for (let j = 1; j < n; j++) {
    if (Qt[j] !== Qt[j - 1]) p++;
    P[j] = p;
  }
  return p + 1;
}

/** Clumps merged into at most `kHat` superclumps of about equal size (equipartition of the clump labels). */
function superclumps(
  dx: Float64Array,
  n: number,
  kHat: number,
  Q: Int32Array,
  P: Int32Array,
  scratch: Int32Array,
): number {
  const p = clumps(dx, n, Q, P, scratch);
  if (p <= kHat) return p;
  // P is non-decreasing along x, so it can be equipartitioned like sorted values.
  scratch.set(P);
  return equipartition(scratch, n, kHat, P);
}

/** Natural logs of 0..n, and k log k with 0 log 0 = 0, so entropy sums need no branch. */
function logTables(n: number): { logs: Float64Array; klogk: Float64Array } {
  const logs = new Float64Array(n + 1);
  const klogk = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) {
    logs[k] = Math.log(k);
    klogk[k] = k * logs[k];
  }
  return { logs, klogk };
}

/**
 * SOM Algorithm 2 (OptimizeXAxis): given rows Q and superclumps P (both in x order, p superclumps),
 * the best normalised MI for 2..xMax columns whose edges lie on superclump edges. Writes
 * score[l - 2] for l = 2..xMax.
 */
function optimizeXAxis(
  Q: Int32Array,
  q: number,
  P: Int32Array,
  p: number,
  n: number,
  xMax: number,
  logs: Float64Array,
  klogk: Float64Array,
  score: Float64Array,
): void {
  if (p === 1 || q === 1) {
    // One column or one row: no information (and log(q) would be 0).
    score.fill(0, 0, xMax - 1);
    return;
  }
  // c[t-1]: points in superclumps 0..t-1; cum[(t-1) * q + r]: of those, the ones in row r.
  // Superclump-major layouts keep every inner loop below on contiguous memory.
  const c = new Int32Array(p);
  const cum = new Int32Array(p * q);
  for (let i = 0; i < n; i++) {
    c[P[i]]++;
    cum[P[i] * q + Q[i]]++;
  }
  for (let t = 1; t < p; t++) c[t] += c[t - 1];
  for (let t = 1; t < p; t++) for (let r = 0; r < q; r++) cum[t * q + r] += cum[(t - 1) * q + r];

  // Entropies from counts k_1..k_r with total T: log T - (1/T) sum k log k, with k log k tabulated.
  const kl = klogk;

  // H(Q) over all points.
  let HQ = Math.log(n);
  for (let r = 0; r < q; r++) HQ -= kl[cum[(p - 1) * q + r]] / n;

  // H2[t * W + s] = HP2Q[s][t]: entropy of the rows among the points of superclumps s..t-1
  // (1-based, s < t; 0 when s = t).
  const W = p + 1;
  const H2 = new Float64Array(W * W);
  for (let t = 3; t <= p; t++) {
    const ot = (t - 1) * q;
    for (let s = 2; s < t; s++) {
      const os = (s - 1) * q;
      const total = c[t - 1] - c[s - 1];
      let acc = 0;
      for (let r = 0; r < q; r++) acc += kl[cum[ot + r] - cum[os + r]];
      H2[t * W + s] = logs[total] - acc / total;
    }
  }

  // I[l * W + t]: best MI using the first t superclumps split into l columns.
  const I = new Float64Array((xMax + 1) * W);

  // Two columns <c_0, c_s, c_t>: F = H(P) - H(P, Q) restricted to the first t superclumps.
  for (let t = 2; t <= p; t++) {
    const ct = c[t - 1];
    const ot = (t - 1) * q;
    const logT = logs[ct];
    let best = Number.NEGATIVE_INFINITY;
    for (let s = 1; s <= t; s++) {
      const cs = c[s - 1];
      const os = (s - 1) * q;
      const hp = s === t ? 0 : logT - (kl[cs] + kl[ct - cs]) / ct;
      let accPQ = 0;
      for (let r = 0; r < q; r++) {
        const a = cum[os + r];
        accPQ += kl[a] + kl[cum[ot + r] - a];
      }
      const F = hp - (logT - accPQ / ct);
      if (F > best) best = F;
    }
    I[2 * W + t] = HQ + best;
  }

  // More columns: extend the best (l-1)-column split of the first s superclumps by one column s..t.
  for (let l = 3; l <= xMax; l++) {
    const prev = (l - 1) * W;
    for (let t = l; t <= p; t++) {
      const ct = c[t - 1];
      const h2 = t * W;
      let best = Number.NEGATIVE_INFINITY;
      for (let s = l - 1; s <= t; s++) {
        const cs = c[s - 1];
        const F = (cs / ct) * (I[prev + s] - HQ) - ((ct - cs) / ct) * H2[h2 + s];
        if (F > best) best = F;
      }
      I[l * W + t] = HQ + best;
    }
  }
  // More columns than superclumps cannot do better than one column per superclump.
  for (let l = p + 1; l <= xMax; l++) I[l * W + p] = I[p * W + p];

  // Normalised MI is at most 1; rounding in the entropy sums can overshoot by an ulp or two.
  const logQ = Math.log(q);
  for (let l = 2; l <= xMax; l++) score[l - 2] = Math.min(1, I[l * W + p] / Math.min(Math.log(l), logQ));
}

/**
 * The characteristic matrix of (x, y) and MIC, TIC, MAS and MEV from it, as minepy's
 * `MINE(alpha, c, est="mic_approx").compute_score(x, y)`. Needs n >= 4 points. Reproduces
 * minepy's published example (MIC, MAS, MEV, TIC to 1e-10); the one difference is that entries
 * are capped at 1 where rounding would put them an ulp above. Ties are sorted stably (minepy's
 * quicksort is not), which cannot change the grids: tied values always share a row or clump.
 * `mine(x, x.map(Math.sin)).mic // ~1`
 */
export function mine(x: ArrayLike<number>, y: ArrayLike<number>, opts: MineOptions = {}): MineScore {
  const fn = 'mine';
  const xs = seriesOf(fn, 'x', x);
  const ys = seriesOf(fn, 'y', y);
  if (xs.length !== ys.length) {
    throw new OptionError(
      `${fn}: x and y must have the same length, but received ${xs.length} and ${ys.length}`,
    );
  }
  const n = xs.length;
  if (n < 4) throw new OptionError(`${fn}: Expected at least 4 points for x and y but received ${n}`);
  const { alpha, c } = optionsOf(fn, opts);

  const B = alpha <= 1 ? Math.max(n ** alpha, 4) : Math.min(alpha, n);
  const nRows = Math.max(Math.floor(B / 2), 2) - 1;
  const widths = Array.from({ length: nRows }, (_, i) => Math.floor(B / (i + 2)) - 1);
  const M = widths.map((w) => new Float64Array(w));

  const ix = argsort(xs);
  const iy = argsort(ys);
  const xx = Float64Array.from(ix, (i) => xs[i]);
  const yy = Float64Array.from(iy, (i) => ys[i]);

  const { logs, klogk } = logTables(n);
  const Qsorted = new Int32Array(n);
  const Qorig = new Int32Array(n);
  const Q = new Int32Array(n);
  const P = new Int32Array(n);
  const scratch = new Int32Array(n);
  const Mtemp = new Float64Array(widths[0]);

  // Direction 1: rows on y (i + 2 of them), columns on x optimised. Direction 2 swaps the roles.
  for (const swap of [false, true]) {
    const [rowSorted, rowOrder] = swap ? [xx, ix] : [yy, iy];
    const [colSorted, colOrder] = swap ? [yy, iy] : [xx, ix];
    for (let i = 0; i < nRows; i++) {
      const q = equipartition(rowSorted, n, i + 2, Qsorted);
      // Re-index the rows from the row axis' sort order to the column axis' sort order.
      for (let j = 0; j < n; j++) Qorig[rowOrder[j]] = Qsorted[j];
      for (let j = 0; j < n; j++) Q[j] = Qorig[colOrder[j]];
      const kHat = Math.max(Math.trunc(c * (widths[i] + 1)), 1);
      const p = superclumps(colSorted, n, kHat, Q, P, scratch);
      if (!swap) {
        optimizeXAxis(Q, q, P, p, n, widths[i] + 1, logs, klogk, M[i]);
      } else {
        optimizeXAxis(Q, q, P, p, n, widths[i] + 1, logs, klogk, Mtemp);
        // Mtemp[j]: i + 2 columns on x, j + 2 rows on y.
        for (let j = 0; j < widths[i]; j++) M[j][i] = Math.max(Mtemp[j], M[j][i]);
      }
    }
  }

  let micValue = 0;
  let ticValue = 0;
  let count = 0;
  let mas = 0;
  let mev = 0;
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < widths[i]; j++) {
      const v = M[i][j];
      if (v > micValue) micValue = v;
      ticValue += v;
      count++;
      const asym = Math.abs(v - M[j][i]);
      if (asym > mas) mas = asym;
      if ((i === 0 || j === 0) && v > mev) mev = v;
    }
  }
  return { mic: micValue, tic: ticValue, ticNormalized: ticValue / count, mas, mev, matrix: M, B };
}

/**
 * Maximal information coefficient of (x, y), in [0, 1]: ~1 for a noiseless functional relation of
 * any shape, near 0 for independence (about 0.1-0.15 at n = 1,000 with the defaults, the
 * estimator's bias). `mic(x, x.map((v) => v * v)) // ~1`
 */
export function mic(x: ArrayLike<number>, y: ArrayLike<number>, opts: MineOptions = {}): number {
  return mine(x, y, opts).mic;
}

/**
 * Total information coefficient of (x, y): the sum of the characteristic matrix, or with
 * `normalize: true` its mean, in [0, 1] (minepy's `tic(norm=True)`, used by `pstats`/`cstats`).
 */
export function tic(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: MineOptions & { normalize?: boolean } = {},
): number {
  const s = mine(x, y, opts);
  return opts.normalize ? s.ticNormalized : s.tic;
}
