/**
 * Pixel metrics of one image against another, in float64 TypeScript: SSIM (Wang, Bovik, Sheikh,
 * Simoncelli, IEEE TIP 2004) and pixel L1, for counterfactual images against their exact
 * re-renderings (docs/method.md section 6). Distances between feature sets are in feature-distances.ts.
 */

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
  /**
   * Per-pixel weights [height * width] (row-major): the SSIM map is averaged with the weight of
   * each window's centre pixel, e.g. 1 outside the region an edit changes and 0 inside it.
   * Default: every window alike. All-zero weights (at the window centres) give NaN.
   */
  weights?: ArrayLike<number>;
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

/**
 * 'valid' separable filtering of the five planes SSIM needs (x, y, x^2, y^2, xy of an h x w
 * channel) in one pass over the pixels: outputs (h - k + 1) x (w - k + 1) each. Every output is
 * summed in the same order as filtering each plane on its own (the products are the same
 * doubles), so the values are identical; one pass reads each pixel once instead of five times.
 */
function momentsValid(
  x: Float64Array,
  y: Float64Array,
  h: number,
  w: number,
  k: Float64Array,
): [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array] {
  const ks = k.length;
  const ow = w - ks + 1;
  const oh = h - ks + 1;
  const tmp = Array.from({ length: 5 }, () => new Float64Array(h * ow));
  const [tx, ty, txx, tyy, txy] = tmp;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < ow; c++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let t = 0; t < ks; t++) {
        const kt = k[t];
        const u = x[r * w + c + t];
        const v = y[r * w + c + t];
        sx += kt * u;
        sy += kt * v;
        sxx += kt * (u * u);
        syy += kt * (v * v);
        sxy += kt * (u * v);
      }
      const o = r * ow + c;
      tx[o] = sx;
      ty[o] = sy;
      txx[o] = sxx;
      tyy[o] = syy;
      txy[o] = sxy;
    }
  }
  const out = Array.from({ length: 5 }, () => new Float64Array(oh * ow));
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      for (let plane = 0; plane < 5; plane++) {
        const src = tmp[plane];
        let s = 0;
        for (let t = 0; t < ks; t++) s += k[t] * src[(r + t) * ow + c];
        out[plane][r * ow + c] = s;
      }
    }
  }
  return out as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
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
  const weights = opts.weights;
  if (weights && weights.length !== h * w)
    throw new OptionError(`${fn}: Expected ${h * w} weights (height x width) but received ${weights.length}`);
  const C1 = (k1 * L) ** 2;
  const C2 = (k2 * L) ** 2;
  const kernel = gaussianKernel(size, sigma);

  let total = 0;
  const hw = h * w;
  for (let c = 0; c < ch; c++) {
    const x = new Float64Array(hw);
    const y = new Float64Array(hw);
    for (let p = 0; p < hw; p++) {
      x[p] = a.data[p * ch + c];
      y[p] = b.data[p * ch + c];
    }
    const [mx, my, exx, eyy, exy] = momentsValid(x, y, h, w, kernel);
    let sum = 0;
    let weightSum = 0;
    const ow = w - size + 1;
    const half = (size - 1) >> 1;
    for (let p = 0; p < mx.length; p++) {
      const mux = mx[p];
      const muy = my[p];
      const vx = exx[p] - mux * mux;
      const vy = eyy[p] - muy * muy;
      const cxy = exy[p] - mux * muy;
      // the window at output position p is centred on input pixel (y + half, x + half)
      const wt = weights ? weights[(Math.floor(p / ow) + half) * w + (p % ow) + half] : 1;
      if (wt === 0) continue;
      sum += (wt * ((2 * mux * muy + C1) * (2 * cxy + C2))) / ((mux * mux + muy * muy + C1) * (vx + vy + C2));
      weightSum += wt;
    }
    if (weightSum === 0) return Number.NaN;
    total += sum / weightSum;
  }
  const value = total / ch;
  if (!Number.isFinite(value)) throw new OptionError(`${fn}: the images hold non-finite values`);
  return value;
}
