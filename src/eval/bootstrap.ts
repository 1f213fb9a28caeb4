/**
 * Bootstrap intervals for the evaluation's per-image figures. Every figure is a statistic over
 * test images (the unit of resampling); its 95% interval is the percentile interval of that
 * statistic over resamples of the images with replacement. A causal-vs-non-causal difference is
 * resampled in pairs (the same images for both edits), and called significant only when its
 * interval excludes 0.
 *
 * The resampled index sets are drawn once per sample size from a seeded Rng and shared by every
 * figure of that size, so two runs with the same seed give the same intervals, and the figures
 * of one report are resampled consistently (common random numbers).
 *
 * @example
 *   const boot = new Bootstrap({ seed: 0 });
 *   boot.mean(errors)                       // { mean, lo, hi, n }
 *   boot.pairedDifference(causal, nonCausal) // { ..., significant }
 */

import { Rng } from '../data/rng.ts';
import { OptionError } from '../errors.ts';

/** A figure with its bootstrap 95% interval; n is the number of images it averages. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/** A paired difference (a - b); significant when [lo, hi] excludes 0. */
export interface PairedInterval extends Interval {
  significant: boolean;
}

/** Linear-interpolated quantile of sorted values (numpy's default 'linear' method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function meanOf(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/**
 * F1 of binary predictions (score > 0.5) against binary truth (> 0.5), over the rows in `rows`
 * (all rows when omitted). With no positive in either, F1 is 1 (nothing to find, nothing
 * claimed), as scikit-learn's zero_division=1; torchmetrics' BinaryF1Score gives 0 there.
 */
export function f1Score(
  scores: ArrayLike<number>,
  truth: ArrayLike<number>,
  rows?: ArrayLike<number>,
): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const n = rows ? rows.length : scores.length;
  for (let k = 0; k < n; k++) {
    const r = rows ? rows[k] : k;
    const p = scores[r] > 0.5;
    const t = truth[r] > 0.5;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Whether a difference's interval excludes 0, ignoring float rounding: two edits that are the
 * same up to rounding (do() on a node without descendants) differ by ~1e-8, all of one sign.
 */
export function excludesZero(
  iv: Interval,
  d: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): boolean {
  let maxD = 0;
  let scale = 0;
  for (let k = 0; k < d.length; k++) {
    maxD = Math.max(maxD, Math.abs(d[k]));
    scale = Math.max(scale, Math.abs(a[k]), Math.abs(b[k]));
  }
  if (maxD <= 1e-6 * Math.max(1, scale)) return false;
  return iv.lo > 0 || iv.hi < 0;
}

export class Bootstrap {
  readonly resamples: number;
  readonly level: number;
  private readonly seed: number;
  private readonly sets = new Map<number, Int32Array>();

  constructor({
    resamples = 1000,
    level = 0.95,
    seed = 0,
  }: { resamples?: number; level?: number; seed?: number } = {}) {
    if (!Number.isInteger(resamples) || resamples < 10)
      throw new OptionError(`Expected an integer >= 10 for resamples but received ${resamples}`);
    if (!(level > 0 && level < 1)) throw new OptionError(`Expected a level in (0, 1) but received ${level}`);
    this.resamples = resamples;
    this.level = level;
    this.seed = seed;
  }

  /** resamples x n row indices, drawn once per n. */
  private indices(n: number): Int32Array {
    let set = this.sets.get(n);
    if (!set) {
      const rng = new Rng(this.seed, 0xb007 + n);
      set = new Int32Array(this.resamples * n);
      for (let k = 0; k < set.length; k++) set[k] = rng.int(n);
      this.sets.set(n, set);
    }
    return set;
  }

  private interval(point: number, stats: Float64Array, n: number): Interval {
    stats.sort();
    const a = (1 - this.level) / 2;
    return { mean: point, lo: quantileSorted(stats, a), hi: quantileSorted(stats, 1 - a), n };
  }

  /** Mean of per-image values with its interval; null for no values. */
  mean(values: ArrayLike<number>): Interval | null {
    const n = values.length;
    if (n === 0) return null;
    const idx = this.indices(n);
    const stats = new Float64Array(this.resamples);
    for (let r = 0; r < this.resamples; r++) {
      let s = 0;
      const base = r * n;
      for (let k = 0; k < n; k++) s += values[idx[base + k]];
      stats[r] = s / n;
    }
    return this.interval(meanOf(values), stats, n);
  }

  /** Any statistic of the rows (e.g. F1): `stat(rows)` is called on the data and each resample. */
  statistic(n: number, stat: (rows: Int32Array) => number): Interval | null {
    if (n === 0) return null;
    const idx = this.indices(n);
    const stats = new Float64Array(this.resamples);
    for (let r = 0; r < this.resamples; r++) stats[r] = stat(idx.subarray(r * n, (r + 1) * n));
    return this.interval(stat(Int32Array.from({ length: n }, (_, k) => k)), stats, n);
  }

  /** Mean of a[k] - b[k] (the same images under two edits), resampled in pairs. */
  pairedDifference(a: ArrayLike<number>, b: ArrayLike<number>): PairedInterval | null {
    if (a.length !== b.length)
      throw new OptionError(
        `pairedDifference: a and b must pair up, but have ${a.length} and ${b.length} values`,
      );
    const d = Float64Array.from({ length: a.length }, (_, k) => a[k] - b[k]);
    const iv = this.mean(d);
    return iv && { ...iv, significant: excludesZero(iv, d, a, b) };
  }
}
