/**
 * Datasets drawn from a synthetic world: deterministic by seed, in memory (implements Dataset)
 * or written to disk as the project's labelled-folder format (DIR/images/*.png plus
 * DIR/labels.csv with header `file,<factor names...>` and float labels, and DIR/world.json
 * describing the world and its true graph).
 *
 * Example k is drawn from its own RNG stream (seed, k), so it does not depend on how many
 * examples are generated: the first 100 of a 10,000-example set equal a 100-example set.
 *
 * @example
 *   const ds = generateWorldDataset(pendulum, { count: 10000, seed: 1 });
 *   const { train, test } = splitWorldDataset(ds, { testFraction: 0.2, seed: 1 });
 *   await writeWorldToDisk('data/pendulum', train);
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { OptionError } from '../errors.ts';
import { makeFolder, toFileSystemError, writeFileAtomic } from '../files.ts';
import { expectOneOf } from '../options.ts';
import type { AttributeInfo, Batch, Dataset } from './dataset.ts';
import { flow } from './flow.ts';
import { garden } from './garden.ts';
import { pendulum } from './pendulum.ts';
import { Rng } from './rng.ts';
import type { Counterfactual, FactorRecord, World, WorldSample } from './world.ts';

/** The built-in worlds by name. */
export const WORLDS = { pendulum, flow, garden } as const satisfies Record<string, World>;
/** Names of the built-in worlds. */
export type WorldName = keyof typeof WORLDS;
const WORLD_NAMES = Object.keys(WORLDS) as WorldName[];

/** Look a built-in world up by name; throws OptionError listing the names. */
export function worldByName(name: string): World {
  return WORLDS[expectOneOf(name, WORLD_NAMES, 'world')];
}

/** How root values are drawn: uniformly over the ranges, or on CausalVAE's reference grid. */
export const SAMPLINGS = ['continuous', 'grid'] as const;
export type Sampling = (typeof SAMPLINGS)[number];

export interface WorldDatasetOptions {
  /** Number of examples. Required for 'continuous'; for 'grid' defaults to the whole grid. */
  count?: number;
  /** Image side in pixels (default 64). */
  imageSize?: number;
  /** Seed (default 0): same seed, same options -> byte-identical images and labels. */
  seed?: number;
  /** 'continuous' (default) or 'grid'. */
  sampling?: Sampling;
}

/** Generate examples of `world` deterministically; images are rendered now, into one buffer. */
export function generateWorldDataset(world: World, options: WorldDatasetOptions = {}): WorldDataset {
  const seed = options.seed ?? 0;
  const sampling = expectOneOf(options.sampling ?? 'continuous', SAMPLINGS, 'sampling');
  const imageSize = options.imageSize ?? 64;
  const m = world.names.length;
  let points: number[];
  if (sampling === 'grid') {
    const g = world.gridSize();
    const count = options.count ?? g;
    checkCount(count, g);
    // A seeded subset of the grid, in grid order; the whole grid when count = grid size.
    const perm = Array.from({ length: g }, (_, k) => k);
    points =
      count === g
        ? perm
        : new Rng(seed, 2 ** 32 - 1)
            .shuffle(perm)
            .slice(0, count)
            .sort((a, b) => a - b);
  } else {
    if (options.count === undefined) throw new OptionError('Expected a count for continuous sampling');
    checkCount(options.count);
    points = Array.from({ length: options.count }, (_, k) => k);
  }
  const values = new Float64Array(points.length * m);
  const noise = new Float64Array(points.length * m);
  for (const [n, k] of points.entries()) {
    const rng = new Rng(seed, k);
    const u = sampling === 'grid' ? world.gridNoise(k, rng) : world.sampleNoise(rng);
    noise.set(u, n * m);
    values.set(world.solve(u), n * m);
  }
  return new WorldDataset(world, imageSize, values, noise, { seed, sampling });
}

function checkCount(count: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(count) || count < 1 || count > max) {
    throw new OptionError(`Expected an integer in [1, ${max}] for count but received ${count}`);
  }
}

/** How a WorldDataset was made (recorded in world.json). */
export interface WorldDatasetOrigin {
  seed: number;
  sampling: Sampling;
}

/** Examples of a world in memory: values, exogenous noises and rendered images. */
export class WorldDataset implements Dataset {
  readonly size: number;
  readonly attributes: readonly AttributeInfo[];
  /** All images, [size, imageSize, imageSize, 3] uint8. */
  readonly pixels: Uint8Array;

  /**
   * @param values [n, m] factor values in the world's factor order
   * @param noise  [n, m] exogenous noises that produced them (kept for exact counterfactuals)
   */
  constructor(
    readonly world: World,
    readonly imageSize: number,
    readonly values: Float64Array,
    readonly noise: Float64Array,
    readonly origin: WorldDatasetOrigin,
    pixels?: Uint8Array,
  ) {
    const m = world.names.length;
    if (values.length % m !== 0 || noise.length !== values.length) {
      throw new OptionError(`${world.name}: values and noise must both be [n, ${m}]`);
    }
    this.size = values.length / m;
    // Ranges are the world's, not the observed ones, so every split and every seed scales
    // labels the same way.
    this.attributes = world.factors.map((f) => ({
      name: f.name,
      kind: 'continuous',
      min: f.min,
      max: f.max,
    }));
    const bytes = imageSize * imageSize * 3;
    if (pixels) {
      if (pixels.length !== this.size * bytes) throw new OptionError('pixels must be [n, size, size, 3]');
      this.pixels = pixels;
    } else {
      this.pixels = new Uint8Array(this.size * bytes);
      for (let i = 0; i < this.size; i++) {
        this.pixels.set(world.render(values.subarray(i * m, (i + 1) * m), imageSize), i * bytes);
      }
    }
  }

  /** A view of example i's pixels (HWC uint8): do not modify. */
  image(index: number): Uint8Array {
    this.checkIndex(index);
    const bytes = this.imageSize * this.imageSize * 3;
    return this.pixels.subarray(index * bytes, (index + 1) * bytes);
  }

  labels(index: number): Float32Array {
    this.checkIndex(index);
    const m = this.world.names.length;
    return Float32Array.from(this.values.subarray(index * m, (index + 1) * m));
  }

  /** Example i as a world sample (copies), for counterfactuals. */
  sample(index: number): WorldSample {
    this.checkIndex(index);
    const m = this.world.names.length;
    return {
      values: this.values.slice(index * m, (index + 1) * m),
      noise: this.noise.slice(index * m, (index + 1) * m),
    };
  }

  /** The exact counterfactual of example i under do(intervention), rendered at imageSize. */
  counterfactual(index: number, intervention: FactorRecord): Counterfactual {
    return this.world.counterfactual(this.sample(index), intervention, this.imageSize);
  }

  batch(indices: ArrayLike<number>): Batch {
    const b = indices.length;
    const hw = this.imageSize * this.imageSize;
    const m = this.world.names.length;
    const images = new Float32Array(b * 3 * hw);
    const labels = new Float32Array(b * m);
    const idx = new Int32Array(b);
    for (let n = 0; n < b; n++) {
      const i = indices[n];
      this.checkIndex(i);
      idx[n] = i;
      const src = i * hw * 3;
      const base = n * 3 * hw;
      for (let p = 0; p < hw; p++) {
        images[base + p] = TO_UNIT[this.pixels[src + 3 * p]];
        images[base + hw + p] = TO_UNIT[this.pixels[src + 3 * p + 1]];
        images[base + 2 * hw + p] = TO_UNIT[this.pixels[src + 3 * p + 2]];
      }
      for (let a = 0; a < m; a++) labels[n * m + a] = this.values[i * m + a];
    }
    return { images, labels, indices: idx, batchSize: b };
  }

  /** A new dataset of the given examples (copied, in the given order). */
  subset(indices: ArrayLike<number>): WorldDataset {
    const m = this.world.names.length;
    const bytes = this.imageSize * this.imageSize * 3;
    const values = new Float64Array(indices.length * m);
    const noise = new Float64Array(indices.length * m);
    const pixels = new Uint8Array(indices.length * bytes);
    for (let n = 0; n < indices.length; n++) {
      const i = indices[n];
      this.checkIndex(i);
      values.set(this.values.subarray(i * m, (i + 1) * m), n * m);
      noise.set(this.noise.subarray(i * m, (i + 1) * m), n * m);
      pixels.set(this.pixels.subarray(i * bytes, (i + 1) * bytes), n * bytes);
    }
    return new WorldDataset(this.world, this.imageSize, values, noise, this.origin, pixels);
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new OptionError(
        `${this.world.name} dataset: index must be an integer in [0, ${this.size - 1}], got ${i}`,
      );
    }
  }
}

/** uint8 -> [-1, 1], as gatherBatch does (v / 127.5 - 1). */
const TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/**
 * A deterministic train/test split of n indices: a seeded shuffle, the first
 * round(n * testFraction) go to test; both lists are returned sorted.
 */
export function trainTestSplit(
  n: number,
  testFraction: number,
  seed = 0,
): { train: Int32Array; test: Int32Array } {
  if (!(testFraction >= 0 && testFraction <= 1)) {
    throw new OptionError(`Expected a number in [0, 1] for testFraction but received ${testFraction}`);
  }
  const perm = new Rng(seed, 2 ** 32 - 2).shuffle(Int32Array.from({ length: n }, (_, k) => k));
  const t = Math.round(n * testFraction);
  return { train: perm.slice(t).sort(), test: perm.slice(0, t).sort() };
}

/** Split a world dataset into train and test datasets (default 20% test, CausalVAE's 1 in 5). */
export function splitWorldDataset(
  ds: WorldDataset,
  options: { testFraction?: number; seed?: number } = {},
): { train: WorldDataset; test: WorldDataset } {
  const { train, test } = trainTestSplit(ds.size, options.testFraction ?? 0.2, options.seed ?? 0);
  return { train: ds.subset(train), test: ds.subset(test) };
}

/** What writeWorldToDisk wrote. */
export interface WrittenWorld {
  dir: string;
  count: number;
  /** Path of labels.csv. */
  labels: string;
  /** Image paths relative to dir, in dataset order. */
  files: string[];
}

/**
 * Write a world dataset as a labelled folder: DIR/images/000000.png ... (file number = dataset
 * index, zero-padded to at least 6 digits), DIR/labels.csv (`file,<factor names>`, `file`
 * relative to DIR, labels in shortest round-trip decimal form, so bare labels are enough for an
 * exact counterfactual via World.abduct) and DIR/world.json (world, factors, ranges, true graph,
 * seed). labels.csv and world.json are written to a temporary name and renamed, so a reader
 * never sees half a file. Writing again into the same folder replaces it: numbered PNGs
 * (`images/<digits>.png`) left from a larger earlier write are deleted, so every image has a row
 * (the folder loader rejects images without one); other files are left alone.
 */
export async function writeWorldToDisk(
  dir: string,
  ds: WorldDataset,
  options: { concurrency?: number } = {},
): Promise<WrittenWorld> {
  const world = ds.world;
  const s = ds.imageSize;
  const digits = Math.max(6, String(ds.size - 1).length);
  const files = Array.from({ length: ds.size }, (_, i) => `images/${String(i).padStart(digits, '0')}.png`);
  makeFolder(join(dir, 'images'), 'create the image folder');
  const keep = new Set(files.map((f) => f.slice('images/'.length)));
  for (const name of await readdir(join(dir, 'images'))) {
    if (/^\d+\.png$/.test(name) && !keep.has(name)) await rm(join(dir, 'images', name));
  }
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ds.size; i = next++) {
      const px = ds.image(i);
      const raw = Buffer.from(px.buffer, px.byteOffset, px.byteLength);
      // encoded in memory and written by node:fs, whose errors carry the errno code (ENOSPC, ...)
      const png = await sharp(raw, { raw: { width: s, height: s, channels: 3 } })
        .png()
        .toBuffer();
      const file = join(dir, files[i]);
      await writeFile(file, png).catch((e) => {
        throw toFileSystemError(e, 'write the image', file);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));

  const m = world.names.length;
  const lines = [['file', ...world.names].join(',')];
  for (let i = 0; i < ds.size; i++) {
    const row = [files[i]];
    for (let a = 0; a < m; a++) row.push(String(ds.values[i * m + a]));
    lines.push(row.join(','));
  }
  const labels = join(dir, 'labels.csv');
  writeFileAtomic(labels, `${lines.join('\n')}\n`, 'write the labels');
  const meta = {
    world: world.name,
    description: world.description,
    imageSize: s,
    count: ds.size,
    seed: ds.origin.seed,
    sampling: ds.origin.sampling,
    factors: world.factors,
    edges: world.edges(),
  };
  writeFileAtomic(
    join(dir, 'world.json'),
    `${JSON.stringify(meta, null, 2)}\n`,
    'write the world description',
  );
  return { dir, count: ds.size, labels, files };
}
