/**
 * Distances between two feature sets, for image quality on features of the project's own
 * classifier (not Inception: do not call the numbers FID):
 * - the Frechet distance between Gaussians fitted to the two sets, in float64 on the engine
 *   (covariance, symmetric square root and eigenvalues by libtorch's matmul and eigh);
 * - KID (Binkowski et al., "Demystifying MMD GANs", ICLR 2018).
 */

import { Rng } from '../data/rng.ts';
import { OptionError } from '../errors.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

// ---------------------------------------------------------------------------------------------
// Frechet distance

/** Mean and covariance of a feature set: the Gaussian the Frechet distance compares. */
export interface GaussianStats {
  mean: Float64Array;
  /** d x d row-major, sample covariance (divisor n - 1, as numpy's `np.cov`). */
  cov: Float64Array;
  d: number;
  n: number;
}

/** Rows [n, d] of features as one row-major Float64Array. */
function featuresOf(
  fn: string,
  name: string,
  feats: readonly ArrayLike<number>[],
  minRows: number,
): { X: Float64Array; n: number; d: number } {
  if (!Array.isArray(feats) || feats.length < minRows) {
    throw new OptionError(
      `${fn}: Expected at least ${minRows} feature rows for ${name} but received ${Array.isArray(feats) ? feats.length : typeof feats}`,
    );
  }
  const n = feats.length;
  const d = feats[0]?.length ?? 0;
  if (d < 1) throw new OptionError(`${fn}: ${name} rows must have at least one feature`);
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = feats[i];
    if (row == null || row.length !== d) {
      throw new OptionError(
        `${fn}: every row of ${name} must have ${d} features, but row ${i} has ${row == null ? row : row.length}`,
      );
    }
    for (let j = 0; j < d; j++) {
      const v = row[j];
      if (!Number.isFinite(v))
        throw new OptionError(`${fn}: Expected a finite number for ${name}[${i}][${j}] but received ${v}`);
      X[i * d + j] = v;
    }
  }
  return { X, n, d };
}

/** Mean and sample covariance of feature rows [n, d], n >= 2. */
export function gaussianStats(features: readonly ArrayLike<number>[]): GaussianStats {
  const { X, n, d } = featuresOf('gaussianStats', 'features', features, 2);
  return torch.scope(() => {
    const x = torch.tensor(X, { shape: [n, d] });
    const mean = x.mean(0);
    const centred = x.sub(mean);
    const cov = centred
      .t()
      .matmul(centred)
      .div(n - 1);
    // Symmetrise: the product's two triangles may round differently.
    return {
      mean: mean.toArray() as Float64Array,
      cov: cov.add(cov.t()).mul(0.5).toArray() as Float64Array,
      d,
      n,
    };
  });
}

/** The symmetric PSD square root V diag(sqrt(max(l, 0))) V^T; tiny negative eigenvalues are rounding. */
function sqrtPsd(S: Tensor): Tensor {
  const { values, vectors } = torch.eigh(S);
  return vectors.mul(values.clamp(0).sqrt()).matmul(vectors.t());
}

/**
 * Squared Frechet (2-Wasserstein) distance between N(mu1, S1) and N(mu2, S2), the quantity FID
 * reports: ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2). The last trace is taken as
 * tr((S1^1/2 S2 S1^1/2)^1/2), whose matrix is symmetric PSD, so two symmetric eigen-solves suffice
 * (no complex square root as in scipy's `sqrtm`). Rounding below 0 is returned as 0.
 */
export function frechetDistanceFromStats(a: GaussianStats, b: GaussianStats): number {
  if (a.d !== b.d) throw new OptionError(`frechetDistance: feature sizes differ: ${a.d} and ${b.d}`);
  const d = a.d;
  let dist = 0;
  for (let j = 0; j < d; j++) dist += (a.mean[j] - b.mean[j]) ** 2;
  for (let j = 0; j < d; j++) dist += a.cov[j * d + j] + b.cov[j * d + j];
  const traceSqrt = torch.scope(() => {
    const r = sqrtPsd(torch.tensor(a.cov, { shape: [d, d] }));
    const M = r.matmul(torch.tensor(b.cov, { shape: [d, d] })).matmul(r);
    // Symmetrise: rounding in the products leaves M a hair off symmetric.
    return torch.eigh(M.add(M.t()).mul(0.5)).values.clamp(0).sqrt().sum().item();
  });
  return Math.max(0, dist - 2 * traceSqrt);
}

/**
 * Squared Frechet distance between Gaussians fitted to two feature sets [n, d] (each n >= 2).
 * On features of the project's own classifier: call it "Frechet distance", not FID.
 * `frechetDistance(realFeatures, fakeFeatures)`
 */
export function frechetDistance(
  featuresA: readonly ArrayLike<number>[],
  featuresB: readonly ArrayLike<number>[],
): number {
  return frechetDistanceFromStats(gaussianStats(featuresA), gaussianStats(featuresB));
}

// ---------------------------------------------------------------------------------------------
// KID

/** Options of `kid`; defaults as torch-fidelity (Binkowski et al. used 100 subsets of 1,000). */
export interface KidOptions {
  /** Number of random subsets averaged. Default 100. */
  subsets?: number;
  /** Size of each subset, capped at the smaller set. Default 1000. */
  subsetSize?: number;
  /** Seed of the subset sampler, so a report is reproducible. Default 0. */
  seed?: number;
  /**
   * Compute the three kernel matrices once (fast, n^2 memory) rather than per subset. Default:
   * when they fit in about 96 MB (up to about 2,000 rows per set).
   */
  cacheKernels?: boolean;
}

/** KID over the subsets: their mean, standard deviation (divisor n) and each value. */
export interface KidResult {
  mean: number;
  std: number;
  values: Float64Array;
}

/** m distinct indices of 0..n-1 (partial Fisher-Yates on `pool`, which it reorders). */
function sample(pool: Int32Array, m: number, rand: () => number): Int32Array {
  const n = pool.length;
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.slice(0, m);
}

/** Polynomial kernel (x.y / d + 1)^3 between rows i of X and j of Y. */
function polyKernel(X: Float64Array, i: number, Y: Float64Array, j: number, d: number): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let k = 0; k < d; k++) s += X[a + k] * Y[b + k];
  const v = s / d + 1;
  return v * v * v;
}

/** Full kernel matrix between the rows of X [nx, d] and Y [ny, d]. */
function kernelMatrix(
  X: Float64Array,
  nx: number,
  Y: Float64Array,
  ny: number,
  d: number,
  symmetric: boolean,
): Float64Array {
  const K = new Float64Array(nx * ny);
  for (let i = 0; i < nx; i++) {
    for (let j = symmetric ? i : 0; j < ny; j++) {
      const v = polyKernel(X, i, Y, j, d);
      K[i * ny + j] = v;
      if (symmetric) K[j * ny + i] = v;
    }
  }
  return K;
}

// Above this many kernel entries (8 bytes each) the kernels are computed per subset instead.
const MAX_CACHED_KERNEL_ENTRIES = 12_000_000;

/**
 * Kernel Inception Distance on feature sets [n, d] (call it KID on the project's features):
 * the unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over
 * `subsets` random subsets of `subsetSize` rows drawn without replacement from each set. ~0 for two
 * samples of one distribution (it can be slightly negative: the estimator is unbiased).
 * Up to about 2,000 rows per set the three kernel matrices are computed once (about 1.3 s for
 * n = 1,000, d = 256); larger sets pay subsets * 2 * subsetSize^2 * d operations (minutes).
 * `kid(realFeatures, fakeFeatures).mean`
 */
export function kid(
  featuresA: readonly ArrayLike<number>[],
  featuresB: readonly ArrayLike<number>[],
  opts: KidOptions = {},
): KidResult {
  const fn = 'kid';
  const A = featuresOf(fn, 'featuresA', featuresA, 2);
  const B = featuresOf(fn, 'featuresB', featuresB, 2);
  if (A.d !== B.d) throw new OptionError(`${fn}: feature sizes differ: ${A.d} and ${B.d}`);
  const subsets = opts.subsets ?? 100;
  const subsetSize = opts.subsetSize ?? 1000;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(subsets) || subsets < 1)
    throw new OptionError(`${fn}: Expected a positive integer for subsets but received ${subsets}`);
  if (!Number.isInteger(subsetSize) || subsetSize < 2)
    throw new OptionError(`${fn}: Expected an integer >= 2 for subsetSize but received ${subsetSize}`);
  if (!Number.isInteger(seed))
    throw new OptionError(`${fn}: Expected an integer for seed but received ${seed}`);
  const d = A.d;
  const m = Math.min(subsetSize, A.n, B.n);

  // Sum of k(a_i, b_j) over i in ia and j in ib; with `upper`, only pairs at positions u < v
  // (ia = ib: the off-diagonal pairs of one subset, each once).
  const cached = opts.cacheKernels ?? A.n * A.n + B.n * B.n + A.n * B.n <= MAX_CACHED_KERNEL_ENTRIES;
  const blockSum = (
    X: Float64Array,
    Y: Float64Array,
    K: Float64Array | null,
    ny: number,
    ia: Int32Array,
    ib: Int32Array,
    upper: boolean,
  ): number => {
    let sum = 0;
    for (let u = 0; u < ia.length; u++) {
      const i = ia[u];
      const row = i * ny;
      for (let v = upper ? u + 1 : 0; v < ib.length; v++)
        sum += K ? K[row + ib[v]] : polyKernel(X, i, Y, ib[v], d);
    }
    return sum;
  };
  const Kaa = cached ? kernelMatrix(A.X, A.n, A.X, A.n, d, true) : null;
  const Kbb = cached ? kernelMatrix(B.X, B.n, B.X, B.n, d, true) : null;
  const Kab = cached ? kernelMatrix(A.X, A.n, B.X, B.n, d, false) : null;

  const rng = new Rng(seed);
  const rand = () => rng.float();
  const poolA = Int32Array.from({ length: A.n }, (_, i) => i);
  const poolB = Int32Array.from({ length: B.n }, (_, i) => i);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    // Sorted, so the kernel lookups walk each cached row forwards (the sums do not depend on order).
    const ia = sample(poolA, m, rand).sort();
    const ib = sample(poolB, m, rand).sort();
    const sAA = blockSum(A.X, A.X, Kaa, A.n, ia, ia, true);
    const sBB = blockSum(B.X, B.X, Kbb, B.n, ib, ib, true);
    const sAB = blockSum(A.X, B.X, Kab, B.n, ia, ib, false);
    // Off-diagonal sums were counted once, so doubled here.
    values[s] = (2 * sAA) / (m * (m - 1)) + (2 * sBB) / (m * (m - 1)) - (2 * sAB) / (m * m);
  }
  let meanV = 0;
  for (const v of values) meanV += v;
  meanV /= subsets;
  let varV = 0;
  for (const v of values) varV += (v - meanV) ** 2;
  return { mean: meanV, std: Math.sqrt(varV / subsets), values };
}
