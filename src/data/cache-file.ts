/**
 * The preprocessed cache file: its layout and how it is built from a parsed label table.
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
 * cache-reader.ts reads it back; cache.ts decides when to build or reuse one.
 */
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import { machineFault, makeFolder, toFileSystemError } from '../files.ts';
import type { AttributeInfo } from './dataset.ts';
import { preprocessImage, type Recipe } from './preprocess.ts';

/** Bumped when the file layout or the meaning of stored labels changes. */
export const CACHE_VERSION = 1;
/** The file's first 8 bytes. */
export const MAGIC = 'CCIGDATA';
/** Bytes before the pixels: magic, version, header length and offset, padding. */
export const PREFIX_BYTES = 64;

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

/** Where row r's image is: its path joined to the image folder unless it is absolute. */
export function imagePath(table: LabelTable, r: number): string {
  const f = table.files[r];
  return isAbsolute(f) ? f : join(table.imageRoot, f);
}

/** What a build needs of the open options (cache.ts's ResolvedCommon has it). */
export interface BuildOptions {
  /** Stop on the first unreadable image instead of skipping it. */
  strict: boolean;
  /** How messages tell the reader to turn `strict` on ('strict: true', '--strict'). */
  strictName: string;
  /** Images decoded at once. */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
}

/** Decode every row of the table into a new cache file at `path` (atomically). */
export async function buildCache(
  table: LabelTable,
  recipe: Recipe,
  fingerprint: CacheHeader['fingerprint'],
  path: string,
  options: BuildOptions,
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
