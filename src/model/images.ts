/** Image files in, model tensors out: preprocessed exactly like the model's training data. */
import { fromRgb } from '../data/grid.ts';
import { CELEBA_CROP_FRACTION, makeRecipe, preprocessImage } from '../data/preprocess.ts';
import { DataError, OptionError } from '../errors.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { Ccig } from './ccig.ts';

/** Reads an image file and preprocesses it like the model's training data. [1, 3, S, S] */
export async function loadImageForModel(
  model: Ccig,
  input: string | Buffer,
  name = 'image',
): Promise<Tensor> {
  const crop = model.config.data.kind === 'celeba' ? CELEBA_CROP_FRACTION : 1;
  let pixels: Uint8Array;
  try {
    pixels = (await preprocessImage(input, makeRecipe(model.config.imageSize, crop))).pixels;
  } catch (e) {
    if (e instanceof OptionError) throw e;
    throw new DataError(
      `cannot read as an image: ${(e as Error).message}`,
      typeof input === 'string' ? input : name,
    );
  }
  const S = model.config.imageSize;
  return torch.tensor(fromRgb(pixels, S), { shape: [1, 3, S, S] });
}
