/**
 * What every evaluation section reads: the model, the test images (encoded once), the oracle's
 * reading of them, the reference graph, the bootstrap, and the one loop that makes
 * counterfactuals chunk by chunk (`forEachCounterfactualChunk`), with one target per image.
 *
 * Targets follow the benchmark's `force_change` (gulnazaki/counterfactual-benchmark,
 * counterfactual_benchmark/methods/deepscm/evaluate.py, produce_counterfactuals): each image gets
 * its own value, different from its factual one: a binary attribute is flipped; a continuous
 * one is drawn uniformly from the range `attributeRange` uses (3% inside the label range), in a
 * different bin than the factual value (bins: `BINS` equal parts of the label range).
 */
import { superGraphMask } from '../causal/scm.ts';
import type { Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import type { WorldDataset } from '../data/world-dataset.ts';
import type { Ccig } from '../model/ccig.ts';
import {
  attributeRange,
  editLatentsEach,
  type InversionOptions,
  invert,
  residualEdit,
} from '../model/edit.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { Bootstrap } from './bootstrap.ts';
import type { Oracle } from './oracle.ts';
import { pixelL1, ssim } from './ssim.ts';

/** Continuous attributes are cut into this many equal bins (minimality's "same value"). */
export const BINS = 10;

/**
 * A pixel is in the region an edit changes where the generator's change there, |G(z_do) - G(z)|
 * averaged over the colour channels, exceeds this ([0, 1] units: about 13 of 255). Identity
 * "outside the edit" is read on the other pixels.
 */
export const CHANGE_THRESHOLD = 0.05;

/** Side of the colour layout: images are averaged over blocks to LAYOUT x LAYOUT cells. */
export const LAYOUT = 8;

/**
 * The colour layout of images [B, 3, S, S] in [-1, 1]: the mean colour of each of LAYOUT x
 * LAYOUT blocks, in [0, 1], [B * 3 * LAYOUT^2] row-major. Low-level features that the oracle's
 * do not see: a saturated orange blob reads far from any face here.
 */
export function colourLayout(images: Tensor): Float32Array {
  const [B, C, H, W] = images.shape;
  const g = LAYOUT;
  if (H % g || W % g) throw new Error(`colourLayout: image size ${H} x ${W} is not a multiple of ${g}`);
  return torch.scope(() =>
    images
      .add(1)
      .div(2)
      .reshape([B, C, g, H / g, g, W / g])
      .mean([3, 5])
      .contiguous()
      .toFloat32Array(),
  );
}

/**
 * What the evaluation needs of a model: a Ccig, or in tests a stand-in with known answers
 * (an identity model, one that ignores interventions).
 */
export type EvalModel = Pick<
  Ccig,
  | 'm'
  | 'config'
  | 'attributes'
  | 'encode'
  | 'decode'
  | 'split'
  | 'join'
  | 'latentToLabels'
  | 'labelToLatent'
  | 'sampleLatent'
  | 'k'
  | 'generator'
> & {
  prior: Pick<
    Ccig['prior'],
    | 'interventionIndices'
    | 'interveneRows'
    | 'intervene'
    | 'abduct'
    | 'adjacencyArray'
    | 'edges'
    | 'standardizedEffects'
  >;
};

/** What the evaluation needs of the oracle (the trained one, or a stand-in in tests). */
export type EvalOracle = Pick<Oracle, 'read' | 'forward' | 'featureDim' | 'meta'>;

export interface EvalContext {
  model: EvalModel;
  test: Dataset;
  oracle: EvalOracle;
  world?: WorldDataset;
  names: string[];
  m: number;
  imageSize: number;
  /** images evaluated: the first n of the test set */
  n: number;
  /** the test images [n, 3, S, S] in [-1, 1] */
  x: Tensor;
  /** their labels [n * m] */
  labels: Float32Array;
  /** each attribute's label range (1 for binary): errors are divided by it */
  ranges: number[];
  /** the graph interventions are judged by: the world's true graph, else the given super-graph */
  reference: { kind: 'true graph' | 'given super-graph'; adjacency: number[][]; edges: [string, string][] };
  /** latents of x [n, zDim], computed once: encoder means, z_r refined if asked (`invert`) */
  mu: Tensor;
  /** the oracle's reading of x: features [n * featureDim] and attribute values [n * m] */
  real: Readings;
  /** the same of what a null edit returns: the reconstructions G(mu), or x itself with residual edits */
  reconstruction: Readings;
  /** the same of the reconstructions G(mu) whatever the edit (the realism check's reference) */
  decoded: Readings;
  boot: Bootstrap;
  seed: number;
  /** images per counterfactual chunk */
  chunk: number;
  /** residual edits (x + G(z_do) - G(z)) instead of G(z_do); the reconstruction is then x itself */
  residual: boolean;
}

/** The oracle's reading of a set of images, and their colour layout (`colourLayout`). */
export interface Readings {
  /** oracle features [n * featureDim] */
  features: Float32Array;
  /** attribute values [n * m] */
  values: Float32Array;
  /** [n * 3 * LAYOUT^2]; absent in stand-in contexts of tests */
  layout?: Float32Array;
}

/** Edges of a 0/1 adjacency by name. */
function edgesOf(names: string[], A: number[][]): [string, string][] {
  const out: [string, string][] = [];
  A.forEach((row, i) => {
    row.forEach((a, j) => {
      if (a !== 0) out.push([names[i], names[j]]);
    });
  });
  return out;
}

/**
 * Loads the first n test images, inverts them (`inversion`: the encoder's mean, z_r refined if
 * asked) and reads them and their reconstructions with the oracle.
 */
export function createContext(
  model: EvalModel,
  test: Dataset,
  oracle: EvalOracle,
  {
    n,
    world,
    seed,
    chunk = 50,
    inversion = {},
    residual = false,
  }: {
    n: number;
    world?: WorldDataset;
    seed: number;
    chunk?: number;
    inversion?: InversionOptions;
    /** edit as x + G(z_do) - G(z) (real images; a world's exact counterfactuals are re-rendered, not residuals) */
    residual?: boolean;
  },
): EvalContext {
  const names = [...model.config.attributes];
  const m = names.length;
  const S = model.config.imageSize;
  const N = Math.min(n, test.size);
  const batch = test.batch(Array.from({ length: N }, (_, i) => i));
  const x = torch.tensor(batch.images, { shape: [N, 3, S, S] });
  const mu = torch.cat(
    x.split(128, 0).map((xb) => invert(model, xb, inversion)),
    0,
  );
  const read = (images: (xb: Tensor, mub: Tensor) => Tensor) =>
    torch.scope(() => {
      const parts = { features: [] as Tensor[], values: [] as Tensor[] };
      const layout: Float32Array[] = [];
      const mus = mu.split(128, 0);
      for (const [k, xb] of x.split(128, 0).entries()) {
        const imgs = torch.noGrad(() => images(xb, mus[k]));
        const r = oracle.read(imgs);
        parts.features.push(r.features);
        parts.values.push(r.values);
        if (S % LAYOUT === 0) layout.push(colourLayout(imgs));
      }
      const cells = layout.reduce((s, l) => s + l.length, 0);
      const all = new Float32Array(cells);
      let at = 0;
      for (const l of layout) {
        all.set(l, at);
        at += l.length;
      }
      return {
        features: torch.cat(parts.features, 0).toFloat32Array(),
        values: torch.cat(parts.values, 0).toFloat32Array(),
        ...(S % LAYOUT === 0 ? { layout: all } : {}),
      };
    });
  const real = read((xb) => xb);
  const decoded = read((_, mub) => model.decode(mub));
  const reference = world
    ? (() => {
        const A = world.world.adjacency().map((row) => row.map((a) => (a !== 0 ? 1 : 0)));
        return { kind: 'true graph' as const, adjacency: A, edges: edgesOf(names, A) };
      })()
    : {
        kind: 'given super-graph' as const,
        adjacency: superGraphMask(names, model.config.scm.edges as [string, string][]),
        edges: model.config.scm.edges as [string, string][],
      };
  return {
    model,
    test,
    oracle,
    world,
    names,
    m,
    imageSize: S,
    n: N,
    x,
    labels: batch.labels,
    ranges: test.attributes.map((a) => (a.kind === 'binary' ? 1 : a.max - a.min)),
    reference,
    mu,
    real,
    // a residual edit's null edit is the image itself
    reconstruction: residual ? real : decoded,
    decoded,
    boot: new Bootstrap({ seed }),
    seed,
    chunk,
    residual,
  };
}

/** Bin of value v of attribute i: 0/1 for binary, else one of BINS equal parts of its range. */
export function binOf(ctx: EvalContext, i: number, v: number): number {
  const a = ctx.test.attributes[i];
  if (a.kind === 'binary') return v > 0.5 ? 1 : 0;
  const span = a.max - a.min;
  if (!(span > 0)) return 0;
  return Math.min(BINS - 1, Math.max(0, Math.floor(((v - a.min) / span) * BINS)));
}

/**
 * One target per image for do(attribute i): flipped (binary) or drawn in another bin (continuous;
 * on a world also a value the world accepts). Seeded by (seed, i): the same in every run.
 * With the world's exact counterfactual values [n * m] for those targets.
 */
export function drawTargets(
  ctx: EvalContext,
  i: number,
): { targets: Float64Array; truth: Float64Array | null } {
  const { n, m, labels, world } = ctx;
  const a = ctx.test.attributes[i];
  const name = ctx.names[i];
  const rng = new Rng(ctx.seed, 0x7a6e + i);
  const [lo, hi] = attributeRange(ctx.model, name, 2);
  const targets = new Float64Array(n);
  const truth = world ? new Float64Array(n * m) : null;
  for (let b = 0; b < n; b++) {
    const factual = labels[b * m + i];
    if (a.kind === 'binary') {
      targets[b] = factual > 0.5 ? 0 : 1;
    } else {
      const bin = binOf(ctx, i, factual);
      let v = rng.uniform(lo, hi);
      for (let tries = 0; tries < 100 && binOf(ctx, i, v) === bin; tries++) v = rng.uniform(lo, hi);
      targets[b] = v;
    }
    if (world && truth) {
      // a value the world cannot take (or whose descendants leave their ranges) is drawn again
      for (let tries = 0; ; tries++) {
        try {
          truth.set(world.world.counterfactualValues(world.sample(b), { [name]: targets[b] }).values, b * m);
          break;
        } catch (e) {
          if (tries >= 100) throw e;
          targets[b] = a.kind === 'binary' ? targets[b] : rng.uniform(lo, hi);
        }
      }
    }
  }
  return { targets, truth };
}

/** One chunk of counterfactuals: rows [start, start + len) of the test images. */
export interface CounterfactualChunk {
  start: number;
  len: number;
  /** do() through the learned SCM, and the non-causal edit (unless skipped): images [len, 3, S, S] */
  causal: Tensor;
  nonCausal: Tensor | null;
  /** the model's own factor values under do(), label units [len, m] */
  modelValues: Tensor;
  /** what the edits changed: the reconstructions G(z), or with residual edits the images x [len, 3, S, S] */
  base: Tensor;
}

/**
 * The loop every counterfactual section shares: do(attribute i = targets[b]) on test image b,
 * chunk by chunk, from the encodings computed once; `visit` reads each chunk inside a scope.
 */
export function forEachCounterfactualChunk(
  ctx: EvalContext,
  i: number,
  targets: ArrayLike<number>,
  visit: (c: CounterfactualChunk) => void,
  { nonCausal = true }: { nonCausal?: boolean } = {},
): void {
  const { model, n, chunk } = ctx;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    torch.scope(() =>
      torch.noGrad(() => {
        const { zc, zr } = model.split(ctx.mu.slice(0, start, start + len));
        const t = Array.prototype.slice.call(targets, start, start + len) as number[];
        const z = editLatentsEach(model, zc, ctx.names[i], t);
        const decode = (zcEdit: Tensor) => model.decode(model.join(zcEdit, zr));
        if (ctx.residual) {
          const x = ctx.x.slice(0, start, start + len);
          const reconstruction = decode(zc);
          visit({
            start,
            len,
            causal: residualEdit(x, reconstruction, decode(z.causal)),
            nonCausal: nonCausal ? residualEdit(x, reconstruction, decode(z.nonCausal)) : null,
            modelValues: model.latentToLabels(z.causal),
            base: x,
          });
          return;
        }
        visit({
          start,
          len,
          causal: decode(z.causal),
          nonCausal: nonCausal ? decode(z.nonCausal) : null,
          modelValues: model.latentToLabels(z.causal),
          base: decode(zc),
        });
      }),
    );
  }
}

/** What the oracle read off one kind of edit, per image. */
export interface EditReadings {
  /** attribute values [n * m], label units */
  values: Float32Array;
  /** oracle features [n * featureDim] */
  features: Float32Array;
  /** colour layout [n * 3 * LAYOUT^2] (`colourLayout`; absent where the size is not a multiple of LAYOUT) */
  layout?: Float32Array;
  /** worlds: pixel L1 ([0, 1] units) and SSIM against the exactly re-rendered counterfactual [n] */
  pixelL1: Float64Array | null;
  ssim: Float64Array | null;
  /**
   * labelled data (no exact counterfactual): identity, the same two against the input image
   * itself [n] (a counterfactual should stay the same face), over the whole image and over the
   * pixels outside the region the edit changes (`CHANGE_THRESHOLD`; NaN where the edit changes
   * every pixel), with the share of pixels outside it [n]; null on worlds
   */
  identity: {
    pixelL1: Float64Array;
    ssim: Float64Array;
    outside: { pixelL1: Float64Array; ssim: Float64Array; share: Float64Array };
  } | null;
}

/** The counterfactuals of every test image under do(attribute i = its target), as read. */
export interface AttributeCounterfactuals {
  attribute: number;
  targets: Float64Array;
  /** worlds: the exact counterfactual's factor values [n * m] */
  truth: Float64Array | null;
  /** the model's own factor values under do() (causal edit), label units [n * m] */
  modelValues: Float32Array;
  causal: EditReadings;
  nonCausal: EditReadings;
}

/** Images [B, 3, S, S] in [-1, 1] -> HWC float [0, 1] for SSIM / L1. */
function hwc01(t: Tensor): Float32Array {
  return torch.scope(() => t.add(1).div(2).permute([0, 2, 3, 1]).contiguous().toFloat32Array());
}

/** One pass over the test images for attribute i: the readings interventions, effectiveness and minimality share. */
export function readCounterfactuals(ctx: EvalContext, i: number): AttributeCounterfactuals {
  const { n, m, imageSize: S, world, oracle } = ctx;
  const d = oracle.featureDim;
  const { targets, truth } = drawTargets(ctx, i);
  const edit = (): EditReadings => ({
    values: new Float32Array(n * m),
    features: new Float32Array(n * d),
    ...(S % LAYOUT === 0 ? { layout: new Float32Array(n * 3 * LAYOUT * LAYOUT) } : {}),
    pixelL1: world ? new Float64Array(n) : null,
    ssim: world ? new Float64Array(n) : null,
    identity: world
      ? null
      : {
          pixelL1: new Float64Array(n),
          ssim: new Float64Array(n),
          outside: { pixelL1: new Float64Array(n), ssim: new Float64Array(n), share: new Float64Array(n) },
        },
  });
  const out: AttributeCounterfactuals = {
    attribute: i,
    targets,
    truth,
    modelValues: new Float32Array(n * m),
    causal: edit(),
    nonCausal: edit(),
  };
  const px = S * S * 3;
  forEachCounterfactualChunk(ctx, i, targets, (c) => {
    out.modelValues.set(c.modelValues.toFloat32Array(), c.start * m);
    const exact =
      world && truth
        ? Array.from({ length: c.len }, (_, r) =>
            Float32Array.from(
              world.world.render(truth.subarray((c.start + r) * m, (c.start + r + 1) * m), S),
              (b) => b / 255,
            ),
          )
        : null;
    const inputs = exact ? null : hwc01(ctx.x.slice(0, c.start, c.start + c.len));
    for (const kind of ['causal', 'nonCausal'] as const) {
      const images = c[kind]!;
      const r = oracle.read(images);
      out[kind].values.set(r.values.toFloat32Array(), c.start * m);
      out[kind].features.set(r.features.toFloat32Array(), c.start * d);
      out[kind].layout?.set(colourLayout(images), c.start * 3 * LAYOUT * LAYOUT);
      const mine = hwc01(images);
      if (inputs && out[kind].identity) {
        // 1 where the edit leaves a pixel alone: |edit - base| in [0, 1] units, channel mean
        const still = torch.scope(() =>
          images.sub(c.base).abs().mean(1).div(2).le(CHANGE_THRESHOLD).toFloat32Array(),
        );
        const outside = out[kind].identity.outside;
        for (let k = 0; k < c.len; k++) {
          const w = still.subarray(k * S * S, (k + 1) * S * S);
          const img = mine.subarray(k * px, (k + 1) * px);
          const ref = inputs.subarray(k * px, (k + 1) * px);
          let sum = 0;
          let count = 0;
          for (let p = 0; p < S * S; p++) {
            if (!w[p]) continue;
            for (let ch = 0; ch < 3; ch++) sum += Math.abs(img[p * 3 + ch] - ref[p * 3 + ch]);
            count++;
          }
          outside.share[c.start + k] = count / (S * S);
          outside.pixelL1[c.start + k] = count ? sum / (3 * count) : Number.NaN;
          outside.ssim[c.start + k] = ssim(
            { data: img, height: S, width: S, channels: 3 },
            { data: ref, height: S, width: S, channels: 3 },
            { dataRange: 1, weights: w },
          );
        }
      }
      // against the exact counterfactual (worlds), else against the input image (identity)
      const l1 = exact ? out[kind].pixelL1! : out[kind].identity!.pixelL1;
      const ss = exact ? out[kind].ssim! : out[kind].identity!.ssim;
      for (let k = 0; k < c.len; k++) {
        const img = mine.subarray(k * px, (k + 1) * px);
        const ref = exact ? exact[k] : inputs!.subarray(k * px, (k + 1) * px);
        l1[c.start + k] = pixelL1(img, ref);
        ss[c.start + k] = ssim(
          { data: img, height: S, width: S, channels: 3 },
          { data: ref, height: S, width: S, channels: 3 },
          { dataRange: 1 },
        );
      }
    }
  });
  return out;
}
