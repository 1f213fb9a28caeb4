/**
 * Image grids and PNG output for anything a person looks at: sample grids, reconstructions,
 * intervention strips. Pixels are RGB, HWC, uint8.
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../files.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC uint8 RGB */
  pixels: Uint8Array;
}

/** NCHW float images in [-1, 1] -> one HWC uint8 image per example. */
export function toRgbTiles(images: Float32Array, count: number, size: number): Uint8Array[] {
  const hw = size * size;
  const out: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const tile = new Uint8Array(hw * 3);
    const base = n * 3 * hw;
    for (let p = 0; p < hw; p++)
      for (let c = 0; c < 3; c++) {
        const v = Math.round((images[base + c * hw + p] + 1) * 127.5);
        tile[3 * p + c] = v < 0 ? 0 : Math.min(v, 255);
      }
    out.push(tile);
  }
  return out;
}

/** Lays square tiles out in rows of `cols`, with a grey gap between them. */
export function tileGrid(tiles: readonly Uint8Array[], size: number, cols: number, gap = 2): RgbImage {
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * size + (cols + 1) * gap;
  const height = rows * size + (rows + 1) * gap;
  const pixels = new Uint8Array(width * height * 3).fill(200);
  tiles.forEach((tile, i) => {
    const x0 = gap + (i % cols) * (size + gap);
    const y0 = gap + Math.floor(i / cols) * (size + gap);
    for (let y = 0; y < size; y++)
      pixels.set(tile.subarray(y * size * 3, (y + 1) * size * 3), ((y0 + y) * width + x0) * 3);
  });
  return { width, height, pixels };
}

/** Encodes an RGB image as PNG bytes (optionally scaled up by an integer factor, nearest). */
export async function pngBytes(img: RgbImage, scale = 1): Promise<Buffer> {
  const raw = Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength);
  let s = sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (scale > 1) s = s.resize(img.width * scale, img.height * scale, { kernel: 'nearest' });
  return s.png().toBuffer();
}

/**
 * Writes an RGB image as a PNG file, atomically. The PNG is encoded in memory and written through
 * the file layer, so a full disk or a read-only folder gives a FileSystemError naming the file
 * (libvips' own file writer reports those without an errno code).
 */
export async function writePng(
  path: string,
  img: RgbImage,
  scale = 1,
  operation = 'write the image',
): Promise<void> {
  writeFileAtomic(path, await pngBytes(img, scale), operation);
}

/** One HWC uint8 RGB image -> CHW float32 in [-1, 1] (the model's input layout). */
export function fromRgb(pixels: Uint8Array, size: number): Float32Array {
  const hw = size * size;
  const out = new Float32Array(3 * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = pixels[3 * p + c] / 127.5 - 1;
  return out;
}
