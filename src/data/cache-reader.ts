/**
 * Reading a cache file (layout in cache-file.ts): its header and labels, and its pixels either
 * held in memory or read from the file row by row.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { totalmem } from 'node:os';
import { DataError } from '../errors.ts';
import { CACHE_VERSION, type CacheHeader, MAGIC, PREFIX_BYTES } from './cache-file.ts';

/** Pixel rows are loaded in chunks of at most this many bytes (one Buffer must stay < 2 GiB). */
const CHUNK_BYTES = 1 << 30;

const fdFinalizer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to release
  }
});

/** A loaded cache file: header, labels, and pixels in memory or read from the file per row. */
export class CacheStore {
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
export async function loadCache(
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
