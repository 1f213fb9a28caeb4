/**
 * Image preprocessing: decode, centre-crop a square scaled in proportion to the image, resize to
 * size x size RGB uint8 (HWC). One recipe for every source, recorded in each cache header so a
 * cache is rebuilt when the recipe changes.
 *
 * The CelebA recipe is DEAR's (`utils.py`: `CenterCrop(128)` then `Resize((64, 64))`, PIL bilinear)
 * for the official 178 x 218 images. For other sizes the crop is scaled in proportion to the shorter
 * side, so the 89 x 109 half-size images get a 64 crop and no resize: the same face framing.
 *
 * @example
 * const px = await preprocessImage('img_align_celeba/000001.jpg', { ...CELEBA_RECIPE, size: 64 });
 * px.length === 64 * 64 * 3; // HWC RGB
 */
import sharp from 'sharp';
import { OptionError } from '../errors.ts';
import { fmt } from '../options.ts';

/** Bumped whenever the pixels a recipe produces change, so old caches are rebuilt. */
export const RECIPE_VERSION = 1;

/** How raw images become size x size RGB pixels. Plain data: it is stored in the cache header. */
export interface Recipe {
  /** Output side in pixels (images are size x size RGB). */
  size: number;
  /**
   * Crop side as a fraction of the image's shorter side, the square centred on the image.
   * CelebA: 128/178 (crop 128 of 178 x 218); 1 keeps the largest centred square.
   */
  cropFraction: number;
  /** Resampling kernel for the resize (skipped when the crop is already size x size). */
  kernel: 'linear';
  version: number;
}

/** The standard CelebA recipe: crop 128 of 178 x 218 (in proportion for other sizes), resize. */
export const CELEBA_CROP_FRACTION = 128 / 178;

/** Build a recipe with validated values. */
export function makeRecipe(size: number, cropFraction: number): Recipe {
  checkImageSize(size);
  if (!(typeof cropFraction === 'number' && cropFraction > 0 && cropFraction <= 1)) {
    throw new OptionError(`Expected a number in (0, 1] for cropFraction but received ${fmt(cropFraction)}`);
  }
  return { size, cropFraction, kernel: 'linear', version: RECIPE_VERSION };
}

/** File extensions read as images when a folder is listed (lower case, with the dot). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'] as const;

/** True when a file name has one of IMAGE_EXTENSIONS (any case). */
export function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot).toLowerCase());
}

/** Smallest and largest image side accepted (64 and 128 are the usual). */
export const MIN_IMAGE_SIZE = 4;
export const MAX_IMAGE_SIZE = 1024;

/** Throws an OptionError unless `size` is an integer in [MIN_IMAGE_SIZE, MAX_IMAGE_SIZE]. */
export function checkImageSize(size: unknown): asserts size is number {
  if (!(Number.isInteger(size) && (size as number) >= MIN_IMAGE_SIZE && (size as number) <= MAX_IMAGE_SIZE)) {
    throw new OptionError(
      `Expected an integer between ${MIN_IMAGE_SIZE} and ${MAX_IMAGE_SIZE} for imageSize but received ${fmt(size)}`,
    );
  }
}

/** A square region of an image, in pixels. */
export interface CropBox {
  left: number;
  top: number;
  side: number;
}

/**
 * The centred square crop for a width x height image.
 *
 * side = round(min(w, h) * cropFraction). The offsets follow torchvision's `center_crop` (which
 * DEAR's CelebA pipeline uses): top = round((h - side) / 2), left = round((w - side) / 2), with
 * Python's round, i.e. halves to even. 178 x 218 -> side 128 at (25, 45); 89 x 109 -> side 64 at
 * (12, 22) (22.5 and 12.5 round down to even), so half-size images are framed like full-size ones.
 */
export function centerCropBox(width: number, height: number, cropFraction: number): CropBox {
  const side = Math.max(
    1,
    Math.min(Math.min(width, height), Math.round(Math.min(width, height) * cropFraction)),
  );
  return { left: roundHalfEven((width - side) / 2), top: roundHalfEven((height - side) / 2), side };
}

/** Python 3's round(): ties go to the even neighbour. Inputs here are multiples of 0.5. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Preprocessed pixels plus the size of the image they came from. */
export interface Preprocessed {
  /** size x size x 3 RGB, HWC uint8 */
  pixels: Uint8Array;
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * Decode one image file (or encoded buffer) and apply the recipe. Rejects with sharp's error for
 * files that are not images or are truncated or corrupt; callers decide whether to skip them.
 *
 * EXIF orientation is applied first (phone photos in user folders); transparent pixels are
 * composited onto white, and grey or CMYK images become sRGB, so every result has exactly 3 channels.
 */
export async function preprocessImage(input: string | Buffer, recipe: Recipe): Promise<Preprocessed> {
  // failOn 'error': truncated files and libjpeg errors reject (the image would be partly grey),
  // while harmless warnings (extra bytes before a marker) still decode.
  const { data, info } = await sharp(input, { failOn: 'error' })
    .autoOrient()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Decoding the full image then cropping here is one libvips pass instead of two (a metadata read
  // plus an extract pipeline); for the common no-resize case (89 x 109 -> 64) no second pass at all.
  const { width, height, channels } = info;
  if (channels !== 3) throw new Error(`expected 3 channels after conversion, got ${channels}`);
  const box = centerCropBox(width, height, recipe.cropFraction);
  const crop = cropRGB(data, width, box);
  if (box.side === recipe.size) return { pixels: crop, sourceWidth: width, sourceHeight: height };
  const resized = await sharp(crop, { raw: { width: box.side, height: box.side, channels: 3 } })
    .resize(recipe.size, recipe.size, { kernel: recipe.kernel, fit: 'fill' })
    .raw()
    .toBuffer();
  return {
    pixels: new Uint8Array(resized.buffer, resized.byteOffset, resized.length),
    sourceWidth: width,
    sourceHeight: height,
  };
}

/** Copy a square box out of an HWC RGB buffer of the given width. */
function cropRGB(src: Uint8Array, width: number, box: CropBox): Uint8Array {
  const out = new Uint8Array(box.side * box.side * 3);
  const rowBytes = box.side * 3;
  for (let y = 0; y < box.side; y++) {
    const from = ((box.top + y) * width + box.left) * 3;
    out.set(src.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}
