/**
 * The preprocessed cache: every image of a labelled source decoded once into one binary file
 * (cache-file.ts), then read back (cache-reader.ts) as a Dataset whose batches need no JPEG
 * decoding (cached-dataset.ts). This module opens a source: it checks the options every source
 * shares, and reuses or builds the source's cache.
 *
 * A cache is reused when its header matches the recipe and the source fingerprint (a hash of the
 * label file's bytes plus each listed image's name, size and mtime); otherwise it is rebuilt. Any
 * attribute subset and split are views over one cache, so changing them never decodes again.
 *
 * Sources (celeba.ts, folder.ts) parse their labels into a LabelTable and call `openTable`.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { DataError, OptionError } from '../errors.ts';
import { fmt, listSome, nearest } from '../options.ts';
import {
  buildCache,
  CACHE_VERSION,
  type CacheHeader,
  imagePath,
  type LabelTable,
  type SkippedImage,
} from './cache-file.ts';
import { CacheStore, loadCache } from './cache-reader.ts';
import { CachedDataset } from './cached-dataset.ts';
import { checkImageSize, makeRecipe, type Recipe } from './preprocess.ts';
import type { SplitName } from './split.ts';

/** Options shared by every source (`openCelebA`, `openFolder`). All are optional. */
export interface CommonOpenOptions {
  /** Output side in pixels; default 64 (128 is the other usual one). */
  imageSize?: number;
  /**
   * Centre-crop side as a fraction of the shorter image side, before the resize. Default: CelebA
   * 128/178 (the standard crop 128 of 178 x 218), folders 1 (the largest centred square).
   */
  cropFraction?: number;
  /**
   * Folder for cache files. Default: `.ccig-cache/` inside the data folder when that is writable,
   * else `$XDG_CACHE_HOME/ccig` (or `~/.cache/ccig`). File names are keyed by the label file's
   * path and the recipe, so several sizes coexist.
   */
  cacheDir?: string;
  /** Stop with a DataError on the first unreadable image instead of skipping it; default false. */
  strict?: boolean;
  /** How messages tell the reader to turn `strict` on: default 'strict: true' (the CLI: '--strict'). */
  strictName?: string;
  /** Ignore image files that have no label row instead of stopping; default false. */
  allowUnlabelled?: boolean;
  /** Images decoded at once while building; default 4 per core (sharp decodes on libuv threads). */
  concurrency?: number;
  /**
   * Hold all pixels in memory (true) or read rows from the file per batch (false: the file stays
   * open until `close()`). Default: in memory when the pixels take under half the machine's memory.
   * Both are fast once the file is in the OS page cache.
   */
  inMemory?: boolean;
  /** Called while a cache is built (at most ~10 times a second, and once at the end). */
  onProgress?: (done: number, total: number) => void;
  /** Receives warnings (skipped images); default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** The keys of CommonOpenOptions, for rejecting unknown option names. */
export const COMMON_OPTION_KEYS = [
  'imageSize',
  'cropFraction',
  'cacheDir',
  'strict',
  'strictName',
  'allowUnlabelled',
  'concurrency',
  'inMemory',
  'onProgress',
  'onWarning',
] as const;

/** What opening a source returns. The four datasets share one cache; each is a view. */
export interface OpenedDataset {
  /** Every readable example, with the chosen attributes. */
  dataset: CachedDataset;
  train: CachedDataset;
  valid: CachedDataset;
  test: CachedDataset;
  /** 'official': the source's own partition (list_eval_partition.txt); 'seeded': hash split. */
  splitSource: 'official' | 'seeded';
  /** True when this call decoded the images; false when it reused the cache file. */
  built: boolean;
  /** Why the cache was built or reused: 'reused', 'no cache', 'source changed', ... */
  cacheStatus: string;
  cachePath: string;
  /** Unreadable images left out (also reported through onWarning). */
  skipped: SkippedImage[];
}

// ---------------------------------------------------------------------------------------------
// Option checks shared by the sources.

/** CommonOpenOptions with defaults filled in (cacheDir stays optional: it depends on the source). */
export interface ResolvedCommon {
  imageSize: number;
  cropFraction: number;
  cacheDir?: string;
  strict: boolean;
  strictName: string;
  allowUnlabelled: boolean;
  concurrency: number;
  inMemory?: boolean;
  onProgress?: (done: number, total: number) => void;
  onWarning: (message: string) => void;
}

/** Validate the shared options; `defaultCrop` is the source's default crop fraction. */
export function resolveCommon(opts: CommonOpenOptions, defaultCrop: number): ResolvedCommon {
  const imageSize = opts.imageSize ?? 64;
  checkImageSize(imageSize);
  const cropFraction = opts.cropFraction ?? defaultCrop;
  makeRecipe(imageSize, cropFraction); // validates cropFraction
  if (opts.cacheDir !== undefined && (typeof opts.cacheDir !== 'string' || opts.cacheDir === '')) {
    throw new OptionError(`Expected a folder path for cacheDir but received ${fmt(opts.cacheDir)}`);
  }
  for (const key of ['strict', 'allowUnlabelled', 'inMemory'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'boolean') {
      throw new OptionError(`Expected true or false for ${key} but received ${fmt(opts[key])}`);
    }
  }
  const concurrency = opts.concurrency ?? Math.min(64, Math.max(4, availableParallelism() * 4));
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1024)) {
    throw new OptionError(
      `Expected an integer between 1 and 1024 for concurrency but received ${fmt(concurrency)}`,
    );
  }
  for (const key of ['onProgress', 'onWarning'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'function') {
      throw new OptionError(`Expected a function for ${key} but received ${fmt(opts[key])}`);
    }
  }
  return {
    imageSize,
    cropFraction,
    cacheDir: opts.cacheDir,
    strict: opts.strict ?? false,
    strictName:
      typeof opts.strictName === 'string' && opts.strictName !== '' ? opts.strictName : 'strict: true',
    allowUnlabelled: opts.allowUnlabelled ?? false,
    concurrency,
    inMemory: opts.inMemory,
    onProgress: opts.onProgress,
    onWarning: opts.onWarning ?? ((m) => process.emitWarning(m, 'DataWarning')),
  };
}

/**
 * Map requested attribute names to column indices of `available`. Unknown names throw an
 * OptionError that says where the names come from, lists them, and suggests a near miss.
 */
export function selectColumns(available: readonly string[], requested: unknown, where: string): number[] {
  if (!Array.isArray(requested) || requested.length === 0 || !requested.every((a) => typeof a === 'string')) {
    throw new OptionError(
      `Expected a non-empty array of attribute names for attributes but received ${fmt(requested)}`,
    );
  }
  const seen = new Set<string>();
  return requested.map((name: string) => {
    if (seen.has(name)) throw new OptionError(`Attribute '${name}' is given twice in attributes`);
    seen.add(name);
    const i = available.indexOf(name);
    if (i >= 0) return i;
    const near = nearest(name, available);
    throw new OptionError(
      `Unknown attribute '${name}' (not a column of ${where})${near ? `; did you mean '${near}'?` : ''} ` +
        `Available: ${available.join(', ')}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Opening: fingerprint, reuse or build, views.

/** Arguments a source passes to openTable. */
export interface OpenTableArgs {
  table: LabelTable;
  options: ResolvedCommon;
  /** Selected attribute columns of table.attributes, in the order the caller wants them. */
  columns: number[];
  /** The split of table row r. */
  splitOf: (row: number) => SplitName;
  splitSource: OpenedDataset['splitSource'];
  /** Where `.ccig-cache/` goes by default. */
  dataDir: string;
  /** Image files (relative to table.imageRoot) found in the folder without a label row. */
  unlabelled: string[];
}

/**
 * Reuse or build the cache of a parsed label table and return the dataset and its split views.
 * Throws DataError for label rows naming missing images (with the label file's line).
 */
export async function openTable(args: OpenTableArgs): Promise<OpenedDataset> {
  const { table, options } = args;
  const recipe = makeRecipe(options.imageSize, options.cropFraction);
  const fingerprint = fingerprintTable(table);
  const { unlabelled } = args;
  if (unlabelled.length > 0) {
    const more =
      unlabelled.length > 1
        ? ` (nor do ${unlabelled.length - 1} more: ${listSome(unlabelled.slice(1))})`
        : '';
    if (!options.allowUnlabelled) {
      throw new DataError(
        `this image has no label row in ${table.labelFile}${more}; ` +
          'add the rows, move the images away, or pass allowUnlabelled: true to leave them out',
        isAbsolute(unlabelled[0]) ? unlabelled[0] : join(table.imageRoot, unlabelled[0]),
      );
    }
    options.onWarning(
      `Left out ${unlabelled.length} image${unlabelled.length > 1 ? 's' : ''} in ${table.imageRoot} ` +
        `that have no label row in ${table.labelFile}: ${listSome(unlabelled)}`,
    );
  }
  const dir = options.cacheDir ?? defaultCacheDir(args.dataDir);
  const cachePath = join(dir, cacheFileName(table, recipe, args.dataDir));

  let store: CacheStore | null = null;
  let cacheStatus = 'no cache';
  const found = await loadCache(cachePath, options.inMemory, (h) => {
    if (h.version !== CACHE_VERSION) return 'cache version changed';
    if (JSON.stringify(h.recipe) !== JSON.stringify(recipe)) return 'recipe changed';
    if (JSON.stringify(h.fingerprint) !== JSON.stringify(fingerprint)) return 'source changed';
    return null;
  });
  if (found instanceof CacheStore) {
    store = found;
    cacheStatus = 'reused';
  } else if (found !== null) {
    cacheStatus = found;
  }
  const built = store === null;
  if (store === null) {
    await buildCache(table, recipe, fingerprint, cachePath, options);
    const loaded = await loadCache(cachePath, options.inMemory, () => null);
    if (!(loaded instanceof CacheStore))
      throw new DataError(`cache just written cannot be read: ${loaded}`, cachePath);
    store = loaded;
  }

  const skipped = store.header.skipped.map(({ file, line, reason }) => ({ file, line, reason }));
  if (skipped.length > 0) {
    if (options.strict) {
      store.close();
      const s = skipped[0];
      throw new DataError(
        `cannot decode image: ${s.reason} (label row at ${table.labelFile}:${s.line})` +
          (skipped.length > 1
            ? `; ${skipped.length - 1} more unreadable: ${listSome(skipped.slice(1).map((x) => x.file))}`
            : ''),
        isAbsolute(s.file) ? s.file : join(table.imageRoot, s.file),
      );
    }
    options.onWarning(
      `Skipped ${skipped.length} unreadable image${skipped.length > 1 ? 's' : ''} of ${store.header.count} in ` +
        `${table.imageRoot}: ${listSome(
          skipped.map((s) => `${s.file} (${s.reason})`),
          3,
        )}. ` +
        `Pass ${options.strictName} to stop on them instead.`,
    );
  }

  const skippedRows = new Set(store.header.skipped.map((s) => s.row));
  const usable: number[] = [];
  const bySplit: Record<SplitName, number[]> = { train: [], valid: [], test: [] };
  for (let r = 0; r < store.header.count; r++) {
    if (skippedRows.has(r)) continue;
    usable.push(r);
    bySplit[args.splitOf(r)].push(r);
  }
  const cols = Int32Array.from(args.columns);
  const view = (rows: number[]) => new CachedDataset(store, Int32Array.from(rows), cols, table.intervened);
  return {
    dataset: view(usable),
    train: view(bySplit.train),
    valid: view(bySplit.valid),
    test: view(bySplit.test),
    splitSource: args.splitSource,
    built,
    cacheStatus,
    cachePath,
    skipped,
  };
}

/**
 * Hash of what the cached pixels and labels depend on: the label file's bytes and each listed
 * image's name, size and mtime. Throws DataError, naming the label file and line, for rows whose
 * image does not exist.
 */
function fingerprintTable(table: LabelTable): CacheHeader['fingerprint'] {
  const h = createHash('sha256');
  const missing: number[] = [];
  for (let r = 0; r < table.files.length; r++) {
    const path = imagePath(table, r);
    let size = -1;
    let mtime = -1;
    try {
      const st = statSync(path);
      if (st.isFile()) {
        size = st.size;
        mtime = st.mtimeMs;
      }
    } catch {
      // missing: reported below
    }
    if (size < 0) missing.push(r);
    h.update(`${table.files[r]}\t${size}\t${mtime}\n`);
  }
  if (missing.length > 0) {
    const first = missing[0];
    throw new DataError(
      `image ${table.files[first]} has a label row here but no file in ${table.imageRoot}` +
        (missing.length > 1
          ? ` (${missing.length} rows name missing images: ${listSome(missing.map((r) => table.files[r]))})`
          : ''),
      table.labelFile,
      table.lines[first],
    );
  }
  return { labels: table.labelHash, images: h.digest('hex'), count: table.files.length };
}

/** Read a whole file; an unreadable one (a folder, no permission) becomes a DataError naming it. */
export function readSource(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DataError(
      `cannot read this file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      file,
    );
  }
}

/** List a folder; an unreadable one becomes a DataError naming it. */
export function listFolder(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(
      `cannot list this folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      dir,
    );
  }
}

/** sha256 hex of bytes (label files are hashed with this). */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Cache file name: kind, folder name and size for people, a hash of label path + recipe for uniqueness. */
function cacheFileName(table: LabelTable, recipe: Recipe, dataDir: string): string {
  const key = sha256(`${resolve(table.labelFile)}\n${JSON.stringify(recipe)}`).slice(0, 12);
  const safe =
    basename(resolve(dataDir))
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 40) || 'data';
  return `${table.kind}-${safe}-${recipe.size}px-${key}.ccig`;
}

/**
 * Default cache folder: `.ccig-cache/` in the data folder when it is writable, else the user cache.
 * Writable means both that access(W_OK) succeeds and that the folder's mode has a write bit: as
 * root, access() allows writing into a folder marked read-only (like a shared dataset folder),
 * and a folder marked read-only should not get a cache written into it.
 */
export function defaultCacheDir(dataDir: string): string {
  let writable = false;
  try {
    writable = (statSync(dataDir).mode & 0o222) !== 0;
    if (writable) accessSync(dataDir, constants.W_OK);
  } catch {
    writable = false;
  }
  if (writable) return join(dataDir, '.ccig-cache');
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ccig');
}
