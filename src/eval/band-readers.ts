/**
 * Pendulum factor readers restricted to bands of the image, as CDG-VAE reads its Pendulum for its
 * CDM (an-seunghwan/CDG-VAE, main_classifier.py): one classifier per factor, each seeing only the
 * rows where that factor is drawn, trained by BCE on min-max scaled labels through a sigmoid. A
 * light reader restricted to the sun's rows cannot read the light off the shadow, as the
 * project's whole-image oracle can (oracle.ts), so the CDM read through these separates what the
 * generator draws from what the oracle infers.
 *
 * The bands are this project's renderer's, at 64 x 64 (pendulum.ts: 64/22 pixels per scene
 * unit, y = 21 at the top row): the sun (centre y = 20.5, radius 3) lies in rows 0-10, the rod
 * and bob (pivot y = 10.5, bob edge down to y = 1) in rows 30-58, the shadow line (y = -0.5,
 * 1.1 wide) in rows 60-63. CDG-VAE's rows (light 0-19, angle 20-50, shadows 51 and below) are
 * for CausalVAE's renderer, whose layout differs.
 */
import type { AttributeInfo, Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import { OptionError } from '../errors.ts';
import * as torch from '../torch/index.ts';
import { optim, type Tensor } from '../torch/index.ts';
import type { EvalOracle } from './context.ts';
import { batched, Oracle } from './oracle.ts';

/** Rows [from, to) of a 64 x 64 Pendulum image where each factor is drawn. */
export const PENDULUM_BANDS: Record<string, readonly [number, number]> = {
  light_angle: [0, 20],
  pendulum_angle: [20, 60],
  shadow_length: [60, 64],
  shadow_position: [60, 64],
};

/** A [1, 1, S, S] mask: 1 on rows [from, to). */
function bandMask(size: number, [from, to]: readonly [number, number]): Tensor {
  const rows = Array.from({ length: size }, (_, r) => (r >= from && r < to ? 1 : 0));
  return torch.tensor(Float32Array.from(rows.flatMap((v) => new Array<number>(size).fill(v))), {
    shape: [1, 1, size, size],
  });
}

/** The readers of every factor, behind the oracle's `read` (values in label units). */
export interface BandReaders {
  oracle: EvalOracle;
  /** mean |reading - label| / range of each factor on the held-out images */
  heldOutError: Record<string, number>;
  dispose(): void;
}

/**
 * Trains one band-restricted reader per factor of `train` (a Pendulum dataset at 64 x 64) for
 * `steps` Adam steps (lr 1e-3, as CDG-VAE's), and measures each on `test`.
 */
export function trainBandReaders(
  train: Dataset,
  test: Dataset,
  { steps = 600, batchSize = 64, seed = 4321 }: { steps?: number; batchSize?: number; seed?: number } = {},
): BandReaders {
  const S = train.imageSize;
  if (S !== 64) throw new OptionError(`band readers are for 64 x 64 Pendulum images, got ${S} x ${S}`);
  const attrs = train.attributes;
  const missing = attrs.filter((a) => !PENDULUM_BANDS[a.name]);
  if (missing.length)
    throw new OptionError(
      `no image band for ${missing.map((a) => a.name).join(', ')}: Pendulum factors only`,
    );
  const m = attrs.length;
  const masks = attrs.map((a) => torch.keep(bandMask(S, PENDULUM_BANDS[a.name])));
  torch.manualSeed(seed);
  // each reader classifies its factor's min-max scaled label (a "binary" attribute on [0, 1]):
  // BCE with a sigmoid, as CDG-VAE trains its CDM classifier
  const unitAttribute = (a: AttributeInfo): AttributeInfo => ({
    name: a.name,
    kind: 'binary',
    min: 0,
    max: 1,
  });
  const readers = attrs.map(
    (a) =>
      new Oracle({
        attributes: [unitAttribute(a)],
        imageSize: S,
        source: `band rows ${PENDULUM_BANDS[a.name].join('-')}`,
        steps,
        heldOutError: {},
      }),
  );
  const toUnit = (labels: Float32Array, rows: number) =>
    Float32Array.from({ length: rows * m }, (_, k) => {
      const a = attrs[k % m];
      return (labels[k] - a.min) / (a.max - a.min);
    });
  const rng = new Rng(seed, 11);
  readers.forEach((reader, j) => {
    const opt = new optim.Adam(reader.parameters(), { lr: 1e-3 });
    for (let step = 1; step <= steps; step++) {
      const b = train.batch(Array.from({ length: batchSize }, () => rng.int(train.size)));
      const unit = toUnit(b.labels, batchSize);
      torch.scope(() => {
        const x = torch.tensor(b.images, { shape: [batchSize, 3, S, S] }).mul(masks[j]);
        const y = torch.tensor(unit, { shape: [batchSize, m] }).slice(1, j, j + 1);
        opt.zeroGrad();
        reader.loss(x, y).backward();
        opt.step();
      });
    }
    reader.eval();
  });

  const oracle: EvalOracle = {
    featureDim: readers[0].featureDim,
    meta: readers[0].meta,
    forward: () => {
      throw new OptionError('band readers give readings only, no features');
    },
    read: (x: Tensor) =>
      torch.noGrad(() => {
        // reader j's probability p is the factor's scaled value: back to label units
        const cols = readers.map((reader, j) =>
          reader
            .read(x.mul(masks[j]))
            .values.mul(attrs[j].max - attrs[j].min)
            .add(attrs[j].min),
        );
        return { features: torch.zeros([x.shape[0], 0]), values: torch.cat(cols, 1) };
      }),
  };

  const n = Math.min(test.size, 1000);
  const tb = test.batch(Array.from({ length: n }, (_, i) => i));
  const read = torch.scope(() =>
    batched(
      torch.tensor(tb.images, { shape: [n, 3, S, S] }),
      128,
      (xb) => oracle.read(xb).values,
    ).toFloat32Array(),
  );
  const heldOutError: Record<string, number> = {};
  attrs.forEach((a, j) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.abs(read[i * m + j] - tb.labels[i * m + j]);
    heldOutError[a.name] = sum / n / (a.max - a.min);
  });
  return {
    oracle,
    heldOutError,
    dispose() {
      for (const r of readers) r.dispose();
      for (const mask of masks) mask.dispose();
    },
  };
}
