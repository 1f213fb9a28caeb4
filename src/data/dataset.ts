import { fromRgb } from './grid.ts';

/**
 * The dataset interface every source implements (synthetic worlds, CelebA, labelled folders).
 * Data knows nothing of torch: batches are plain typed arrays, converted to tensors at the
 * training boundary.
 */

/** What kind of values an attribute takes. Binary labels are 0/1. */
export type AttributeKind = 'binary' | 'continuous';

export interface AttributeInfo {
  name: string;
  kind: AttributeKind;
  /** Observed range of the labels (for min-max scaling of continuous ones). */
  min: number;
  max: number;
}

/** One batch. Images are NCHW float32 in [-1, 1]; labels are [B, m] in attribute order. */
export interface Batch {
  /** [B, 3, H, W], values in [-1, 1] */
  images: Float32Array;
  /** [B, m] raw label values (0/1 for binary, float for continuous) */
  labels: Float32Array;
  /** dataset indices of the rows */
  indices: Int32Array;
  batchSize: number;
}

export interface Dataset {
  /** Number of examples. */
  readonly size: number;
  /** Square image side in pixels (images are size x size RGB). */
  readonly imageSize: number;
  readonly attributes: readonly AttributeInfo[];
  /** Raw RGB pixels of one example, HWC uint8, length size*size*3. */
  image(index: number): Uint8Array;
  /** Label row of one example, length m. */
  labels(index: number): Float32Array;
  /** Gather a batch of examples (any order, repeats allowed). */
  batch(indices: ArrayLike<number>): Batch;
}

/** Fill a Batch from a dataset's per-example accessors; sources with a faster path override. */
export function gatherBatch(ds: Dataset, indices: ArrayLike<number>): Batch {
  const b = indices.length;
  const s = ds.imageSize;
  const hw = s * s;
  const m = ds.attributes.length;
  const images = new Float32Array(b * 3 * hw);
  const labels = new Float32Array(b * m);
  const idx = new Int32Array(b);
  for (let n = 0; n < b; n++) {
    const i = indices[n];
    idx[n] = i;
    images.set(fromRgb(ds.image(i), s), n * 3 * hw);
    labels.set(ds.labels(i), n * m);
  }
  return { images, labels, indices: idx, batchSize: b };
}
