/**
 * Image and feature-distribution metrics in pure TypeScript (float64, no tensors):
 * - SSIM (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004) and pixel L1, for counterfactual images
 *   against their exact re-renderings (SPEC.md section 6);
 * - the Frechet distance between Gaussians fitted to two feature sets and KID (Binkowski et al.,
 *   "Demystifying MMD GANs", ICLR 2018), for image quality on features of the project's own
 *   classifier (not Inception: do not call the numbers FID).
 */

import { Rng } from '../data/rng.ts';
import { OptionError } from '../errors.ts';

/** An image as interleaved pixels (HWC): `data[(y * width + x) * channels + c]`. */
export interface HwcImage {
  data: ArrayLike<number>;
  height: number;
  width: number;
  channels: number;
}

// ---------------------------------------------------------------------------------------------
// Pixel metrics

function checkImage(fn: string, name: string, img: HwcImage): void {
  if (img == null || typeof img !== 'object' || img.data == null) {
    throw new OptionError(
      `${fn}: Expected an image { data, height, width, channels } for ${name} but received ${img}`,
    );
  }
  const { height, width, channels } = img;
  for (const [k, v] of [
    ['height', height],
    ['width', width],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new OptionError(`${fn}: Expected a positive integer for ${name}.${k} but received ${v}`);
  }
  const want = height * width * channels;
  if (img.data.length !== want) {
    throw new OptionError(
      `${fn}: ${name}.data must hold height * width * channels = ${height} * ${width} * ${channels} = ${want} values (HWC), but has ${img.data.length}`,
    );
  }
}

function sameShape(fn: string, a: HwcImage, b: HwcImage): void {
  checkImage(fn, 'a', a);
  checkImage(fn, 'b', b);
  if (a.height !== b.height || a.width !== b.width || a.channels !== b.channels) {
    throw new OptionError(
      `${fn}: images differ in shape: a is ${a.height}x${a.width}x${a.channels}, b is ${b.height}x${b.width}x${b.channels}`,
    );
  }
}

/**
 * Mean absolute difference over all pixels and channels, in the images' own units (divide by the
 * data range for a fraction). Accepts images or plain arrays of equal length.
 * `pixelL1([0, 10], [2, 10]) // 1`
 */
export function pixelL1(a: HwcImage | ArrayLike<number>, b: HwcImage | ArrayLike<number>): number {
  const fn = 'pixelL1';
  const isImage = (v: unknown): v is HwcImage => v != null && typeof v === 'object' && 'data' in v;
  if (isImage(a) || isImage(b)) {
    if (!isImage(a) || !isImage(b))
      throw new OptionError(`${fn}: a and b must both be images or both be arrays`);
    sameShape(fn, a, b);
    a = a.data;
    b = b.data;
  }
  if (a == null || b == null || typeof a.length !== 'number' || typeof b.length !== 'number') {
    throw new OptionError(`${fn}: Expected two arrays of numbers but received ${typeof a} and ${typeof b}`);
  }
  if (a.length !== b.length || a.length === 0) {
    throw new OptionError(
      `${fn}: a and b must have the same non-zero length, but received ${a.length} and ${b.length}`,
    );
  }
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  if (!Number.isFinite(s)) throw new OptionError(`${fn}: the images hold non-finite values`);
  return s / a.length;
}

/** SSIM constants; the defaults are Wang et al.'s. */
export interface SsimOptions {
  /**
   * Range of the pixel values: 255 for uint8, 1 for [0, 1], 2 for [-1, 1]. Defaults to 255 when
   * both images are Uint8Array / Uint8ClampedArray; required otherwise (guessing it from the data
   * silently changes the score).
   */
  dataRange?: number;
  /** Side of the Gaussian window. Default 11. */
  windowSize?: number;
  /** Standard deviation of the Gaussian window. Default 1.5. */
  sigma?: number;
  /** Default 0.01. */
  k1?: number;
  /** Default 0.03. */
  k2?: number;
}

/** Normalised 1-D Gaussian; the 2-D window is its outer product (MATLAB's fspecial('gaussian')). */
function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    s += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= s;
  return k;
}

/** 'valid' separable filtering of an h x w plane: output (h - k + 1) x (w - k + 1). */
function filterValid(src: Float64Array, h: number, w: number, k: Float64Array): Float64Array {
  const ks = k.length;
  const ow = w - ks + 1;
  const oh = h - ks + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < ks; t++) s += k[t] * src[y * w + x + t];
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < ks; t++) s += k[t] * tmp[(y + t) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Structural similarity of two images of the same shape: the mean of the SSIM map over the
 * positions where the whole Gaussian window fits (MATLAB reference `ssim_index`, 'valid'), with
 * weighted (not Bessel-corrected) local moments, averaged over channels. 1 for identical images.
 * Needs height and width >= windowSize.
 * `ssim(a, b) // uint8 images; ssim(a, b, { dataRange: 2 }) // images in [-1, 1]`
 */
export function ssim(a: HwcImage, b: HwcImage, opts: SsimOptions = {}): number {
  const fn = 'ssim';
  sameShape(fn, a, b);
  const isU8 = (d: ArrayLike<number>) => d instanceof Uint8Array || d instanceof Uint8ClampedArray;
  const L = opts.dataRange ?? (isU8(a.data) && isU8(b.data) ? 255 : undefined);
  if (L === undefined || !(L > 0) || !Number.isFinite(L)) {
    throw new OptionError(
      `${fn}: Expected a number > 0 for dataRange (255 for uint8, 1 for [0, 1], 2 for [-1, 1]) but received ${L}`,
    );
  }
  const size = opts.windowSize ?? 11;
  const sigma = opts.sigma ?? 1.5;
  const k1 = opts.k1 ?? 0.01;
  const k2 = opts.k2 ?? 0.03;
  if (!Number.isInteger(size) || size < 1)
    throw new OptionError(`${fn}: Expected a positive integer for windowSize but received ${size}`);
  if (!(sigma > 0)) throw new OptionError(`${fn}: Expected a number > 0 for sigma but received ${sigma}`);
  if (!(k1 > 0) || !(k2 > 0))
    throw new OptionError(`${fn}: Expected numbers > 0 for k1 and k2 but received ${k1} and ${k2}`);
  const { height: h, width: w, channels: ch } = a;
  if (h < size || w < size) {
    throw new OptionError(
      `${fn}: images must be at least ${size} x ${size} for the window, but are ${h} x ${w}`,
    );
  }
  const C1 = (k1 * L) ** 2;
  const C2 = (k2 * L) ** 2;
  const kernel = gaussianKernel(size, sigma);

  let total = 0;
  const hw = h * w;
  for (let c = 0; c < ch; c++) {
    const x = new Float64Array(hw);
    const y = new Float64Array(hw);
    const xx = new Float64Array(hw);
    const yy = new Float64Array(hw);
    const xy = new Float64Array(hw);
    for (let p = 0; p < hw; p++) {
      const u = a.data[p * ch + c];
      const v = b.data[p * ch + c];
      x[p] = u;
      y[p] = v;
      xx[p] = u * u;
      yy[p] = v * v;
      xy[p] = u * v;
    }
    const mx = filterValid(x, h, w, kernel);
    const my = filterValid(y, h, w, kernel);
    const exx = filterValid(xx, h, w, kernel);
    const eyy = filterValid(yy, h, w, kernel);
    const exy = filterValid(xy, h, w, kernel);
    let sum = 0;
    for (let p = 0; p < mx.length; p++) {
      const mux = mx[p];
      const muy = my[p];
      const vx = exx[p] - mux * mux;
      const vy = eyy[p] - muy * muy;
      const cxy = exy[p] - mux * muy;
      sum += ((2 * mux * muy + C1) * (2 * cxy + C2)) / ((mux * mux + muy * muy + C1) * (vx + vy + C2));
    }
    total += sum / mx.length;
  }
  const value = total / ch;
  if (!Number.isFinite(value)) throw new OptionError(`${fn}: the images hold non-finite values`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Linear algebra for the Frechet distance

/**
 * Eigen-decomposition of a symmetric d x d matrix (row-major) by the cyclic Jacobi method, in
 * float64. Returns the eigenvalues (unsorted) and, if asked, the eigenvectors as the columns of a
 * row-major matrix. Jacobi is slower than tridiagonal QL (about 0.3 s for d = 256) but simple and
 * accurate to the last digits, which the Frechet distance of near-identical sets needs.
 */
export function symmetricEigen(
  S: ArrayLike<number>,
  d: number,
  wantVectors = true,
): { values: Float64Array; vectors: Float64Array | null } {
  if (!Number.isInteger(d) || d < 1 || S.length !== d * d) {
    throw new OptionError(
      `symmetricEigen: Expected a ${d} x ${d} matrix (${d * d} values) but received ${S.length} values`,
    );
  }
  const A = Float64Array.from(S);
  // Eigenvectors kept as rows while rotating (contiguous updates), transposed at the end.
  const Vt = wantVectors ? new Float64Array(d * d) : null;
  if (Vt) for (let i = 0; i < d; i++) Vt[i * d + i] = 1;

  let scale = 0;
  for (let i = 0; i < A.length; i++) scale += A[i] * A[i];

  for (let sweep = 0; sweep < 60 && scale > 0; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q] ** 2;
    // Off-diagonal mass negligible against the whole matrix: the diagonal holds the eigenvalues.
    if (off <= 1e-32 * scale) break;
    for (let p = 0; p < d - 1; p++) {
      const rp = p * d;
      for (let q = p + 1; q < d; q++) {
        const rq = q * d;
        const apq = A[rp + q];
        if (apq === 0) continue;
        const app = A[rp + p];
        const aqq = A[rq + q];
        // After a few sweeps, an element below the diagonals' last digit is rounding: drop it.
        const g = 100 * Math.abs(apq);
        if (sweep > 3 && Math.abs(app) + g === Math.abs(app) && Math.abs(aqq) + g === Math.abs(aqq)) {
          A[rp + q] = 0;
          A[rq + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        // Smaller root of t^2 + 2 theta t - 1 = 0: the rotation angle of at most pi/4.
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A <- J^T A J with J = I except J_pp = J_qq = c, J_pq = s, J_qp = -s. A stays symmetric,
        // so rows p and q are read (contiguous) and written to both rows and columns.
        for (let k = 0; k < d; k++) {
          if (k === p || k === q) continue;
          const akp = A[rp + k];
          const akq = A[rq + k];
          const np = c * akp - s * akq;
          const nq = s * akp + c * akq;
          A[rp + k] = np;
          A[k * d + p] = np;
          A[rq + k] = nq;
          A[k * d + q] = nq;
        }
        A[rp + p] = app - t * apq;
        A[rq + q] = aqq + t * apq;
        A[rp + q] = 0;
        A[rq + p] = 0;
        if (Vt) {
          for (let k = 0; k < d; k++) {
            const vp = Vt[rp + k];
            const vq = Vt[rq + k];
            Vt[rp + k] = c * vp - s * vq;
            Vt[rq + k] = s * vp + c * vq;
          }
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = A[i * d + i];
  let vectors: Float64Array | null = null;
  if (Vt) {
    vectors = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) vectors[k * d + i] = Vt[i * d + k];
  }
  return { values, vectors };
}

/** C = X Y for d x d row-major matrices. */
function matmul(X: Float64Array, Y: Float64Array, d: number): Float64Array {
  const C = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const x = X[i * d + k];
      if (x === 0) continue;
      const ck = k * d;
      const ci = i * d;
      for (let j = 0; j < d; j++) C[ci + j] += x * Y[ck + j];
    }
  }
  return C;
}

/** Symmetric PSD square root V diag(sqrt(max(l, 0))) V^T; tiny negative eigenvalues are rounding. */
function sqrtPsd(S: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(S, d, true);
  const V = vectors!;
  const root = values.map((l) => Math.sqrt(Math.max(l, 0)));
  const R = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += V[i * d + k] * root[k] * V[j * d + k];
      R[i * d + j] = s;
      R[j * d + i] = s;
    }
  }
  return R;
}

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
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] -= mean[j];
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const r = i * d;
    for (let j = 0; j < d; j++) {
      const xj = X[r + j];
      if (xj === 0) continue;
      for (let k = j; k < d; k++) cov[j * d + k] += xj * X[r + k];
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = cov[j * d + k] / (n - 1);
      cov[j * d + k] = v;
      cov[k * d + j] = v;
    }
  }
  return { mean, cov, d, n };
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
  const r = sqrtPsd(a.cov, d);
  const M = matmul(matmul(r, b.cov, d), r, d);
  // Symmetrise: rounding in the products leaves M a hair off symmetric.
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = 0.5 * (M[i * d + j] + M[j * d + i]);
      M[i * d + j] = v;
      M[j * d + i] = v;
    }
  }
  const { values } = symmetricEigen(M, d, false);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(v, 0));
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
