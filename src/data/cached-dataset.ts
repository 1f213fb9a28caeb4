/**
 * CachedDataset: the Dataset over a cache file, and opening a cache file without its source.
 */
import { DataError } from '../errors.ts';
import { fmt } from '../options.ts';
import { CacheStore, loadCache } from './cache-reader.ts';
import type { AttributeInfo, Batch, Dataset } from './dataset.ts';

/**
 * Open a cache file directly, without its source (e.g. a cache copied to a training machine).
 * The dataset has every readable row and every attribute of the source.
 *
 * @example
 * const ds = await openCacheFile('.ccig-cache/celeba-celeba-8k-64px-0123456789ab.ccig');
 */
export async function openCacheFile(path: string, opts: { inMemory?: boolean } = {}): Promise<CachedDataset> {
  const loaded = await loadCache(path, opts.inMemory, () => null);
  if (loaded === null) throw new DataError('no such cache file', path);
  if (!(loaded instanceof CacheStore))
    throw new DataError(`not a readable ccig cache file (${loaded})`, path);
  const skipped = new Set(loaded.header.skipped.map((s) => s.row));
  const rows: number[] = [];
  for (let r = 0; r < loaded.header.count; r++) if (!skipped.has(r)) rows.push(r);
  return new CachedDataset(
    loaded,
    Int32Array.from(rows),
    Int32Array.from(loaded.header.attributes, (_, i) => i),
  );
}

/** uint8 -> [-1, 1], the same arithmetic as gatherBatch (v / 127.5 - 1). */
const TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/**
 * A Dataset over a cache file: a selection of its rows and attribute columns. Views made by
 * `select` share the file's memory. Batches are float32 NCHW in [-1, 1] without decoding.
 */
export class CachedDataset implements Dataset {
  readonly size: number;
  readonly imageSize: number;
  readonly attributes: readonly AttributeInfo[];
  private readonly scratch: Uint8Array;

  /** @internal Made by openCelebA / openFolder / openCacheFile. */
  constructor(
    private readonly store: CacheStore,
    /** dataset index -> stored row */
    private readonly rows: Int32Array,
    /** attribute index -> stored label column */
    private readonly cols: Int32Array,
    /** [stored rows, stored columns] regime of each row (see LabelTable); absent: observational */
    private readonly regimes?: Uint8Array,
  ) {
    this.size = rows.length;
    this.imageSize = store.header.imageSize;
    this.attributes = Array.from(cols, (c) => ({ ...store.header.attributes[c] }));
    this.scratch = new Uint8Array(store.imageBytes);
  }

  /** The cache file this dataset reads. */
  get cachePath(): string {
    return this.store.path;
  }

  /** Raw RGB pixels of one example, HWC uint8 (a copy). */
  image(index: number): Uint8Array {
    return this.store.row(this.rowOf(index), this.scratch).slice();
  }

  /** Label row of one example, in this dataset's attribute order. */
  labels(index: number): Float32Array {
    const r = this.rowOf(index);
    const m = this.store.header.attributes.length;
    return Float32Array.from(this.cols, (c) => this.store.labels[r * m + c]);
  }

  /** Names of the attributes set by intervention in one example (empty: observational). */
  intervenedSet(index: number): string[] {
    const r = this.rowOf(index);
    const mAll = this.store.header.attributes.length;
    return this.attributes.filter((_, j) => this.regimes?.[r * mAll + this.cols[j]] === 1).map((a) => a.name);
  }

  /** The source image of one example, relative to the source's image folder. */
  file(index: number): string {
    return this.store.header.files[this.rowOf(index)];
  }

  /** Gather a batch: images [B, 3, H, W] in [-1, 1], labels [B, m]. Repeats are allowed. */
  batch(indices: ArrayLike<number>): Batch {
    const b = indices.length;
    const hw = this.imageSize * this.imageSize;
    const m = this.cols.length;
    const mAll = this.store.header.attributes.length;
    const images = new Float32Array(b * 3 * hw);
    const labels = new Float32Array(b * m);
    const intervened = new Uint8Array(b * m);
    const idx = new Int32Array(b);
    const lut = TO_UNIT;
    for (let n = 0; n < b; n++) {
      const i = indices[n];
      const r = this.rowOf(i);
      idx[n] = i;
      const px = this.store.row(r, this.scratch);
      // HWC -> CHW: one pass over the pixels, three output planes.
      const base = n * 3 * hw;
      for (let p = 0, o = 0; p < hw; p++, o += 3) {
        images[base + p] = lut[px[o]];
        images[base + hw + p] = lut[px[o + 1]];
        images[base + 2 * hw + p] = lut[px[o + 2]];
      }
      for (let j = 0; j < m; j++) labels[n * m + j] = this.store.labels[r * mAll + this.cols[j]];
      if (this.regimes)
        for (let j = 0; j < m; j++) intervened[n * m + j] = this.regimes[r * mAll + this.cols[j]];
    }
    return { images, labels, indices: idx, intervened, batchSize: b };
  }

  /** A view of some examples (indices into this dataset), sharing the cache. */
  select(indices: ArrayLike<number>): CachedDataset {
    return new CachedDataset(
      this.store,
      Int32Array.from(indices, (i) => this.rowOf(i)),
      this.cols,
      this.regimes,
    );
  }

  /** True when the pixels are held in memory, false when rows are read from the file. */
  get inMemory(): boolean {
    return this.store.inMemory;
  }

  /** Release the file (only held when not in memory). Every view of the same cache is closed. */
  close(): void {
    this.store.close();
  }

  private rowOf(index: number): number {
    if (!(Number.isInteger(index) && index >= 0 && index < this.size)) {
      throw new RangeError(`Expected an integer index in [0, ${this.size}) but received ${fmt(index)}`);
    }
    return this.rows[index];
  }
}
