/**
 * Plain statistics on float64 series: moments, ranks, Pearson and Spearman correlation, min-max
 * scaling, linear-probe R^2 (its least squares by the engine's QR), and the latent-by-factor matrix
 * of any of them (docs/method.md section 6, "alignment of latents to factors").
 *
 * Undefined values are NaN, not 0: a correlation with a constant series, or R^2 of a constant
 * target, has no meaning, and a report should show that rather than "no association".
 */

import { OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';
import * as torch from '../torch/index.ts';
import { mic, tic } from './mic.ts';

/** A series of numbers: a plain array or any typed array. */
export type Series = ArrayLike<number>;

/** A short description of a received value for error messages. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    return `${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  }
  return typeof value;
}

/**
 * Copies a series into a Float64Array, checking that it is array-like, has at least `minLength`
 * values and that every value is finite. Errors name the function and argument.
 */
function toFloat64(fn: string, name: string, x: unknown, minLength = 1): Float64Array {
  const ok = x != null && typeof x === 'object' && typeof (x as ArrayLike<number>).length === 'number';
  if (!ok)
    throw new OptionError(`${fn}: Expected an array of numbers for ${name} but received ${describe(x)}`);
  const a = x as ArrayLike<number>;
  if (a.length < minLength) {
    throw new OptionError(
      `${fn}: Expected at least ${minLength} values for ${name} but received ${a.length}`,
    );
  }
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new OptionError(`${fn}: Expected a finite number for ${name}[${i}] but received ${describe(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** Two series of equal length (at least `minLength`), as Float64Arrays. */
function pairOf(fn: string, x: Series, y: Series, minLength = 2): [Float64Array, Float64Array] {
  const a = toFloat64(fn, 'x', x, minLength);
  const b = toFloat64(fn, 'y', y, minLength);
  if (a.length !== b.length) {
    throw new OptionError(
      `${fn}: x and y must have the same length, but received ${a.length} and ${b.length}`,
    );
  }
  return [a, b];
}

// ---------------------------------------------------------------------------------------------
// Moments and scaling

/** Arithmetic mean. `mean([1, 2, 3]) // 2` */
export function mean(x: Series): number {
  const a = toFloat64('mean', 'x', x);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/**
 * Variance with `ddof` delta degrees of freedom (0: population, 1: sample), two-pass for accuracy.
 * `variance([1, 2, 3, 4]) // 1.25`
 */
export function variance(x: Series, ddof = 0): number {
  const a = toFloat64('variance', 'x', x);
  if (!Number.isInteger(ddof) || ddof < 0 || ddof >= a.length) {
    throw new OptionError(
      `variance: Expected an integer in [0, ${a.length - 1}] for ddof but received ${ddof}`,
    );
  }
  const mu = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - mu) ** 2;
  return s / (a.length - ddof);
}

/** Standard deviation, sqrt(variance(x, ddof)). `std([1, 3]) // 1` */
export function std(x: Series, ddof = 0): number {
  return Math.sqrt(variance(x, ddof));
}

/**
 * Min-max scaling to [lo, hi] (default [0, 1]); a constant series maps to lo.
 * `minMaxScale([2, 4, 6]) // Float64Array [0, 0.5, 1]`
 */
export function minMaxScale(x: Series, range: readonly [number, number] = [0, 1]): Float64Array {
  const a = toFloat64('minMaxScale', 'x', x);
  const [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
    throw new OptionError(
      `minMaxScale: Expected [lo, hi] with lo < hi for range but received [${lo}, ${hi}]`,
    );
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < min) min = a[i];
    if (a[i] > max) max = a[i];
  }
  const out = new Float64Array(a.length);
  const span = max - min;
  for (let i = 0; i < a.length; i++) out[i] = span > 0 ? lo + ((a[i] - min) / span) * (hi - lo) : lo;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Correlation

/**
 * Ranks 1..n, ties given the average of the ranks they span (as scipy's `rankdata`).
 * `ranks([10, 30, 20, 20]) // Float64Array [1, 4, 2.5, 2.5]`
 */
export function ranks(x: Series): Float64Array {
  const a = toFloat64('ranks', 'x', x);
  const n = a.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i] - a[j]);
  const out = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && a[order[end]] === a[order[start]]) end++;
    // positions start..end-1 hold equal values: ranks start+1..end, averaged
    const r = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) out[order[k]] = r;
    start = end;
  }
  return out;
}

/**
 * Pearson correlation coefficient; NaN when either series is constant.
 * `pearson([1, 2, 3], [2, 4, 7]) // 0.993...`
 */
export function pearson(x: Series, y: Series): number {
  const [a, b] = pairOf('pearson', x, y);
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  // Clamp: rounding can push |r| a hair past 1 for exactly linear data.
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Spearman rank correlation: Pearson on average ranks (ties handled as scipy's `spearmanr`).
 * `spearman([1, 2, 3], [1, 8, 27]) // 1`
 */
export function spearman(x: Series, y: Series): number {
  const [a, b] = pairOf('spearman', x, y);
  return pearson(ranks(a), ranks(b));
}

// ---------------------------------------------------------------------------------------------
// Linear probe

/** Design matrix: n rows of p features, or a single series (p = 1). */
export type Design = readonly Series[] | Series;

/** Rows of the design as one row-major Float64Array [n, p]. */
function designOf(fn: string, name: string, X: Design): { data: Float64Array; n: number; p: number } {
  if (X == null || typeof (X as ArrayLike<unknown>).length !== 'number') {
    throw new OptionError(`${fn}: Expected an array of rows for ${name} but received ${describe(X)}`);
  }
  const n = (X as ArrayLike<unknown>).length;
  if (n === 0) throw new OptionError(`${fn}: Expected at least 1 row for ${name} but received 0`);
  const first = (X as ArrayLike<unknown>)[0];
  if (typeof first === 'number') {
    return { data: toFloat64(fn, name, X), n, p: 1 };
  }
  const rows = X as readonly Series[];
  const p = rows[0]?.length ?? 0;
  if (p === 0)
    throw new OptionError(
      `${fn}: ${name} rows must have at least one feature, but row 0 has ${describe(rows[0])}`,
    );
  const data = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (row == null || row.length !== p) {
      throw new OptionError(
        `${fn}: every row of ${name} must have ${p} features, but row ${i} has ${describe(row)}`,
      );
    }
    data.set(toFloat64(fn, `${name}[${i}]`, row), i * p);
  }
  return { data, n, p };
}

/** A fitted linear model y ~ intercept + X coef. */
export interface LinearFit {
  coef: Float64Array;
  intercept: number;
  /** Predictions for new rows (same number of features). */
  predict(X: Design): Float64Array;
}

/**
 * Ordinary least squares of y on X with an intercept, by QR of the centred design
 * stacked on sqrt(lambda) I (a ridge term, so that a collinear or constant feature cannot make
 * the solve singular). lambda = ridge * trace(Xc^T Xc) / p: the default 1e-10 changes R^2 only in
 * the tenth digit while keeping the solve well posed.
 * `fitLinear([[0], [1], [2]], [1, 3, 5]) // coef [2], intercept 1`
 */
export function fitLinear(X: Design, y: Series, opts: { ridge?: number } = {}): LinearFit {
  const fn = 'fitLinear';
  const { data, n, p } = designOf(fn, 'X', X);
  const t = toFloat64(fn, 'y', y);
  if (t.length !== n) throw new OptionError(`${fn}: X has ${n} rows but y has ${t.length} values`);
  const ridge = opts.ridge ?? 1e-10;
  if (!(ridge >= 0) || !Number.isFinite(ridge)) {
    throw new OptionError(`${fn}: Expected a finite number >= 0 for ridge but received ${ridge}`);
  }

  // Centre features and target, so the intercept drops out of the least-squares problem.
  const mx = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mx[j] += data[i * p + j];
  for (let j = 0; j < p; j++) mx[j] /= n;
  let my = 0;
  for (let i = 0; i < n; i++) my += t[i];
  my /= n;

  const rows = n + p;
  const Q = new Float64Array(rows * p); // [Xc; sqrt(lambda) I]
  const b = new Float64Array(rows);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const v = data[i * p + j] - mx[j];
      Q[i * p + j] = v;
      trace += v * v;
    }
    b[i] = t[i] - my;
  }
  const coef = new Float64Array(p);
  if (trace > 0) {
    const sl = Math.sqrt((ridge * trace) / p);
    for (let j = 0; j < p; j++) Q[(n + j) * p + j] = sl;
    solveLeastSquaresQR(Q, b, rows, p, coef);
  }
  const intercept = my - coef.reduce((s, c, j) => s + c * mx[j], 0);

  const predict = (Xn: Design): Float64Array => {
    const d = designOf('predict', 'X', Xn);
    if (d.p !== p) throw new OptionError(`predict: the model has ${p} features but X rows have ${d.p}`);
    const out = new Float64Array(d.n);
    for (let i = 0; i < d.n; i++) {
      let s = intercept;
      for (let j = 0; j < p; j++) s += coef[j] * d.data[i * p + j];
      out[i] = s;
    }
    return out;
  };
  return { coef, intercept, predict };
}

/**
 * Least squares min ||A x - b|| for A [rows, p] row-major (rows >= p), by the engine's QR in
 * float64: x = R^-1 Q^T b. Writes x into `out`.
 */
function solveLeastSquaresQR(
  A: Float64Array,
  b: Float64Array,
  rows: number,
  p: number,
  out: Float64Array,
): void {
  const [R, qtb] = torch.scope(() => {
    const { Q, R } = torch.qr(torch.tensor(A, { shape: [rows, p] }));
    return [
      R.toArray(),
      Q.t()
        .matmul(torch.tensor(b, { shape: [rows, 1] }))
        .toArray(),
    ] as Float64Array[];
  });
  // Back substitution with the p x p triangle here rather than the engine's solve: a zero pivot
  // (a constant feature when ridge is 0) gives a zero coefficient instead of a singular-matrix error.
  for (let k = p - 1; k >= 0; k--) {
    let s = qtb[k];
    for (let j = k + 1; j < p; j++) s -= R[k * p + j] * out[j];
    const d = R[k * p + k];
    out[k] = d === 0 ? 0 : s / d;
  }
}

/** 1 - SS_res / SS_tot around the mean of `y`; NaN when `y` is constant. */
function r2Score(y: Float64Array, yhat: Float64Array): number {
  let my = 0;
  for (let i = 0; i < y.length; i++) my += y[i];
  my /= y.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < y.length; i++) {
    ssRes += (y[i] - yhat[i]) ** 2;
    ssTot += (y[i] - my) ** 2;
  }
  return ssTot === 0 ? Number.NaN : 1 - ssRes / ssTot;
}

/**
 * In-sample R^2 of an OLS probe of y on X with an intercept (coefficient of determination, in
 * [0, 1]); NaN when y is constant. With one feature it equals pearson(x, y)^2.
 * `linearProbeR2([[0], [1], [2]], [1, 3, 5]) // 1`
 */
export function linearProbeR2(X: Design, y: Series, opts: { ridge?: number } = {}): number {
  const t = toFloat64('linearProbeR2', 'y', y);
  return r2Score(t, fitLinear(X, t, opts).predict(X));
}

/**
 * Held-out R^2: fit the probe on the training rows, score on the test rows as sklearn's
 * `r2_score` (1 - SS_res / SS_tot around the test mean). Can be negative when the probe does
 * worse than the test mean; NaN when yTest is constant.
 */
export function linearProbeR2Heldout(
  XTrain: Design,
  yTrain: Series,
  XTest: Design,
  yTest: Series,
  opts: { ridge?: number } = {},
): number {
  const t = toFloat64('linearProbeR2Heldout', 'yTest', yTest);
  const yhat = fitLinear(XTrain, yTrain, opts).predict(XTest);
  if (yhat.length !== t.length) {
    throw new OptionError(
      `linearProbeR2Heldout: XTest has ${yhat.length} rows but yTest has ${t.length} values`,
    );
  }
  return r2Score(t, yhat);
}

// ---------------------------------------------------------------------------------------------
// Latent-by-factor matrices

/** The statistics `correlationMatrix` can compute. */
export const PAIR_STATS = ['pearson', 'spearman', 'mic', 'tic', 'r2'] as const;
export type PairStat = (typeof PAIR_STATS)[number];

const PAIR_FUNCTIONS: Record<PairStat, (x: Float64Array, y: Float64Array) => number> = {
  pearson,
  spearman,
  mic: (x, y) => mic(x, y),
  // Normalised TIC (mean of the characteristic matrix), in [0, 1] like the others.
  tic: (x, y) => tic(x, y, { normalize: true }),
  // A one-feature probe of the factor on the latent: equal to pearson^2, kept for the report's naming.
  r2: (x, y) => linearProbeR2(x, y),
};

/** Columns of an [n, k] row matrix. */
function columnsOf(fn: string, name: string, rows: readonly Series[]): Float64Array[] {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new OptionError(
      `${fn}: Expected a non-empty array of rows for ${name} but received ${describe(rows)}`,
    );
  }
  const k = rows[0]?.length ?? 0;
  const cols = Array.from({ length: k }, () => new Float64Array(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row == null || row.length !== k) {
      throw new OptionError(
        `${fn}: every row of ${name} must have ${k} values, but row ${i} has ${describe(row)}`,
      );
    }
    for (let j = 0; j < k; j++) {
      const v = row[j];
      if (!Number.isFinite(v))
        throw new OptionError(
          `${fn}: Expected a finite number for ${name}[${i}][${j}] but received ${describe(v)}`,
        );
      cols[j][i] = v;
    }
  }
  return cols;
}

/**
 * The full matrix M[i][j] = stat(latent i, factor j) over n samples: rows are latents, columns
 * factors (the two may differ in number). `latents` and `factors` are row-major [n, m] / [n, k].
 * `correlationMatrix(z, labels, 'spearman')`
 */
export function correlationMatrix(
  latents: readonly Series[],
  factors: readonly Series[],
  stat: PairStat,
): number[][] {
  const fn = 'correlationMatrix';
  expectOneOf(stat, PAIR_STATS, 'stat', fn);
  const Z = columnsOf(fn, 'latents', latents);
  const F = columnsOf(fn, 'factors', factors);
  if (latents.length !== factors.length) {
    throw new OptionError(`${fn}: latents has ${latents.length} rows but factors has ${factors.length}`);
  }
  const f = PAIR_FUNCTIONS[stat];
  return Z.map((z) => F.map((y) => f(z, y)));
}
