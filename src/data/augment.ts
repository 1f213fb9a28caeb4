/**
 * Training-time augmentation of batches (plain typed arrays, before they become tensors).
 *
 * Horizontal flip: a face mirrored left-right is still a face with the same attributes (smiling,
 * male, ... are symmetric), so the labels stay as they are. Synthetic worlds are not symmetric
 * (the pendulum's light side is a factor), which is why flipping is a per-preset switch.
 */
import { deriveSeed, mix32 } from './rng.ts';

/**
 * Mirrors rows of an NCHW batch [B, C, S, S] left-right in place, where `flip(b)` is true.
 *
 * @example
 * hflipRows(batch.images, batch.batchSize, 3, 64, (b) => b % 2 === 0);
 */
export function hflipRows(
  images: Float32Array,
  batchSize: number,
  channels: number,
  size: number,
  flip: (row: number) => boolean,
): void {
  const plane = size * size;
  for (let b = 0; b < batchSize; b++) {
    if (!flip(b)) continue;
    for (let c = 0; c < channels; c++) {
      const base = (b * channels + c) * plane;
      for (let y = 0; y < size; y++) images.subarray(base + y * size, base + (y + 1) * size).reverse();
    }
  }
}

/**
 * Which rows of step `step`'s batch to flip (about half): a hash of (seed, step, row), so the
 * choice is the same after `ccig resume` without any state to save.
 */
export function flipChoice(seed: number, step: number): (row: number) => boolean {
  const key = deriveSeed(seed, step, 0xf11b);
  return (row) => (mix32(key ^ (row + 1)) & 1) === 1;
}
