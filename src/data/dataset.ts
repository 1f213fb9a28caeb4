import { fromRgb } from './grid.ts';

/**
 * The dataset interface every source implements (synthetic worlds, CelebA, labelled folders).
 * Data knows nothing of torch: batches are plain typed arrays, converted to tensors at the
 * training boundary.
 */

/**
 * The optional labels.csv column that records a row's regime: the names of the attributes set by
 * intervention, separated by INTERVENED_SEPARATOR; empty for an observational row.
 */
export const INTERVENED_COLUMN = 'intervened';
export const INTERVENED_SEPARATOR = ';';

/** What kind of values an attribute takes. Binary labels are 0/1. */
export type AttributeKind = 'binary' | 'continuous';

export interface AttributeInfo {
  name: string;
  kind: AttributeKind;
  /** Observed range of the labels (for min-max scaling of continuous ones). */
  min: number;
  max: number;
  /**
   * Mean and standard deviation of the labels (continuous ones), for supervision in
   * standardized units. Absent in checkpoints made before they were recorded.
   */
  mean?: number;
  std?: number;
}

/** The label range [lo, hi] of an attribute: [0, 1] for binary ones, the observed [min, max] otherwise. */
export function labelRange(a: AttributeInfo): [number, number] {
  return a.kind === 'binary' ? [0, 1] : [a.min, a.max];
}

/** One batch. Images are NCHW float32 in [-1, 1]; labels are [B, m] in attribute order. */
export interface Batch {
  /** [B, 3, H, W], values in [-1, 1] */
  images: Float32Array;
  /** [B, m] raw label values (0/1 for binary, float for continuous) */
  labels: Float32Array;
  /** dataset indices of the rows */
  indices: Int32Array;
  /**
   * [B, m] 1 where the row's attribute was set by intervention (do()), 0 where it followed its
   * mechanism; all 0 for observational data. Structure learning does not score an intervened
   * attribute's mechanism on that row (DCDI / GIES likelihood masking).
   */
  intervened: Uint8Array;
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
  /** Names of the attributes set by intervention in one example (empty: observational). */
  intervenedSet?(index: number): string[];
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
  const intervened = new Uint8Array(b * m);
  for (let n = 0; n < b; n++) {
    const i = indices[n];
    idx[n] = i;
    images.set(fromRgb(ds.image(i), s), n * 3 * hw);
    labels.set(ds.labels(i), n * m);
    if (ds.intervenedSet)
      for (const name of ds.intervenedSet(i)) intervened[n * m + attributeIndex(ds, name)] = 1;
  }
  return { images, labels, indices: idx, intervened, batchSize: b };
}

function attributeIndex(ds: Dataset, name: string): number {
  const j = ds.attributes.findIndex((a) => a.name === name);
  if (j < 0) throw new Error(`intervened attribute '${name}' is not one of the dataset's attributes`);
  return j;
}

/** Mean and (population) standard deviation of column j of a row-major [n, m] table. */
export function columnMoments(
  values: ArrayLike<number>,
  m: number,
  j: number,
): { mean: number; std: number } {
  const n = Math.floor(values.length / m);
  let s = 0;
  for (let r = 0; r < n; r++) s += values[r * m + j];
  const mean = n > 0 ? s / n : 0;
  let v = 0;
  for (let r = 0; r < n; r++) v += (values[r * m + j] - mean) ** 2;
  return { mean, std: n > 0 ? Math.sqrt(v / n) : 0 };
}
