/**
 * The preprocessed cache: every image of a labelled source decoded once into one binary file, then
 * read back as a Dataset whose batches need no JPEG decoding.
 *
 * File layout (little-endian):
 *
 *     0    "CCIGDATA" magic (8 bytes), uint32 version, uint32 header length, uint64 header offset
 *     64   pixels  uint8   [count, size, size, 3]   (rows of unreadable images stay zero)
 *     L    labels  float32 [count, m]                (L = end of pixels rounded up to 64)
 *     H    header  JSON: source, fingerprint, recipe, attributes, file index, skipped images
 *
 * The header goes last because the skipped images are known only at the end, while pixels are
 * written straight to their row as they are decoded (in parallel, out of order) so a build never
 * holds more than a few images in memory. The file is written to a temporary name, synced and
 * renamed, so a cache either exists whole or not at all.
 *
 * A cache is reused when its header matches the recipe and the source fingerprint (a hash of the
 * label file's bytes plus each listed image's name, size and mtime); otherwise it is rebuilt. Any
 * attribute subset and split are views over one cache, so changing them never decodes again.
 *
 * Sources (celeba.ts, folder.ts) parse their labels into a LabelTable and call `openTable`.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DataError, OptionError } from '../errors.ts';
import { machineFault, makeFolder, toFileSystemError } from '../files.ts';
import { fmt, listSome, nearest } from '../options.ts';
import type { AttributeInfo, Batch, Dataset } from './dataset.ts';
import { checkImageSize, makeRecipe, preprocessImage, type Recipe } from './preprocess.ts';
import type { SplitName } from './split.ts';

/** Bumped when the file layout or the meaning of stored labels changes. */
export const CACHE_VERSION = 1;
const MAGIC = 'CCIGDATA';
const PREFIX_BYTES = 64;
/** Pixel rows are loaded in chunks of at most this many bytes (one Buffer must stay < 2 GiB). */
const CHUNK_BYTES = 1 << 30;

/** A parsed label file: what a source hands to the cache. Rows are in label-file order. */
export interface LabelTable {
  kind: 'celeba' | 'folder';
  /** Folder the file names are relative to. */
  imageRoot: string;
  /** The file the labels came from (named in messages, hashed in the fingerprint). */
  labelFile: string;
  /** sha256 of the label file's bytes. */
  labelHash: string;
  /** Image paths relative to imageRoot, one per row. */
  files: string[];
  /** 1-based line of each row in labelFile. */
  lines: number[];
  /** Every label column of the source, in file order. */
  attributes: AttributeInfo[];
  /** [rows, attributes.length] label values, row-major. */
  labels: Float32Array;
  /**
   * [rows, attributes.length] 1 where the row's attribute was set by intervention; absent for
   * observational sources. Kept with the parsed labels, not in the cache file (the label file is
   * parsed on every open and its hash is in the cache's fingerprint).
   */
  intervened?: Uint8Array;
}

/** An image that could not be decoded and was left out. */
export interface SkippedImage {
  /** Path relative to the image folder. */
  file: string;
  /** Line of its row in the label file. */
  line: number;
  /** The decoder's message. */
  reason: string;
}

/** The JSON header of a cache file. */
export interface CacheHeader {
  magic: 'ccig-data-cache';
  version: number;
  source: { kind: LabelTable['kind']; imageRoot: string; labelFile: string };
  fingerprint: { labels: string; images: string; count: number };
  recipe: Recipe;
  imageSize: number;
  /** Rows stored, skipped ones included (their pixels are zero and no view uses them). */
  count: number;
  attributes: AttributeInfo[];
  /** The index: row r holds the image files[r] (relative to source.imageRoot). */
  files: string[];
  /** Rows of unreadable images. */
  skipped: (SkippedImage & { row: number })[];
  layout: { pixelOffset: number; labelOffset: number };
  createdAt: string;
  buildSeconds: number;
}

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

/** Where row r's image is: its path joined to the image folder unless it is absolute. */
function imagePath(table: LabelTable, r: number): string {
  const f = table.files[r];
  return isAbsolute(f) ? f : join(table.imageRoot, f);
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

// ---------------------------------------------------------------------------------------------
// Building.

/** Decode every row of the table into a new cache file at `path` (atomically). */
async function buildCache(
  table: LabelTable,
  recipe: Recipe,
  fingerprint: CacheHeader['fingerprint'],
  path: string,
  options: ResolvedCommon,
): Promise<void> {
  const started = performance.now();
  const n = table.files.length;
  const imageBytes = recipe.size * recipe.size * 3;
  const m = table.attributes.length;
  makeFolder(dirname(path), 'create the data cache folder');
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'w');
    const out = fh;
    const skipped: CacheHeader['skipped'] = [];
    const progress = throttled(options.onProgress, n);
    progress(0);
    let next = 0;
    let done = 0;
    let failure: unknown = null;
    const worker = async () => {
      while (failure === null && next < n) {
        const r = next++;
        const file = imagePath(table, r);
        let pixels: Uint8Array;
        try {
          pixels = (await preprocessImage(file, recipe)).pixels;
        } catch (e) {
          // the machine, not the image (too many open files, an I/O error): stop, don't skip
          const fault = machineFault(file);
          if (fault) {
            failure = fault;
            return;
          }
          const reason = decodeReason(e);
          if (options.strict) {
            failure = new DataError(
              `cannot decode image: ${reason} (label row at ${table.labelFile}:${table.lines[r]}); ` +
                `without ${options.strictName} unreadable images are skipped`,
              file,
            );
            return;
          }
          skipped.push({ row: r, file: table.files[r], line: table.lines[r], reason });
          progress(++done);
          continue;
        }
        // A synchronous 12 KB write into the page cache takes microseconds; an async one would
        // queue behind the decodes on libuv's small thread pool and slow the build by a third.
        writeSync(out.fd, pixels, 0, imageBytes, PREFIX_BYTES + r * imageBytes);
        progress(++done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, n) }, worker));
    if (failure !== null) throw failure;
    if (skipped.length === n) {
      throw new DataError(
        `none of the ${n} images listed in ${table.labelFile} could be decoded (first: ${skipped[0].file}: ${skipped[0].reason})`,
        table.imageRoot,
      );
    }
    skipped.sort((a, b) => a.row - b.row);

    const labelOffset = align64(PREFIX_BYTES + n * imageBytes);
    const labelBytes = n * m * 4;
    const headerOffset = align64(labelOffset + labelBytes);
    const header: CacheHeader = {
      magic: 'ccig-data-cache',
      version: CACHE_VERSION,
      source: { kind: table.kind, imageRoot: resolve(table.imageRoot), labelFile: resolve(table.labelFile) },
      fingerprint,
      recipe,
      imageSize: recipe.size,
      count: n,
      attributes: table.attributes,
      files: table.files,
      skipped,
      layout: { pixelOffset: PREFIX_BYTES, labelOffset },
      createdAt: new Date().toISOString(),
      buildSeconds: (performance.now() - started) / 1000,
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    await out.write(
      Buffer.from(table.labels.buffer, table.labels.byteOffset, labelBytes),
      0,
      labelBytes,
      labelOffset,
    );
    await out.write(json, 0, json.length, headerOffset);
    const prefix = Buffer.alloc(PREFIX_BYTES);
    prefix.write(MAGIC, 0, 'latin1');
    prefix.writeUInt32LE(CACHE_VERSION, 8);
    prefix.writeUInt32LE(json.length, 12);
    prefix.writeBigUInt64LE(BigInt(headerOffset), 16);
    await out.write(prefix, 0, PREFIX_BYTES, 0);
    await out.sync();
    await out.close();
    fh = undefined;
    await rename(tmp, path);
    progress(n, true);
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw toFileSystemError(e, 'write the data cache', path);
  }
}

/** A decoder error as a short reason ('premature end of JPEG image', 'unsupported image format'). */
function decodeReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const reason = msg
    .replace(/^Input file contains /, '')
    .replace(/^Vips\w+: /, '')
    .split('\n')[0]
    .trim();
  // libvips keeps one error buffer for all its threads: when several images fail at once, one of
  // them can come back as 'Unknown error' (seen in about a quarter of concurrent failures).
  return reason === '' || reason === 'Unknown error' ? 'corrupt or truncated image data' : reason;
}

function align64(x: number): number {
  return Math.ceil(x / 64) * 64;
}

/** Wrap onProgress so it fires at most every 100 ms, plus the final call. */
function throttled(fn: ((done: number, total: number) => void) | undefined, total: number) {
  let last = 0;
  return (done: number, final = false) => {
    if (!fn) return;
    const now = performance.now();
    if (final || done === 0 || now - last >= 100) {
      last = now;
      fn(done, total);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Reading.

const fdFinalizer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to release
  }
});

/** A loaded cache file: header, labels, and pixels in memory or read from the file per row. */
class CacheStore {
  private readonly rowsPerChunk: number;
  readonly imageBytes: number;

  constructor(
    readonly path: string,
    readonly header: CacheHeader,
    /** [count, attributes.length] */
    readonly labels: Float32Array,
    /** Pixel chunks (in memory) or null (read from fd). */
    private readonly chunks: Uint8Array[] | null,
    private fd: number | null,
  ) {
    this.imageBytes = header.imageSize * header.imageSize * 3;
    this.rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / this.imageBytes));
    // A backstop for datasets dropped without close(); close() unregisters so a reused fd number
    // is never closed twice.
    if (fd !== null) fdFinalizer.register(this, fd, this);
  }

  /** Pixels of a stored row: a view (in memory) or `scratch` filled from the file. */
  row(r: number, scratch: Uint8Array): Uint8Array {
    if (this.chunks) {
      const c = Math.floor(r / this.rowsPerChunk);
      const o = (r - c * this.rowsPerChunk) * this.imageBytes;
      return this.chunks[c].subarray(o, o + this.imageBytes);
    }
    if (this.fd === null) throw new Error(`cache ${this.path} is closed`);
    const pos = this.header.layout.pixelOffset + r * this.imageBytes;
    let got = 0;
    while (got < this.imageBytes) {
      const k = readSync(this.fd, scratch, got, this.imageBytes - got, pos + got);
      if (k === 0) throw new DataError('cache file ended early (truncated?)', this.path);
      got += k;
    }
    return scratch;
  }

  get inMemory(): boolean {
    return this.chunks !== null;
  }

  close(): void {
    if (this.fd !== null) {
      fdFinalizer.unregister(this);
      closeSync(this.fd);
    }
    this.fd = null;
  }
}

/**
 * Open a cache file. Returns the store, or a short reason when there is none or it does not
 * match (`check` returns a reason or null); never throws for a missing or stale cache.
 */
async function loadCache(
  path: string,
  inMemory: boolean | undefined,
  check: (h: CacheHeader) => string | null,
): Promise<CacheStore | string | null> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  let keepFd = false;
  try {
    const size = fstatSync(fd).size;
    const prefix = Buffer.alloc(PREFIX_BYTES);
    if (size < PREFIX_BYTES || readFully(fd, prefix, 0) < PREFIX_BYTES) return 'cache unreadable';
    if (prefix.toString('latin1', 0, 8) !== MAGIC) return 'cache unreadable';
    if (prefix.readUInt32LE(8) !== CACHE_VERSION) return 'cache version changed';
    const headerLength = prefix.readUInt32LE(12);
    const headerOffset = Number(prefix.readBigUInt64LE(16));
    if (headerOffset + headerLength !== size) return 'cache unreadable';
    const json = Buffer.alloc(headerLength);
    readFully(fd, json, headerOffset);
    let header: CacheHeader;
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch {
      return 'cache unreadable';
    }
    if (header.magic !== 'ccig-data-cache') return 'cache unreadable';
    const reason = check(header);
    if (reason) return reason;

    const n = header.count;
    const m = header.attributes.length;
    const labels = new Float32Array(n * m);
    readFully(fd, new Uint8Array(labels.buffer), header.layout.labelOffset);
    const imageBytes = header.imageSize * header.imageSize * 3;
    const pixelBytes = n * imageBytes;
    const useMemory = inMemory ?? pixelBytes <= totalmem() / 2;
    let chunks: Uint8Array[] | null = null;
    if (useMemory) {
      // One sequential read per chunk of whole rows; one Buffer cannot exceed 2 GiB.
      chunks = [];
      const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / imageBytes));
      for (let r = 0; r < n; r += rowsPerChunk) {
        const bytes = Math.min(rowsPerChunk, n - r) * imageBytes;
        const chunk = Buffer.allocUnsafeSlow(bytes);
        if (readFully(fd, chunk, header.layout.pixelOffset + r * imageBytes) < bytes)
          return 'cache unreadable';
        // As a plain Uint8Array: Buffer's slice() would return a view where image() wants a copy.
        chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      }
    }
    keepFd = !useMemory;
    return new CacheStore(path, header, labels, chunks, useMemory ? null : fd);
  } finally {
    if (!keepFd) closeSync(fd);
  }
}

/** Read buf.length bytes at `position`, looping over short reads; returns the bytes read. */
function readFully(fd: number, buf: Uint8Array, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const k = readSync(fd, buf, got, Math.min(buf.length - got, 1 << 30), position + got);
    if (k === 0) break;
    got += k;
  }
  return got;
}

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
